package ai.factory.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line as a client of a running factory, and its offline commands. */
@ServerTest
public class FactoryCliTest {
    @TempDir
    static Path home;

    static TestFactory factory;

    /** What one run of the command line printed and returned. */
    public record Run(int exit, String out, String err) {
        public JsonNode json() {
            try {
                return Json.mapper().readTree(out);
            } catch (Exception e) {
                throw new AssertionError("not JSON: " + out, e);
            }
        }
    }

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home, TestFactory.BUILTIN);
    }

    @AfterAll
    static void stop() {
        factory.close();
    }

    /** Runs the command line in this JVM, as {@code factory ARGS…} would. */
    public static Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = FactoryCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(exit, out.toString(), err.toString());
    }

    /** Runs the command line in a process of its own, as a user's or an auditor's shell would beside a factory. */
    public static Run cliProcess(String... args) throws Exception {
        return cliProcess(Map.of(), args);
    }

    /** {@link #cliProcess(String...)} with {@code env} added to the process's environment. */
    public static Run cliProcess(Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                FactoryCli.class.getName()));
        command.addAll(List.of(args));
        Path out = Files.createTempFile("cli", ".out");
        Path err = Files.createTempFile("cli", ".err");
        ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().putAll(env);
        Process p = builder.start();
        try {
            assertThat(p.waitFor(3, TimeUnit.MINUTES)).as("the command finished").isTrue();
            return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Finds the local server and admin key through --home, as a user on the factory's machine would. */
    static Run local(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--home");
        all.add(home.toString());
        return cli(all.toArray(String[]::new));
    }

    @Test
    void keysCreateListAndRevoke() {
        assertThat(local("projects", "create", "research").exit()).isZero();
        Run created = local("keys", "create", "--name", "ci-bot", "--project", "research", "--role", "developer",
                "--json");
        assertThat(created.exit()).as(created.err()).isZero();
        String id = created.json().path("id").asText();
        String secret = created.json().path("secret").asText();
        assertThat(secret).startsWith("fk_");

        Run table = local("keys", "list");
        assertThat(table.out()).contains("ci-bot", "research", "developer").doesNotContain(secret);
        Run badRole = local("keys", "create", "--name", "x", "--role", "root");
        assertThat(badRole.exit()).isEqualTo(1);
        assertThat(badRole.err()).contains("unknown role 'root'");
        Run prom = local("keys", "create", "--name", "prom", "--role", "metrics", "--json");
        assertThat(prom.exit()).as(prom.err()).isZero();
        assertThat(prom.json().path("role").asText()).isEqualTo("metrics");
        String scraper = prom.json().path("secret").asText();
        assertThat(factory.get("/metrics", scraper).statusCode()).as("a Prometheus scraper's key").isEqualTo(200);
        assertThat(factory.get("/metrics", secret).statusCode()).as("a developer's key").isEqualTo(403);
        Run noProject = local("keys", "create", "--name", "x", "--project", "nowhere");
        assertThat(noProject.exit()).isEqualTo(1);
        assertThat(noProject.err()).contains("no project 'nowhere'");
        assertThat(local("keys", "revoke", id).out()).contains("Revoked " + id);
        assertThat(local("keys", "list", "--json").json().findValues("revokedAt")).anyMatch(v -> !v.isNull());
    }

    @Test
    void projectsCreateListAndDelete() {
        Run created = local("projects", "create", "cli-team", "--json");
        assertThat(created.exit()).as(created.err()).isZero();
        assertThat(created.json().path("name").asText()).isEqualTo("cli-team");
        assertThat(local("projects", "list").out()).contains("cli-team", "default");
        assertThat(local("projects", "list", "--json").json().path("projects").findValuesAsText("name"))
                .contains("cli-team", "default");
        Run again = local("projects", "create", "cli-team");
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err()).contains("already exists");
        Run bad = local("projects", "create", "Not Valid");
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.err()).contains("project name must be");
        assertThat(local("keys", "create", "--name", "k", "--project", "cli-team", "--role", "auditor").exit()).isZero();
        Run deleted = local("projects", "delete", "cli-team", "--json");
        assertThat(deleted.exit()).as(deleted.err()).isZero();
        assertThat(deleted.json().path("keysRevoked").asInt()).isEqualTo(1);
        assertThat(local("projects", "list").out()).doesNotContain("cli-team");
        Run refused = local("projects", "delete", "default");
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.err()).contains("cannot be deleted");
        assertThat(local("projects").exit()).isEqualTo(2);
    }

    @Test
    void encryptionStatusRotationAndProjectKeyRotation() {
        Run status = local("encryption", "status");
        assertThat(status.exit()).as(status.err()).isZero();
        assertThat(status.out()).contains("Master key: local-file at", "master.p12", "_site", "KEK VERSION");
        int before = local("encryption", "status", "--json").json().path("master").path("current").asInt();

        Run rotated = local("encryption", "rotate-master", "--json");
        assertThat(rotated.exit()).as(rotated.err()).isZero();
        assertThat(rotated.json().path("version").asInt()).isEqualTo(before + 1);
        assertThat(local("encryption", "rotate-master").out()).contains("Master key rotated: version " + (before + 1));

        assertThat(local("projects", "create", "cli-keys").exit()).isZero();
        Run kek = local("projects", "rotate-key", "cli-keys");
        assertThat(kek.exit()).as(kek.err()).isZero();
        assertThat(kek.out()).contains("Rotated the key of project cli-keys: version 1 -> 2");
        assertThat(local("projects", "rotate-key", "cli-keys", "--json").json().path("version").asInt()).isEqualTo(3);
        Run missing = local("projects", "rotate-key", "no-such-project");
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("no project 'no-such-project'");
        assertThat(local("sovereignty", "report").out()).contains("cli-keys");
        assertThat(local("encryption").exit()).isEqualTo(2);
    }

    @Test
    void policiesAddListAndDelete(@TempDir Path dir) throws java.io.IOException {
        Path good = dir.resolve("restricted.cedar");
        java.nio.file.Files.writeString(good, ai.factory.security.AuthorizerTest.RESTRICTED);
        Run added = local("policies", "add", good.toString(), "--json");
        assertThat(added.exit()).as(added.err()).isZero();
        String id = added.json().path("id").asText();
        assertThat(local("policies", "list").out()).contains(id, "restricted");
        assertThat(local("policies", "schema").out()).contains("entity Model");

        Path bad = dir.resolve("bad.cedar");
        java.nio.file.Files.writeString(bad, "forbid (principal, action == Action::\"fly\", resource);");
        Run refused = local("policies", "add", bad.toString());
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.err()).contains("does not validate").contains("fly");
        Run missing = local("policies", "add", dir.resolve("none.cedar").toString());
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("cannot read");

        assertThat(local("policies", "delete", id).out()).contains("Deleted site policy " + id);
        assertThat(local("policies", "list", "--json").json().path("policies").size()).isZero();
    }

    @Test
    void keysCreateAwsPrintsTheAccessKeyOnceInTheShapeOfIam() {
        Run created = local("keys", "create", "--aws", "--name", "sdk-app", "--json");
        assertThat(created.exit()).as(created.err()).isZero();
        assertThat(created.json().path("AccessKey").path("AccessKeyId").asText()).matches("AKIA[A-Z2-7]{16}");
        assertThat(created.json().path("AccessKey").path("SecretAccessKey").asText()).hasSize(40);
        assertThat(created.json().path("AccessKey").path("UserName").asText()).isEqualTo("sdk-app");

        Run plain = local("keys", "create", "--aws", "--name", "sdk-app-2");
        assertThat(plain.out()).contains("aws_access_key_id = AKIA", "aws_secret_access_key = ");
        assertThat(local("keys", "list").out()).contains("sdk-app", "AKIA")
                .doesNotContain(created.json().path("AccessKey").path("SecretAccessKey").asText());
    }

    @Test
    void modelsImportByPathAndByUploadThenListShowDelete() {
        Path gguf = TestModels.tinyLlama();
        Run byPath = local("models", "import", gguf.toString(), "--name", "acme/tiny");
        assertThat(byPath.exit()).as(byPath.err()).isZero();
        assertThat(byPath.out()).contains("Imported acme/tiny:1 (gguf");

        Run uploaded = local("models", "import", gguf.toString(), "--name", "acme/tiny", "--upload", "--progress", "--json");
        assertThat(uploaded.exit()).as(uploaded.err()).isZero();
        assertThat(uploaded.json().path("version").asInt()).isEqualTo(2);
        assertThat(uploaded.json().path("source").asText()).isEqualTo("upload:llama-2-tiny-random.gguf");

        assertThat(local("models", "list").out()).contains("acme/tiny", "llama", "builtin/all-minilm-l6-v2");
        Run classified = local("models", "classify", "acme/tiny", "restricted", "--json");
        assertThat(classified.exit()).as(classified.err()).isZero();
        assertThat(classified.json().path("classification").asText()).isEqualTo("restricted");
        assertThat(local("models", "list").out()).contains("restricted");
        Run badLabel = local("models", "classify", "acme/tiny", "Top Secret");
        assertThat(badLabel.exit()).isEqualTo(1);
        assertThat(badLabel.err()).contains("invalid classification");
        assertThat(local("models", "show", "acme/tiny:1", "--json").json().at("/metadata/vocabularySize").asInt()).isEqualTo(32000);
        assertThat(local("models", "delete", "acme/tiny").out()).contains("Deleted acme/tiny:1", "Deleted acme/tiny:2");
    }

    @Test
    void datasetsUploadListShowAndDelete(@TempDir Path files) throws Exception {
        Path good = files.resolve("chats.jsonl");
        Files.writeString(good, "{\"prompt\": \"2+2=\", \"completion\": \"4\"}\n"
                + "{\"prompt\": \"3+3=\", \"completion\": \"6\"}\n");
        Run uploaded = local("datasets", "upload", good.toString(), "--name", "acme/sums", "--classification",
                "confidential");
        assertThat(uploaded.exit()).as(uploaded.err()).isZero();
        assertThat(uploaded.out()).contains("Uploaded acme/sums (bedrock-text, 2 records");

        assertThat(local("datasets", "list").out()).contains("NAME", "acme/sums", "confidential", "bedrock-text");
        assertThat(local("datasets", "list", "--json").json().path("datasets").findValuesAsText("name"))
                .contains("acme/sums");
        assertThat(local("datasets", "show", "acme/sums").out()).contains("records", "sha256", "bedrock-text");
        assertThat(local("datasets", "show", "acme/sums", "--json").json().path("records").asInt()).isEqualTo(2);

        Run taken = local("datasets", "upload", good.toString(), "--name", "acme/sums");
        assertThat(taken.exit()).isEqualTo(1);
        assertThat(taken.err()).contains("is taken").contains("409");

        Path bad = files.resolve("bad.jsonl");
        Files.writeString(bad, "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"prompt\": \"a\"}\n");
        Run refused = local("datasets", "upload", bad.toString(), "--name", "acme/bad", "--json");
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.err().strip()).startsWith("factory: ").contains("line 2: completion is required")
                .doesNotContain("\n");
        assertThat(local("datasets", "show", "acme/bad").exit()).isEqualTo(1);

        Run deleted = local("datasets", "delete", "acme/sums", "--json");
        assertThat(deleted.exit()).as(deleted.err()).isZero();
        assertThat(deleted.json().path("deleted").asText()).isEqualTo("acme/sums");
        Run gone = local("datasets", "delete", "acme/sums");
        assertThat(gone.exit()).isEqualTo(1);
        assertThat(gone.err()).contains("no dataset 'acme/sums'");
        assertThat(local("datasets", "show", "not-a-name").exit()).isEqualTo(1);
        assertThat(cli("datasets", "upload").exit()).isEqualTo(2);
    }

    @Test
    void failuresAreOneLineWithExitCodeOneAndUsageErrorsExitTwo() {
        Run refused = local("models", "delete", "builtin/all-minilm-l6-v2");
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.err().strip()).startsWith("factory: ").contains("is deployed").doesNotContain("\n");

        Run badKey = cli("models", "list", "--url", factory.url(), "--key", "fk_nope");
        assertThat(badKey.exit()).isEqualTo(1);
        assertThat(badKey.err()).contains("not valid").contains("401");

        Run noServer = cli("models", "list", "--url", "http://127.0.0.1:1", "--key", "fk_x");
        assertThat(noServer.exit()).isEqualTo(1);
        assertThat(noServer.err()).contains("cannot reach the factory");

        assertThat(cli("models", "import").exit()).isEqualTo(2);
        assertThat(cli("no-such-command").exit()).isEqualTo(2);
    }

    @Test
    void deployThenChatOneShotAndDeleteTheDeployment() {
        assertThat(local("models", "import", TestModels.tinyLlama().toString(), "--name", "acme/chatty").exit()).isZero();
        Run deployed = local("deploy", "acme/chatty", "--parallel", "2", "--ctx", "512", "--step-tokens", "32",
                "--prefix-cache", "3");
        assertThat(deployed.exit()).as(deployed.err()).isZero();
        assertThat(deployed.out()).contains("acme/chatty:1 is ready", "replica 0: CPU");
        Run badLayers = local("deploy", "acme/chatty", "--gpu-layers", "lots");
        assertThat(badLayers.exit()).isEqualTo(2);
        assertThat(badLayers.err()).contains("--gpu-layers must be auto or a whole number");
        Run fastSteps = local("deploy", "acme/chatty", "--step-tokens", "fast");
        assertThat(fastSteps.exit()).isEqualTo(2);
        assertThat(fastSteps.err()).contains("--step-tokens must be auto or a whole number of tokens, not 'fast'");
        Run longSteps = local("deploy", "acme/chatty", "--step-tokens", "513");
        assertThat(longSteps.exit()).isEqualTo(1);
        assertThat(longSteps.err())
                .contains("'stepTokens' must be \"auto\" or between 1 and 512 tokens a step, not 513");
        Run badCache = local("deploy", "acme/chatty", "--cache-type", "q5_1");
        assertThat(badCache.exit()).isEqualTo(2);
        assertThat(badCache.err()).contains("--cache-type must be f16, q8_0 or q4_0, not 'q5_1'");
        Run negativeCache = local("deploy", "acme/chatty", "--prefix-cache", "-1");
        assertThat(negativeCache.exit()).isEqualTo(1);
        assertThat(negativeCache.err()).contains("'prefixCache' must be between 0 and 256 sequences, not -1");
        Run namedCache = local("deploy", "acme/chatty", "--prefix-cache", "many");
        assertThat(namedCache.exit()).isEqualTo(2);
        assertThat(namedCache.err()).contains("--prefix-cache", "'many'");
        assertThat(cli("deploy", "--help").out().replaceAll("\\s+", " "))
                .contains("auto (default: prompt chunks sized so that a step with prompt tokens takes about four times a "
                        + "step without, a prompt costing at most 16 such steps whole)", "f16 (default), q8_0 or q4_0", "Sequences beyond --parallel that keep "
                        + "evicted slots' prompts for later turns of a conversation; each takes a slot's KV memory "
                        + "(default 0)");
        Run noGpu = local("deploy", "acme/chatty", "--gpu-layers", "4");
        assertThat(noGpu.exit()).isEqualTo(1);
        assertThat(noGpu.err()).contains("no GPU backend");

        Run chat = local("chat", "acme/chatty", "-p", "Hello there", "--max-tokens", "8", "--temperature", "0");
        assertThat(chat.exit()).as(chat.err()).isZero();
        assertThat(chat.out().strip()).isNotEmpty();
        assertThat(local("chat", "acme/chatty", "-p", "Hello there", "--max-tokens", "8", "--temperature", "0").out())
                .as("greedy is repeatable").isEqualTo(chat.out());
        // One shot answers in at most 128 tokens unless told otherwise.
        int chats = chatRecords().size();
        Run oneShot = local("chat", "acme/chatty", "-p", "Hello there");
        assertThat(oneShot.exit()).as(oneShot.err()).isZero();
        await().atMost(Duration.ofMinutes(1)).until(() -> chatRecords().size() > chats);
        assertThat(chatRecords().getFirst().path("completionTokens").asLong()).isBetween(1L, 128L);
        assertThat(cli("chat", "--help").out().replaceAll("\\s+", " "))
                .contains("default: 128 with -p, 512 in a conversation");

        Run listed = local("deployments", "list");
        assertThat(listed.out()).contains("acme/chatty:1", "ready", "STEP TOKENS", "KV CACHE", "PREFIX CACHE");
        String[] row = listed.out().lines().filter(l -> l.contains("acme/chatty")).findFirst().orElseThrow()
                .split("\\s+");
        assertThat(row).containsSubsequence("512", "32", "f16", "3");
        String id = row[0];
        assertThat(local("deployments", "delete", id).out()).contains("Deleted deployment " + id);
        assertThat(local("chat", "acme/chatty", "-p", "hi").err()).contains("does not exist or is not deployed");
    }

    @Test
    void deployWithAQuantizedCacheShowsItsSettingsAndServes() {
        // Its attention heads are whole blocks of a q8_0 cache, which the tiny model's are not.
        assertThat(local("models", "import", TestModels.smallLlama(home).toString(), "--name", "acme/small").exit())
                .isZero();
        Run deployed = local("deploy", "acme/small", "--ctx", "256", "--step-tokens", "32", "--cache-type", "q8_0",
                "--json");
        assertThat(deployed.exit()).as(deployed.err()).isZero();
        assertThat(deployed.json().path("state").asText()).isEqualTo("ready");
        assertThat(deployed.json().path("stepTokens").asInt()).isEqualTo(32);
        assertThat(deployed.json().path("cacheType").asText()).isEqualTo("q8_0");
        String[] row = local("deployments", "list").out().lines().filter(l -> l.contains("acme/small")).findFirst()
                .orElseThrow().split("\\s+");
        assertThat(row).contains("32", "q8_0");

        Run chat = local("chat", "acme/small", "-p", "Hello there", "--max-tokens", "8", "--temperature", "0");
        assertThat(chat.exit()).as(chat.err()).isZero();
        assertThat(local("deployments", "delete", row[0]).exit()).isZero();
    }

    @Test
    void aDeveloperDeploysAndUndeploysInItsOwnProjectAsTheHelpSays() {
        assertThat(cli("deploy", "--help").out()).doesNotContain("admin only")
                .contains("developers and", "project admins of the model's project");
        assertThat(cli("deployments", "delete", "--help").out()).doesNotContain("admin only")
                .contains("developers and project admins of its project");

        assertThat(local("projects", "create", "dev-team").exit()).isZero();
        Run key = local("keys", "create", "--name", "dev", "--project", "dev-team", "--role", "developer", "--json");
        assertThat(key.exit()).as(key.err()).isZero();
        String[] developer = {"--url", factory.url(), "--key", key.json().path("secret").asText()};
        Run uploaded = cli(with(developer, "models", "import", TestModels.tinyLlama().toString(), "--name",
                "dev-team/tiny", "--upload"));
        assertThat(uploaded.exit()).as(uploaded.err()).isZero();
        Run deployed = cli(with(developer, "deploy", "dev-team/tiny", "--parallel", "1", "--ctx", "256"));
        assertThat(deployed.exit()).as(deployed.err()).isZero();
        assertThat(deployed.out()).contains("dev-team/tiny:1 is ready");
        String id = cli(with(developer, "deployments", "list")).out().lines().filter(l -> l.contains("dev-team/tiny"))
                .findFirst().orElseThrow().split("\\s+")[0];
        Run deleted = cli(with(developer, "deployments", "delete", id));
        assertThat(deleted.exit()).as(deleted.err()).isZero();
        assertThat(deleted.out()).contains("Deleted deployment " + id);
    }

    /** The audit records of calls to acme/chatty, newest first. */
    private static List<JsonNode> chatRecords() {
        Run query = local("audit", "query", "--action", "invoke", "--limit", "1000", "--json");
        assertThat(query.exit()).as(query.err()).isZero();
        List<JsonNode> records = new ArrayList<>();
        query.json().path("records").forEach(r -> {
            if (r.path("resource").asText().contains("acme/chatty")) {
                records.add(r);
            }
        });
        return records;
    }

    /** A command's arguments followed by the options that reach a factory ({@code --url}, {@code --key}). */
    public static String[] with(String[] client, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of(client));
        return all.toArray(String[]::new);
    }

    @Test
    void inspectReadsAGgufWithoutAServer() {
        Run r = cli("models", "inspect", TestModels.tinyLlama().toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.json().path("architecture").asText()).isEqualTo("llama");
        assertThat(cli("models", "inspect", home.resolve("admin.key").toString()).err()).contains("GGUF");
    }
}
