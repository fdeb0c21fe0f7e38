package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.security.Action;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every route the server holds asks the authorizer: read from Javalin's own router, each endpoint carries an action
 * (only the health probes, the OpenAPI documents, a worker's join, which its join token authenticates, and
 * people's sign-in, which checks its own session cookie, are public), and a key of a site-wide reading role (an auditor, a
 * Prometheus scraper's metrics key) is refused on every route but its own rights, on the OpenAI, Bedrock and
 * management APIs alike.
 */
@ServerTest
class RouteGuardTest {
    @TempDir
    Path home;

    @Test
    void everyRouteIsGuardedAndRefusesACallerWithoutTheRight() {
        try (TestFactory factory = TestFactory.start(home)) {
            List<ApiServer.RouteInfo> routes = factory.factory().routes();
            assertThat(routes).hasSizeGreaterThan(30);
            assertThat(routes.stream().filter(ApiServer.RouteInfo::isPublic).map(r -> r.method() + " " + r.path()))
                    .containsExactlyInAnyOrder("GET /health/live", "GET /health/ready",
                            "GET /api/v1/openapi.json", "GET /v1/openapi.json", "POST /cluster/v1/join",
                            "GET /auth/login", "GET /auth/callback", "GET /auth/session", "POST /auth/logout",
                            "GET /auth/cli", "GET /console", "GET /console/<file>");
            assertThat(routes.stream().filter(r -> !r.isPublic() && r.action().isEmpty())).isEmpty();
            assertThat(routes.stream().map(r -> r.path()))
                    .contains("/v1/chat/completions", "/model/{modelId}/converse", "/api/v1/projects", "/api/v1/policies",
                            "/metrics", "/api/v1/datasets", "/api/v1/datasets/{namespace}/{name}",
                            "/model-customization-jobs", "/model-customization-jobs/{jobIdentifier}",
                            "/model-customization-jobs/{jobIdentifier}/stop", "/custom-models",
                            "/custom-models/{modelIdentifier}");

            Map<String, Set<Action>> rights = Map.of(
                    "auditor", Set.of(Action.READ_AUDIT, Action.READ_USAGE, Action.READ_METRICS, Action.READ_SELF,
                            Action.READ_QUOTAS),
                    "metrics", Set.of(Action.READ_METRICS, Action.READ_SELF));
            for (var role : rights.entrySet()) {
                String key = json(factory.post("/api/v1/keys", factory.adminKey(),
                        "{\"name\":\"" + role.getKey() + "\",\"role\":\"" + role.getKey() + "\"}")).path("secret").asText();
                List<String> unrefused = new ArrayList<>();
                for (ApiServer.RouteInfo r : routes) {
                    if (r.isPublic() || role.getValue().contains(r.action().orElseThrow())) {
                        continue;
                    }
                    String path = r.path().replaceAll("\\{[^}]+}|<[^>]+>", "x");
                    HttpResponse<String> answer = factory.send(factory.request(path, key)
                            .header("Content-Type", "application/json")
                            .method(r.method(), HttpRequest.BodyPublishers.ofString("{}")));
                    if (answer.statusCode() != 403) {
                        unrefused.add(r.method() + " " + r.path() + " -> " + answer.statusCode());
                    }
                }
                assertThat(unrefused).as(role.getKey()).isEmpty();
                assertThat(factory.get("/metrics", key).statusCode()).as(role.getKey()).isEqualTo(200);
            }
            assertThat(factory.get("/health/live", null).statusCode()).isEqualTo(200);
            HttpResponse<String> join = factory.post("/cluster/v1/join", null, "{}");
            assertThat(join.statusCode()).as("a join without a token joins nothing: " + join.body()).isIn(400, 409);
            HttpResponse<String> signIn = factory.get("/auth/login", null);
            assertThat(signIn.statusCode()).as("sign-in where none is set up: " + signIn.body()).isEqualTo(404);
            assertThat(signIn.body()).contains("auth.oidc.clientId");
            assertThat(factory.get("/auth/session", null).statusCode()).isEqualTo(404);
            HttpResponse<String> cli = factory.get("/auth/cli", null);
            assertThat(cli.statusCode()).isEqualTo(404);
            assertThat(cli.body()).contains("auth.oidc.cliClientId", "--key");
        }
    }
}
