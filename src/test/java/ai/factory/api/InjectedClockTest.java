package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The clock given to {@code Factory.start} is the one its parts read: a factory started on a fixed clock stamps its
 * keys and its audit records with that time, not the machine's.
 */
@ServerTest
class InjectedClockTest {
    private static final Instant THEN = Instant.parse("2031-03-04T05:06:07Z");

    @TempDir
    Path home;

    @Test
    void keysAndAuditRecordsCarryTheInjectedTime() throws Exception {
        try (TestFactory factory = TestFactory.start(home, Clock.fixed(THEN, ZoneOffset.UTC))) {
            HttpResponse<String> created = factory.post("/api/v1/keys", factory.adminKey(),
                    "{\"name\":\"officer\",\"project\":\"default\",\"role\":\"auditor\"}");
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            JsonNode key = Json.mapper().readTree(created.body());
            assertThat(Instant.parse(key.path("createdAt").asText())).isEqualTo(THEN);

            String requestId = created.headers().firstValue("X-Request-Id").orElseThrow();
            JsonNode record = factory.auditRecord(requestId, key.path("secret").asText());
            assertThat(Instant.parse(record.path("at").asText())).isEqualTo(THEN);
        }
    }
}
