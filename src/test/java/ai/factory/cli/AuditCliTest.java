package ai.factory.cli;

import static ai.factory.cli.FactoryCliTest.cli;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.security.audit.AuditAnchor;
import ai.factory.storage.Database;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code factory audit query|public-key|anchor|verify} and {@code factory sovereignty report}: the first ones against
 * a running factory; {@code verify} from another process while the factory holds its embedded database (through the
 * API, checked in the command), then offline, on the stopped factory's own database, on a copy, against an anchor
 * kept elsewhere, and on tampered ones.
 */
@ServerTest
class AuditCliTest {
    @TempDir
    Path home;

    @TempDir
    Path elsewhere;

    @Test
    void queriesOnlineThenVerifiesOfflineAndPointsAtATamperedRecord() throws Exception {
        try (TestFactory factory = TestFactory.start(home, TestFactory.BUILTIN)) {
            String[] client = {"--url", factory.url(), "--key", factory.adminKey()};
            factory.get("/api/v1/fleet", factory.adminKey());
            await().atMost(Duration.ofMinutes(1)).until(() -> cli(concat(new String[] {"audit", "query", "--action",
                    "readFleet", "--json"}, client)).json().path("records").size() > 0);

            FactoryCliTest.Run table = cli(concat(new String[] {"audit", "query", "--principal", "admin", "--limit", "5"},
                    client));
            assertThat(table.exit()).as(table.err()).isZero();
            assertThat(table.out()).startsWith("SEQ").contains("readFleet").contains("admin");

            FactoryCliTest.Run bad = cli(concat(new String[] {"audit", "query", "--outcome", "maybe"}, client));
            assertThat(bad.exit()).isEqualTo(1);
            assertThat(bad.err()).contains("'outcome' must be success or failure").contains("HTTP 400");

            FactoryCliTest.Run key = cli(concat(new String[] {"audit", "public-key"}, client));
            assertThat(key.exit()).isZero();
            assertThat(key.out()).isEqualTo(Files.readString(home.resolve("audit.pub")));
            Files.writeString(elsewhere.resolve("site.pub"), key.out());

            FactoryCliTest.Run anchor = cli(concat(new String[] {"audit", "anchor"}, client));
            assertThat(anchor.exit()).as(anchor.err()).isZero();
            assertThat(anchor.out()).startsWith("fa1:").hasLineCount(1);
            Files.writeString(elsewhere.resolve("anchors.txt"), "# kept by the security officer\n" + anchor.out());
            assertThat(cli(concat(new String[] {"audit", "anchor", "--json"}, client)).json().path("keyId").asText())
                    .isEqualTo(AuditAnchor.parse(anchor.out()).keyId());

            // An auditor checks the running factory from another process: the embedded database is held, so the
            // chain comes through the API, and the command checks it with the key it was given.
            FactoryCliTest.Run live = FactoryCliTest.cliProcess("audit", "verify", "--home", home.toString(), "--public-key",
                    elsewhere.resolve("site.pub").toString(), "--anchor", elsewhere.resolve("anchors.txt").toString());
            assertThat(live.exit()).as(live.err()).isZero();
            assertThat(live.err()).contains("the factory holds its embedded database");
            assertThat(live.out()).startsWith("OK: ").contains("through " + factory.url()).contains("Latest anchor: fa1:");

            FactoryCliTest.Run report = cli(concat(new String[] {"sovereignty", "report"}, client));
            assertThat(report.exit()).as(report.err()).isZero();
            assertThat(report.out()).contains("every outbound connection is refused").contains("audit signing key")
                    .contains("Audit chain: OK");
            assertThat(cli(concat(new String[] {"sovereignty", "report", "--json"}, client)).json()
                    .at("/audit/ok").asBoolean()).isTrue();
        }

        FactoryCliTest.Run ok = cli("audit", "verify", "--home", home.toString(), "--public-key",
                elsewhere.resolve("site.pub").toString(), "--json");
        assertThat(ok.exit()).as(ok.err()).isZero();
        assertThat(ok.json().path("ok").asBoolean()).isTrue();
        assertThat(ok.json().path("records").asLong()).isPositive();
        assertThat(ok.json().path("undigested").asLong()).as("a clean shutdown signs the tail").isZero();

        FactoryCliTest.Run human = cli("audit", "verify", "--home", home.toString());
        assertThat(human.exit()).as(human.err()).isZero();
        assertThat(human.out()).startsWith("OK: ").contains("from the database")
                .contains("the chain extends 1 anchor(s), the factory's own among them");
        FactoryCliTest.Run anchored = cli("audit", "verify", "--home", home.toString(), "--anchor",
                elsewhere.resolve("anchors.txt").toString());
        assertThat(anchored.exit()).as(anchored.err()).isZero();
        assertThat(anchored.out()).contains("extends 2 anchor(s)");

        // A copy of the database, verified elsewhere, then cut back to before the anchor kept: still a chain that
        // verifies on its own, but not one that extends the anchor.
        Path copy = elsewhere.resolve("copy");
        copyTree(home.resolve("db"), copy.resolve("db"));
        Files.copy(home.resolve("db.password"), copy.resolve("db.password"));
        String[] onCopy = {"audit", "verify", "--home", copy.toString(), "--public-key",
                elsewhere.resolve("site.pub").toString()};
        FactoryCliTest.Run copied = cli(concat(onCopy, new String[] {"--anchor", elsewhere.resolve("anchors.txt")
                .toString()}));
        assertThat(copied.exit()).as(copied.err()).isZero();
        long anchorSeq = AuditAnchor.read(elsewhere.resolve("anchors.txt")).getFirst().seq();
        long cut;
        var copyConfig = new ai.factory.config.ConfigLoader(java.util.Map.of()).load(copy, java.util.Map.of());
        try (Database db = Database.open(ai.factory.storage.H2Password.forReading(copyConfig.database(),
                copyConfig.databasePasswordFile()))) {
            cut = db.jdbi().withHandle(h -> h.createQuery("SELECT first_seq FROM audit_digests WHERE last_seq = "
                    + anchorSeq).mapTo(Long.class).one());
            db.jdbi().useHandle(h -> {
                h.execute("DELETE FROM audit_records WHERE seq >= " + cut);
                h.execute("DELETE FROM audit_digests WHERE first_seq >= " + cut);
            });
        }
        assertThat(cli(onCopy).exit()).as("a cut at a digest leaves a chain that verifies by itself").isZero();
        FactoryCliTest.Run cutBack = cli(concat(onCopy, new String[] {"--anchor", elsewhere.resolve("anchors.txt")
                .toString()}));
        assertThat(cutBack.exit()).isEqualTo(1);
        assertThat(cutBack.err()).contains("BROKEN at record " + cut + " (deleted)").contains("the chain was cut");

        ai.factory.config.FactoryConfig config = new ai.factory.config.ConfigLoader(java.util.Map.of()).load(home,
                java.util.Map.of());
        try (Database db = Database.open(ai.factory.storage.H2Password.forReading(config.database(),
                config.databasePasswordFile()))) {
            db.jdbi().useHandle(h -> h.execute("UPDATE audit_records SET principal_name = 'nobody' WHERE seq = 2"));
        }
        FactoryCliTest.Run broken = cli("audit", "verify", "--home", home.toString());
        assertThat(broken.exit()).isEqualTo(1);
        assertThat(broken.err()).contains("BROKEN at record 2 (edited)");

        FactoryCliTest.Run badTime = cli("audit", "verify", "--home", home.toString(), "--from", "last week");
        assertThat(badTime.exit()).isEqualTo(1);
        assertThat(badTime.err()).contains("'from' must be a time");
        FactoryCliTest.Run noKey = cli("audit", "verify", "--home", home.toString(), "--public-key",
                elsewhere.resolve("missing.pub").toString());
        assertThat(noKey.exit()).isEqualTo(1);
        assertThat(noKey.err()).contains("cannot read the audit public key");
    }

