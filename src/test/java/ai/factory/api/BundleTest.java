package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.cli.FactoryCliTest;
import ai.factory.config.Setting;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Air-gapped bundles end to end: a factory exports a signed model and itself; the bundle verifies offline, installs
 * into a folder, and that installed factory starts in a process whose home has no Maven or npm cache, with mvn and
 * npm booby-trapped on its PATH and the egress policy denying everything, imports the bundle's model under
 * {@code require}, deploys it and answers. A bundle with one byte changed, a truncated one and one whose second
 * model the importing site refuses are refused whole: nothing registered, nothing installed.
 */
@ServerTest
class BundleTest {
    @TempDir
    Path dir;

    /** A copy of {@code bundle} with one byte of {@code entry}'s content changed, its signature kept. */
    private static void tamper(Path bundle, String entry, Path out) throws Exception {
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(bundle));
             ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(out))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                byte[] content = in.readAllBytes();
                if (e.getName().equals(entry)) {
                    content[content.length / 2] ^= 1;
                }
                zip.putNextEntry(new ZipEntry(e.getName()));
                zip.write(content);
                zip.closeEntry();
            }
        }
    }

    private static FactoryCliTest.Run cli(String url, String key, String... args) {
        List<String> all = new ArrayList<>(Arrays.asList(args));
        all.addAll(List.of("--url", url, "--key", key));
        return FactoryCliTest.cli(all.toArray(String[]::new));
    }

    @Test
    void aBundleCarriesASignedModelAndTheFactoryToAnOfflineSiteAndATamperedOneIsRefusedWhole() throws Exception {
        Path[] site = TestSigners.write(dir, "site");
        Path[] vendor = TestSigners.write(dir, "vendor");
        Path model = dir.resolve("vendor").resolve("tiny.gguf");
        Files.createDirectories(model.getParent());
        Files.copy(TestModels.tinyLlama(), model);
        assertThat(FactoryCliTest.cli("models", "sign", model.toString(), "--key", vendor[0].toString()).exit())
                .isZero();
        Path unsignedCopy = dir.resolve("unsigned").resolve("tiny.gguf");
        Files.createDirectories(unsignedCopy.getParent());
        Files.copy(TestModels.tinyLlama(), unsignedCopy);

        Path full = dir.resolve("full.zip");
        Path two = dir.resolve("two.zip");
        try (TestFactory a = TestFactory.start(dir.resolve("a"), Map.of(Setting.SIGNING_KEY, site[0].toString(),
                Setting.TRUSTED_SIGNERS, vendor[1].toString(), Setting.SIGNATURE_POLICY, "warn"))) {
            assertThat(a.post("/api/v1/models/acme/tiny/versions", a.adminKey(), "{\"path\": \"" + model + "\"}")
                    .statusCode()).isEqualTo(201);
            assertThat(a.post("/api/v1/models/acme/unsigned/versions", a.adminKey(), "{\"path\": \"" + unsignedCopy
                    + "\"}").statusCode()).isEqualTo(201);
            FactoryCliTest.Run export = cli(a.url(), a.adminKey(), "bundle", "export", "--models", "acme/tiny",
                    "--runtime", "--out", full.toString());
            assertThat(export.exit()).as(export.err()).isZero();
            assertThat(export.out()).contains("Exported acme/tiny and the factory to " + full);
            assertThat(cli(a.url(), a.adminKey(), "bundle", "export", "--models", "acme/tiny,acme/unsigned", "--out",
                    two.toString()).exit()).isZero();

            // Bad requests: nothing named, a model that does not exist, a builtin one, a non-admin.
            HttpResponse<String> empty = a.post("/api/v1/bundles/export", a.adminKey(), "{}");
            assertThat(empty.statusCode()).as(empty.body()).isEqualTo(400);
            assertThat(a.post("/api/v1/bundles/export", a.adminKey(), "{\"models\": [\"acme/nothing\"]}")
                    .statusCode()).isEqualTo(404);
            assertThat(a.post("/api/v1/bundles/export", a.adminKey(), "{\"models\": [\"acme/tiny\", \"acme/tiny:1\"]}")
                    .statusCode()).isEqualTo(400);
            assertThat(a.post("/api/v1/bundles/export", a.adminKey(), "{\"models\": 7}").statusCode()).isEqualTo(400);
            String developer = a.createKey("dev", "default", "developer");
            assertThat(a.post("/api/v1/bundles/export", developer, "{\"models\": [\"acme/tiny\"]}").statusCode())
                    .isEqualTo(403);
            assertThat(a.post("/api/v1/bundles/import", a.adminKey(), "{\"path\": \"relative.zip\"}").statusCode())
                    .isEqualTo(400);
            assertThat(a.get("/health/live", a.adminKey()).statusCode()).as("still serving").isEqualTo(200);
        }

        // Offline, with the exporting site's public key: every file verified, what it holds listed.
        FactoryCliTest.Run verify = FactoryCliTest.cli("bundle", "verify", full.toString(), "--public-key",
                site[1].toString());
        assertThat(verify.exit()).as(verify.err()).isZero();
        assertThat(verify.out()).contains("signed by key sha256:", "acme/tiny", "Runtime: ", "llama.cpp natives: ");
        FactoryCliTest.Run stranger = FactoryCliTest.cli("bundle", "verify", full.toString(), "--public-key",
                vendor[1].toString());
        assertThat(stranger.exit()).isEqualTo(1);
        assertThat(stranger.err()).contains("refused: signed by a key the site does not trust");

        Path tampered = dir.resolve("tampered.zip");
        String weights = "models/acme/tiny/1/files/tiny.gguf";
        tamper(full, weights, tampered);
        FactoryCliTest.Run changed = FactoryCliTest.cli("bundle", "verify", tampered.toString(), "--public-key",
                site[1].toString());
        assertThat(changed.exit()).isEqualTo(1);
        assertThat(changed.err()).contains("refused: entry '" + weights + "' has SHA-256 ", "expects ");
        Path truncated = dir.resolve("truncated.zip");
        byte[] bytes = Files.readAllBytes(full);
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length / 2));
        FactoryCliTest.Run cut = FactoryCliTest.cli("bundle", "verify", truncated.toString(), "--public-key",
                site[1].toString());
        assertThat(cut.exit()).isEqualTo(1);
        assertThat(cut.err()).contains("truncated");

        // Installed offline: a tampered bundle installs nothing; the real one lands beside a 'current' link.
        Path runtimes = dir.resolve("opt");
        assertThat(FactoryCliTest.cli("bundle", "install", tampered.toString(), "--into", runtimes.toString(),
                "--public-key", site[1].toString()).exit()).isEqualTo(1);
        assertThat(runtimes).doesNotExist();
        FactoryCliTest.Run install = FactoryCliTest.cli("bundle", "install", full.toString(), "--into",
                dir.resolve("elsewhere").resolve("..").resolve("opt").toString(), "--public-key", site[1].toString());
        assertThat(install.exit()).as(install.err()).isZero();
        FactoryCliTest.Run again = FactoryCliTest.cli("bundle", "install", full.toString(), "--into",
                runtimes.toString(), "--public-key", site[1].toString());
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err()).contains("is installed already");
        assertThat(FactoryCliTest.cli("bundle", "install", two.toString(), "--into", runtimes.toString(),
                "--public-key", site[1].toString()).err()).contains("carries no runtime");
        Path launcher = runtimes.resolve("current").resolve("factory");
        assertThat(launcher).isExecutable();
        assertThat(runtimes.resolve("current").resolve("natives").resolve("lib")).isDirectory();
        assertThat(runtimes.resolve("current").resolve("natives").resolve("provenance.json")).isRegularFile();
        assertThat(Files.readString(runtimes.resolve("current").resolve("sbom.cdx.json"))).as("the runtime's SBOM")
                .contains("pkg:maven/io.javalin/javalin@", "pkg:npm/%40node-llama-cpp/");

        // The installed factory, on a machine with no caches, no reachable mvn or npm, and egress denied.
        Path emptyHome = Files.createDirectories(dir.resolve("nobody"));
        Path trap = Files.createDirectories(dir.resolve("trap"));
        for (String tool : List.of("mvn", "npm", "git", "curl", "wget")) {
            Path t = trap.resolve(tool);
            Files.writeString(t, "#!/bin/sh\ntouch '" + dir.resolve("called-" + tool) + "'\nexit 1\n");
            Files.setPosixFilePermissions(t, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Path homeB = dir.resolve("b");
        int port = TestCluster.freePort();
        String javaHome = System.getProperty("java.home");
        ProcessBuilder builder = new ProcessBuilder(launcher.toString(), "up", "--home", homeB.toString(), "--port",
                String.valueOf(port)).redirectErrorStream(true);
        Map<String, String> env = builder.environment();
        env.keySet().removeIf(k -> k.startsWith("FACTORY_") || k.startsWith("MAVEN") || k.equals("JAVA_TOOL_OPTIONS"));
        env.put("HOME", emptyHome.toString());
        env.put("PATH", trap + ":" + javaHome + "/bin:/usr/bin:/bin");
        env.put("JAVA_HOME", javaHome);
        env.put("FACTORY_SIGNATURE_POLICY", "require");
        env.put("FACTORY_TRUSTED_SIGNERS", site[1] + "," + vendor[1]);
        env.put("FACTORY_EGRESS_ALLOW", "");
        env.put("FACTORY_BUILTIN_MODELS", "false");
        env.put("FACTORY_GENERATION_THREADS", "1");
        Process b = builder.start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(b.getInputStream(), StandardCharsets.UTF_8));
            List<String> seen = new ArrayList<>();
            String ready = null;
            for (String line; ready == null && (line = out.readLine()) != null; ) {
                seen.add(line);
                ready = line.contains("Factory ready at ") ? line : null;
            }
            assertThat(ready).as(String.join("\n", seen)).isNotNull();
            Thread.ofVirtual().start(() -> out.lines().forEach(l -> { }));
            String url = "http://127.0.0.1:" + port;
            await().atMost(Duration.ofSeconds(20)).until(() -> Files.isRegularFile(homeB.resolve("admin.key")));
            String key = Files.readString(homeB.resolve("admin.key")).strip();

            // Refused whole: a changed byte, and a bundle whose second model is unsigned (require): nothing lands.
            FactoryCliTest.Run refused = cli(url, key, "bundle", "import", tampered.toString());
            assertThat(refused.exit()).isNotZero();
            assertThat(refused.err()).contains("nothing was imported", "has SHA-256");
            FactoryCliTest.Run half = cli(url, key, "bundle", "import", two.toString());
            assertThat(half.exit()).isNotZero();
            assertThat(half.err()).contains("acme/unsigned", "no signature");
            assertThat(cli(url, key, "models", "show", "acme/tiny").exit()).as("the first model taken back")
                    .isNotZero();

            FactoryCliTest.Run imported = cli(url, key, "bundle", "import", full.toString());
            assertThat(imported.exit()).as(imported.err()).isZero();
            assertThat(imported.out()).contains("Imported acme/tiny:1", "signed by key sha256:",
                    "also carries the factory");
            FactoryCliTest.Run twice = cli(url, key, "bundle", "import", full.toString());
            assertThat(twice.exit()).isNotZero();
            assertThat(twice.err()).contains("holds the bundle's acme/tiny:1 already, as version 1");
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> deployed = http.send(HttpRequest.newBuilder(URI.create(url + "/api/v1/deployments"))
                    .header("Authorization", "Bearer " + key).POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\": \"acme/tiny\", \"context\": 256}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(202);
            String id = json(deployed).path("id").asText();
            await().atMost(Duration.ofMinutes(1)).until(() -> json(http.send(HttpRequest.newBuilder(URI.create(
                    url + "/api/v1/deployments/" + id)).header("Authorization", "Bearer " + key).build(),
                    HttpResponse.BodyHandlers.ofString())).path("state").asText().matches("ready|failed"));
            HttpResponse<String> chat = http.send(HttpRequest.newBuilder(URI.create(url + "/v1/chat/completions"))
                    .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"acme/tiny\", \"max_tokens\": 3, "
                            + "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);

            JsonNode report = json(http.send(HttpRequest.newBuilder(URI.create(url + "/api/v1/sovereignty/report"))
                    .header("Authorization", "Bearer " + key).build(), HttpResponse.BodyHandlers.ofString()));
            assertThat(report.at("/software/factory").asText()).startsWith("factory ");
            assertThat(report.at("/software/sbomSha256").asText()).as("the SBOM travelled in the jar")
                    .matches("[0-9a-f]{64}");
            assertThat(report.at("/software/llamaNatives").asText()).as("the natives and where they came from")
                    .startsWith("llama.cpp ").contains("@node-llama-cpp/");
            assertThat(report.at("/egress/allow").size()).isZero();
            assertThat(report.at("/egress/attempts").size()).as("no outbound connection attempted").isZero();
            for (String tool : List.of("mvn", "npm", "git", "curl", "wget")) {
                assertThat(dir.resolve("called-" + tool)).as(tool + " was never run").doesNotExist();
            }
            assertThat(emptyHome.resolve(".m2")).doesNotExist();
            assertThat(emptyHome.resolve(".cache")).doesNotExist();
        } finally {
            b.destroy();
            if (!b.waitFor(30, TimeUnit.SECONDS)) {
                b.destroyForcibly();
            }
        }
    }
}
