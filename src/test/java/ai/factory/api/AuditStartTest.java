package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ai.factory.ErrorCode;
import ai.factory.ServerTest;
import ai.factory.app.Factory;
import ai.factory.FactoryException;
import ai.factory.TestFactory;
import ai.factory.config.ConfigLoader;
import ai.factory.storage.Database;
import ai.factory.storage.H2Password;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A factory checks its audit chain when it starts: on a chain cut back while it was stopped it refuses to start;
 * told {@code --accept-broken-audit} it starts, records that it did, and says so in {@code /health/ready} and the
 * sovereignty report.
 */
@ServerTest
class AuditStartTest {
    @TempDir
    Path home;

    @Test
    void refusesABrokenChainUnlessToldToAcceptItAndThenShowsTheBreak() {
        try (TestFactory factory = TestFactory.start(home)) {
            assertThat(factory.get("/api/v1/fleet", factory.adminKey()).statusCode()).isEqualTo(200);
            assertThat(factory.get("/health/ready", null).statusCode()).isEqualTo(200);
            assertThat(json(factory.get("/health/ready", null)).at("/checks/audit").asText()).isEqualTo("up");
        }
        // While it is stopped, someone deletes the last records and the final digest that covers them.
        long cut;
        var config = new ConfigLoader(Map.of()).load(home, Map.of());
        try (Database db = Database.open(H2Password.forReading(config.database(), config.databasePasswordFile()))) {
            cut = db.jdbi().withHandle(h -> h.createQuery("SELECT MAX(first_seq) FROM audit_digests")
                    .mapTo(Long.class).one());
            db.jdbi().useHandle(h -> {
                h.execute("DELETE FROM audit_records WHERE seq >= " + cut);
                h.execute("DELETE FROM audit_digests WHERE first_seq >= " + cut);
            });
        }

        assertThatThrownBy(() -> TestFactory.start(home))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT))
                .hasMessageContaining("the audit chain is broken at record " + cut + " (deleted)")
                .hasMessageContaining("--accept-broken-audit");

        try (TestFactory factory = TestFactory.startAcceptingBrokenAudit(home)) {
            HttpResponse<String> ready = factory.get("/health/ready", null);
            assertThat(ready.statusCode()).isEqualTo(503);
            assertThat(json(ready).at("/checks/audit").asText()).isEqualTo("down");
            assertThat(json(ready).at("/checks/database").asText()).isEqualTo("up");

            await().atMost(Duration.ofMinutes(1)).until(() -> !json(factory.get("/api/v1/audit?action="
                    + Factory.ACCEPT_BROKEN_AUDIT, factory.adminKey())).path("records").isEmpty());
            JsonNode accepted = json(factory.get("/api/v1/audit?action=" + Factory.ACCEPT_BROKEN_AUDIT,
                    factory.adminKey())).path("records").get(0);
            assertThat(accepted.path("principalId").asText()).isEqualTo("system");
            assertThat(accepted.path("detail").asText()).contains("--accept-broken-audit")
                    .contains("broken at record " + cut);

            JsonNode report = json(factory.get("/api/v1/sovereignty/report", factory.adminKey()));
            assertThat(report.at("/auditAtStart/ok").asBoolean()).isFalse();
            assertThat(report.at("/auditAtStart/accepted").asBoolean()).isTrue();
            assertThat(report.at("/auditAtStart/problem/seq").asLong()).isEqualTo(cut);
            assertThat(report.at("/auditAtStart/problem/kind").asText()).isEqualTo("deleted");
        }

        // The accepting run's clean shutdown gave the factory a new anchor of its own: the next start needs no flag.
        // (An auditor's anchor from before the cut still shows it.)
        try (TestFactory factory = TestFactory.start(home)) {
            assertThat(factory.get("/health/ready", null).statusCode()).isEqualTo(200);
        }
    }
}