    @Test
    void contentLoggingIsSwitchedOnAndReadBackFromTheCommandLine() {
        try (TestFactory factory = TestFactory.start(home, TestFactory.BUILTIN)) {
            String[] client = {"--url", factory.url(), "--key", factory.adminKey()};
            FactoryCliTest.Run on = cli(concat(new String[] {"projects", "set", "default", "--content-logging", "on"},
                    client));
            assertThat(on.exit()).as(on.err()).isZero();
            assertThat(on.out()).contains("Content logging of project default is on");
            assertThat(cli(concat(new String[] {"projects", "list"}, client)).out()).contains("CONTENT LOGGING")
                    .containsPattern("default .* on");
            FactoryCliTest.Run maybe = cli(concat(new String[] {"projects", "set", "default", "--content-logging",
                    "maybe"}, client));
            assertThat(maybe.exit()).isEqualTo(2);
            assertThat(maybe.err()).contains("takes on or off");

            assertThat(factory.post("/v1/embeddings", factory.adminKey(),
                    "{\"model\": \"builtin/all-minilm-l6-v2\", \"input\": \"minutes of the board meeting\"}")
                    .statusCode()).isEqualTo(200);
            await().atMost(Duration.ofMinutes(1)).until(() -> cli(concat(new String[] {"audit", "query", "--action",
                    "invoke", "--json"}, client)).json().path("records").size() > 0);
            String detail = cli(concat(new String[] {"audit", "query", "--action", "invoke", "--json"}, client)).json()
                    .at("/records/0/detail").asText();
            assertThat(detail).startsWith("POST /v1/embeddings content=sha256:");
            String digest = detail.substring(detail.length() - 64);
            assertThat(cli(concat(new String[] {"audit", "query", "--action", "invoke"}, client)).out())
                    .contains("CONTENT").contains(digest);

            FactoryCliTest.Run content = cli(concat(new String[] {"audit", "content", "default", digest}, client));
            assertThat(content.exit()).as(content.err()).isZero();
            assertThat(content.out()).contains("POST /v1/embeddings").contains("minutes of the board meeting");

            // A call of several choices keeps each choice's output, and the command prints them one by one.
            factory.deployGguf("acme/tiny", ai.factory.TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 256");
            java.net.http.HttpResponse<String> chat = factory.send(factory.request("/v1/chat/completions",
                    factory.adminKey()).header("Content-Type", "application/json").header("X-Request-Id", "cli-choices")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\": \"acme/tiny\", \"n\": 2, "
                            + "\"max_tokens\": 4, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}")));
            assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
            String choices = factory.auditRecord("cli-choices", factory.adminKey()).path("detail").asText();
            FactoryCliTest.Run both = cli(concat(new String[] {"audit", "content", "default",
                    choices.substring(choices.length() - 64)}, client));
            assertThat(both.exit()).as(both.err()).isZero();
            assertThat(both.out()).contains("output of choice 0:").contains("output of choice 1:");
            FactoryCliTest.Run missing = cli(concat(new String[] {"audit", "content", "default", "0".repeat(64)}, client));
            assertThat(missing.exit()).isEqualTo(1);
            assertThat(missing.err()).contains("logged no content");
        }
    }

    @Test
    void offlineVerifyPrintsItsResultAloneWithNoLogLines() throws Exception {
        TestFactory.start(home, TestFactory.BUILTIN).close();
        FactoryCliTest.Run run = FactoryCliTest.cliProcess("audit", "verify", "--home", home.toString());
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out().lines()).as("stdout").hasSize(3).satisfiesExactly(
                line -> assertThat(line).startsWith("OK: ").contains("from the database"),
                line -> assertThat(line).startsWith("Cadence: "),
                line -> assertThat(line).startsWith("Latest anchor: fa1:"));
        assertThat(run.err()).as("stderr: the database and Flyway log at INFO only for 'factory up'").isEmpty();
    }

    private static void copyTree(Path from, Path to) throws java.io.IOException {
        try (var files = Files.walk(from)) {
            for (Path f : files.toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target);
                }
            }
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
