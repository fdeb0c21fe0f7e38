package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.TestFactory;
import ai.factory.security.Action;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every route the server holds asks the authorizer: read from Javalin's own router, each endpoint carries an action
 * (only the health probes and metrics are public), and a key whose role may do nothing but read the audit trail is
 * refused on every one of them, on the OpenAI, Bedrock and management APIs alike.
 */
class RouteGuardTest {
    @TempDir
    Path home;

    @Test
    void everyRouteIsGuardedAndRefusesACallerWithoutTheRight() {
        try (TestFactory factory = TestFactory.start(home)) {
            List<ApiServer.RouteInfo> routes = factory.factory().routes();
            assertThat(routes).hasSizeGreaterThan(30);
            assertThat(routes.stream().filter(ApiServer.RouteInfo::isPublic).map(r -> r.method() + " " + r.path()))
                    .containsExactlyInAnyOrder("GET /health/live", "GET /health/ready", "GET /metrics",
                            "GET /api/v1/openapi.json", "GET /v1/openapi.json");
            assertThat(routes.stream().filter(r -> !r.isPublic() && r.action().isEmpty())).isEmpty();
            assertThat(routes.stream().map(r -> r.path()))
                    .contains("/v1/chat/completions", "/model/{modelId}/converse", "/api/v1/projects", "/api/v1/policies");

            String auditor = json(factory.post("/api/v1/keys", factory.adminKey(),
                    "{\"name\":\"auditor\",\"role\":\"auditor\"}")).path("secret").asText();
            List<String> unrefused = new ArrayList<>();
            for (ApiServer.RouteInfo r : routes) {
                // The auditor's own rights: reading the trail and usage.
                if (r.isPublic() || r.action().orElseThrow() == Action.READ_AUDIT
                        || r.action().orElseThrow() == Action.READ_USAGE) {
                    continue;
                }
                String path = r.path().replaceAll("\\{[^}]+}|<[^>]+>", "x");
                HttpResponse<String> answer = factory.send(factory.request(path, auditor)
                        .header("Content-Type", "application/json")
                        .method(r.method(), HttpRequest.BodyPublishers.ofString("{}")));
                if (answer.statusCode() != 403) {
                    unrefused.add(r.method() + " " + r.path() + " -> " + answer.statusCode());
                }
            }
            assertThat(unrefused).isEmpty();
            assertThat(factory.get("/health/live", null).statusCode()).isEqualTo(200);
            // Metrics need a key, as before, but no particular right.
            assertThat(factory.get("/metrics", auditor).statusCode()).isEqualTo(200);
        }
    }
}
