package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Projects keep apart over HTTP, with real keys: every resource type (models, deployments, keys, inference on the
 * OpenAI and Bedrock APIs) × every role × the caller's own project and another one.
 */
class TenancyApiTest {
    enum Role {
        PROJECT_ADMIN("project-admin"), DEVELOPER("developer"), INVOKER("invoker"), AUDITOR("auditor");

        final String id;

        Role(String id) {
            this.id = id;
        }
    }

    @TempDir
    static Path home;

    static TestFactory factory;
    /** The keys of project alpha by role; beta is "the other project". */
    static final Map<Role, String> alpha = new EnumMap<>(Role.class);
    static final Map<String, String> deployment = new java.util.HashMap<>();
    static final Map<String, String> victimKey = new java.util.HashMap<>();

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home);
        String admin = factory.adminKey();
        for (String p : List.of("alpha", "beta")) {
            assertThat(factory.post("/api/v1/projects", admin, "{\"name\":\"" + p + "\"}").statusCode()).isEqualTo(201);
            HttpResponse<String> imported = factory.post("/api/v1/models/" + p + "/tiny/versions", admin,
                    "{\"path\":\"" + TestModels.tinyLlama().toAbsolutePath() + "\",\"project\":\"" + p + "\"}");
            assertThat(imported.statusCode()).as(imported.body()).isEqualTo(201);
            HttpResponse<String> deployed = factory.post("/api/v1/deployments", admin,
                    "{\"model\":\"" + p + "/tiny\",\"context\":256}");
            assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(202);
            deployment.put(p, json(deployed).path("id").asText());
            victimKey.put(p, json(factory.post("/api/v1/keys", admin,
                    "{\"name\":\"victim\",\"project\":\"" + p + "\",\"role\":\"invoker\"}")).path("id").asText());
        }
        for (Role r : Role.values()) {
            HttpResponse<String> created = factory.post("/api/v1/keys", admin,
                    "{\"name\":\"" + r.id + "\",\"project\":\"alpha\",\"role\":\"" + r.id + "\"}");
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            alpha.put(r, json(created).path("secret").asText());
        }
        for (String p : List.of("alpha", "beta")) {
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofMinutes(2)).until(() -> json(factory.get(
                    "/api/v1/deployments/" + deployment.get(p), admin)).path("state").asText().equals("ready"));
        }
    }

    @AfterAll
    static void stop() {
        factory.close();
    }

    private static boolean worksIn(Role role) {
        return role != Role.AUDITOR;
    }

    private static boolean builds(Role role) {
        return role == Role.PROJECT_ADMIN || role == Role.DEVELOPER;
    }

    /** Records each (role, project, check) whose status differs from the expected one, so one run shows them all. */
    private final List<String> mismatches = new ArrayList<>();

    private void expect(Role role, String project, String what, boolean allowed, int allowedStatus,
                        HttpResponse<String> r) {
        int want = allowed ? allowedStatus : 403;
        if (r.statusCode() != want) {
            mismatches.add(role.id + " on " + project + ": " + what + " answered " + r.statusCode() + ", expected "
                    + want + " (" + r.body() + ")");
        }
    }

    @Test
    void modelsAreSeenAndChangedOnlyFromTheirOwnProject() {
        for (Role role : Role.values()) {
            String key = alpha.get(role);
            for (String p : List.of("alpha", "beta")) {
                boolean own = p.equals("alpha");
                expect(role, p, "read model", own && worksIn(role), 200, factory.get("/api/v1/models/" + p + "/tiny", key));
                // Authorization comes before the body is read: allowed callers get the body's 400, others 403.
                expect(role, p, "upload version", own && builds(role), 415, factory.send(factory
                        .request("/api/v1/models/" + p + "/tiny/versions?filename=x.gguf", key)
                        .PUT(HttpRequest.BodyPublishers.ofString("not a model"))));
                expect(role, p, "classify model", false, 200, factory.send(factory
                        .request("/api/v1/models/" + p + "/tiny", key).header("Content-Type", "application/json")
                        .method("PATCH", HttpRequest.BodyPublishers.ofString("{\"classification\":\"internal\"}"))));
                // Deleting a deployed model is refused with 409 once authorized; nothing is lost either way.
                expect(role, p, "delete model", own && builds(role), 409, factory.send(factory
                        .request("/api/v1/models/" + p + "/tiny", key).DELETE()));
            }
            HttpResponse<String> list = factory.get("/api/v1/models", key);
            if (worksIn(role)) {
                assertThat(json(list).path("models").findValuesAsText("name")).as(role.id)
                        .contains("alpha/tiny", "builtin/all-minilm-l6-v2").doesNotContain("beta/tiny");
            } else {
                assertThat(list.statusCode()).as(role.id).isEqualTo(403);
            }
        }
        assertThat(mismatches).isEmpty();
    }

    @Test
    void deploymentsAreSeenAndMadeOnlyInTheirOwnProject() {
        for (Role role : Role.values()) {
            String key = alpha.get(role);
            for (String p : List.of("alpha", "beta")) {
                boolean own = p.equals("alpha");
                expect(role, p, "read deployment", own && builds(role), 200,
                        factory.get("/api/v1/deployments/" + deployment.get(p), key));
                // An allowed caller reaches the spec check (replicas 0 is refused); others are refused first.
                expect(role, p, "deploy", own && builds(role), 400, factory.post("/api/v1/deployments", key,
                        "{\"model\":\"" + p + "/tiny\",\"replicas\":0}"));
                if (!(own && builds(role))) {
                    expect(role, p, "undeploy", false, 200, factory.send(factory
                            .request("/api/v1/deployments/" + deployment.get(p), key).DELETE()));
                }
            }
            HttpResponse<String> list = factory.get("/api/v1/deployments", key);
            if (builds(role)) {
                assertThat(json(list).path("deployments").findValuesAsText("id")).as(role.id)
                        .contains(deployment.get("alpha")).doesNotContain(deployment.get("beta"));
            } else {
                assertThat(list.statusCode()).as(role.id).isEqualTo(403);
            }
        }
        assertThat(mismatches).isEmpty();
        // The refused deletions left both deployments in place.
        for (String p : List.of("alpha", "beta")) {
            assertThat(json(factory.get("/api/v1/deployments/" + deployment.get(p), factory.adminKey()))
                    .path("state").asText()).isEqualTo("ready");
        }
    }

    @Test
    void developersUndeployInTheirOwnProject() {
        String dev = alpha.get(Role.DEVELOPER);
        HttpResponse<String> created = factory.post("/api/v1/deployments", dev, "{\"model\":\"alpha/tiny\",\"context\":256}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(202);
        assertThat(json(created).path("project").asText()).isEqualTo("alpha");
        String id = json(created).path("id").asText();
        assertThat(factory.send(factory.request("/api/v1/deployments/" + id, alpha.get(Role.INVOKER)).DELETE())
                .statusCode()).isEqualTo(403);
        assertThat(factory.send(factory.request("/api/v1/deployments/" + id, dev).DELETE()).statusCode()).isEqualTo(200);
        assertThat(factory.get("/api/v1/deployments/" + id, dev).statusCode()).isEqualTo(404);
    }

    @Test
    void keysAreManagedByProjectAdminsOfTheirOwnProjectOnly() {
        for (Role role : Role.values()) {
            String key = alpha.get(role);
            for (String p : List.of("alpha", "beta")) {
                boolean own = p.equals("alpha");
                boolean manages = own && role == Role.PROJECT_ADMIN;
                expect(role, p, "create key", manages, 201, factory.post("/api/v1/keys", key,
                        "{\"name\":\"made-by-" + role.id + "\",\"project\":\"" + p + "\",\"role\":\"invoker\"}"));
                if (!manages) {
                    expect(role, p, "revoke key", false, 200, factory.send(factory
                            .request("/api/v1/keys/" + victimKey.get(p), key).DELETE()));
                }
            }
            HttpResponse<String> list = factory.get("/api/v1/keys", key);
            if (role == Role.PROJECT_ADMIN) {
                assertThat(json(list).path("keys").findValuesAsText("project")).as(role.id).containsOnly("alpha");
            } else {
                assertThat(list.statusCode()).as(role.id).isEqualTo(403);
            }
        }
        assertThat(mismatches).isEmpty();
        String pa = alpha.get(Role.PROJECT_ADMIN);
        assertThat(factory.post("/api/v1/keys", pa, "{\"name\":\"escalate\",\"role\":\"admin\"}").statusCode())
                .as("a project admin never makes an admin key").isEqualTo(403);
        assertThat(factory.post("/api/v1/keys", pa, "{\"name\":\"snoop\",\"role\":\"auditor\"}").statusCode())
                .as("nor an auditor key, which reads every project's trail").isEqualTo(403);
        HttpResponse<String> made = factory.post("/api/v1/keys", pa, "{\"name\":\"dev2\",\"role\":\"developer\"}");
        assertThat(json(made).path("project").asText()).as("the caller's project by default").isEqualTo("alpha");
        assertThat(factory.send(factory.request("/api/v1/keys/" + json(made).path("id").asText(), pa).DELETE())
                .statusCode()).isEqualTo(200);
        assertThat(factory.get("/api/v1/models", json(made).path("secret").asText()).statusCode()).isEqualTo(401);
        assertThat(factory.post("/api/v1/keys", pa, "{\"name\":\"lost\",\"project\":\"nowhere\"}").statusCode())
                .isEqualTo(404);
    }

    @Test
    void inferenceReachesOnlyTheModelsOfTheCallersProject() {
        for (Role role : Role.values()) {
            String key = alpha.get(role);
            for (String p : List.of("alpha", "beta")) {
                boolean allowed = p.equals("alpha") && worksIn(role);
                expect(role, p, "chat", allowed, 200, factory.post("/v1/chat/completions", key,
                        "{\"model\":\"" + p + "/tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2}"));
                expect(role, p, "completion", allowed, 200, factory.post("/v1/completions", key,
                        "{\"model\":\"" + p + "/tiny\",\"prompt\":\"hi\",\"max_tokens\":2}"));
                HttpResponse<String> converse = factory.post("/model/" + URLEncoder.encode(p + "/tiny",
                                StandardCharsets.UTF_8) + "/converse", key,
                        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"hi\"}]}],\"inferenceConfig\":{\"maxTokens\":2}}");
                expect(role, p, "converse", allowed, 200, converse);
                if (!allowed) {
                    assertThat(converse.headers().firstValue("x-amzn-ErrorType").orElse(""))
                            .startsWith("AccessDeniedException");
                }
                expect(role, p, "list openai model", allowed, 200, factory.get("/v1/models/" + p + "/tiny", key));
            }
            expect(role, "default", "embed with the shared model", worksIn(role), 200, factory.post("/v1/embeddings",
                    key, "{\"model\":\"builtin/all-minilm-l6-v2\",\"input\":\"hi\"}"));
        }
        assertThat(mismatches).isEmpty();
        HttpResponse<String> denied = factory.post("/v1/chat/completions", alpha.get(Role.INVOKER),
                "{\"model\":\"beta/tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(json(denied).at("/error/type").asText()).isEqualTo("permission_error");
        assertThat(json(factory.get("/v1/models", alpha.get(Role.INVOKER))).path("data").findValuesAsText("id"))
                .contains("alpha/tiny").doesNotContain("beta/tiny");
    }

    @Test
    void siteAdminsActInEveryProject() {
        String admin = factory.adminKey();
        assertThat(factory.get("/api/v1/models/beta/tiny", admin).statusCode()).isEqualTo(200);
        assertThat(factory.get("/api/v1/deployments/" + deployment.get("beta"), admin).statusCode()).isEqualTo(200);
        assertThat(factory.post("/v1/chat/completions", admin, "{\"model\":\"beta/tiny\",\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2}").statusCode()).isEqualTo(200);
        assertThat(json(factory.get("/api/v1/keys", admin)).path("keys").findValuesAsText("project"))
                .contains("alpha", "beta", "default");
    }

    @Test
    void restrictedModelsAreInvokedOnlyFromTheirOwnProjectOnceTheSitePolicySaysSo() {
        String admin = factory.adminKey();
        factory.post("/api/v1/projects", admin, "{\"name\":\"secret\"}");
        HttpResponse<String> imported = factory.post("/api/v1/models/secret/tiny/versions", admin,
                "{\"path\":\"" + TestModels.tinyLlama().toAbsolutePath() + "\",\"project\":\"secret\"}");
        assertThat(imported.statusCode()).as(imported.body()).isEqualTo(201);
        factory.deployGguf("secret/tiny", TestModels.tinyLlama(), "\"context\": 256");
        String insider = json(factory.post("/api/v1/keys", admin,
                "{\"name\":\"insider\",\"project\":\"secret\",\"role\":\"invoker\"}")).path("secret").asText();
        String chat = "{\"model\":\"secret/tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2}";
        HttpResponse<String> classified = factory.send(factory.request("/api/v1/models/secret/tiny", admin)
                .header("Content-Type", "application/json")
                .method("PATCH", HttpRequest.BodyPublishers.ofString("{\"classification\":\"restricted\"}")));
        assertThat(json(classified).path("classification").asText()).isEqualTo("restricted");
        assertThat(factory.post("/v1/chat/completions", admin, chat).statusCode()).as("no site policy yet").isEqualTo(200);

        HttpResponse<String> added = factory.post("/api/v1/policies", admin, "{\"policy\":"
                + ai.factory.Json.mapper().valueToTree(ai.factory.security.AuthorizerTest.RESTRICTED) + "}");
        assertThat(added.statusCode()).as(added.body()).isEqualTo(201);
        String policyId = json(added).path("id").asText();

        assertThat(factory.post("/v1/chat/completions", admin, chat).statusCode()).isEqualTo(403);
        assertThat(factory.post("/v1/chat/completions", insider, chat).statusCode()).isEqualTo(200);
        assertThat(factory.post("/model/secret%2Ftiny/converse", admin,
                "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"hi\"}]}]}").statusCode()).isEqualTo(403);
        assertThat(json(factory.get("/api/v1/policies", admin)).path("policies").findValuesAsText("id")).contains(policyId);

        assertThat(factory.send(factory.request("/api/v1/policies/" + policyId, admin).DELETE()).statusCode())
                .isEqualTo(200);
        assertThat(factory.post("/v1/chat/completions", admin, chat).statusCode()).isEqualTo(200);
    }

    @Test
    void badPoliciesAreRefusedWithCedarsMessage() {
        String admin = factory.adminKey();
        record Case(String body, String message) {}
        for (Case c : List.of(
                new Case("{\"policy\":\"permit (principal, action, resource\"}", "does not parse"),
                new Case("{\"policy\":\"forbid (principal, action == Action::\\\"fly\\\", resource);\"}", "fly"),
                new Case("{\"policy\":\"forbid (principal, action, resource is Model) when { resource.colour == 1 };\"}",
                        "colour"),
                new Case("{\"policy\":\"\"}", "empty"),
                new Case("{\"policy\": 42}", "'policy' is required"),
                new Case("{}", "'policy' is required"),
                new Case("{\"policy\": ", "not valid JSON"),
                new Case("[1]", "JSON object"))) {
            HttpResponse<String> r = factory.post("/api/v1/policies", admin, c.body());
            assertThat(r.statusCode()).as(c.body()).isEqualTo(400);
            assertThat(json(r).at("/error/message").asText()).as(c.body()).contains(c.message());
        }
        assertThat(factory.post("/api/v1/policies", alpha.get(Role.PROJECT_ADMIN),
                "{\"policy\":\"permit (principal, action, resource);\"}").statusCode()).isEqualTo(403);
        assertThat(factory.get("/api/v1/policies/pol-none", admin).statusCode()).isEqualTo(404);
        assertThat(factory.send(factory.request("/api/v1/policies/pol-none", admin).DELETE()).statusCode()).isEqualTo(404);
        assertThat(json(factory.get("/api/v1/policies", admin)).path("policies").size()).isZero();
        assertThat(json(factory.get("/api/v1/policies/schema", admin)).path("schema").asText()).contains("entity Model");
        assertThat(factory.get("/health/ready", null).statusCode()).isEqualTo(200);
    }

    @Test
    void badProjectRequestsAreRefused() {
        String admin = factory.adminKey();
        assertThat(factory.post("/api/v1/projects", admin, "{\"name\":\"Bad Name!\"}").statusCode()).isEqualTo(400);
        assertThat(factory.post("/api/v1/projects", admin, "{\"name\":\"" + "x".repeat(64) + "\"}").statusCode()).isEqualTo(400);
        assertThat(factory.post("/api/v1/projects", admin, "{}").statusCode()).isEqualTo(400);
        assertThat(factory.post("/api/v1/projects", admin, "{\"name\": 7}").statusCode()).isEqualTo(400);
        assertThat(factory.post("/api/v1/projects", admin, "{\"name\":").statusCode()).isEqualTo(400);
        assertThat(factory.post("/api/v1/projects", admin, "{\"name\":\"alpha\"}").statusCode()).isEqualTo(409);
        assertThat(factory.get("/api/v1/projects/nowhere", admin).statusCode()).isEqualTo(404);
        assertThat(factory.get("/api/v1/projects/Bad%20Name", admin).statusCode()).isEqualTo(400);
        assertThat(factory.send(factory.request("/api/v1/projects/default", admin).DELETE()).statusCode()).isEqualTo(409);
        assertThat(factory.send(factory.request("/api/v1/projects/nowhere", admin).DELETE()).statusCode()).isEqualTo(404);
        for (Role r : Role.values()) {
            assertThat(factory.post("/api/v1/projects", alpha.get(r), "{\"name\":\"mine\"}").statusCode()).isEqualTo(403);
            assertThat(factory.get("/api/v1/projects", alpha.get(r)).statusCode()).isEqualTo(403);
            assertThat(factory.send(factory.request("/api/v1/projects/beta", alpha.get(r)).DELETE()).statusCode())
                    .isEqualTo(403);
        }
        assertThat(factory.get("/api/v1/projects", null).statusCode()).isEqualTo(401);
        assertThat(json(factory.get("/api/v1/projects", admin)).path("projects").findValuesAsText("name"))
                .contains("default", "alpha", "beta").doesNotContain("mine");
        // Bad classification at import and by PATCH.
        assertThat(factory.send(factory.request("/api/v1/models/alpha/tiny", admin).header("Content-Type", "application/json")
                .method("PATCH", HttpRequest.BodyPublishers.ofString("{\"classification\":\"Top Secret\"}"))).statusCode())
                .isEqualTo(400);
        assertThat(factory.send(factory.request("/api/v1/models/alpha/tiny", admin).header("Content-Type", "application/json")
                .method("PATCH", HttpRequest.BodyPublishers.ofString("{}"))).statusCode()).isEqualTo(400);
        assertThat(factory.send(factory.request("/api/v1/models/alpha/none", admin).header("Content-Type", "application/json")
                .method("PATCH", HttpRequest.BodyPublishers.ofString("{\"classification\":\"internal\"}"))).statusCode())
                .isEqualTo(404);
        assertThat(factory.post("/api/v1/models/acme/x/versions", admin, "{\"path\":\""
                + TestModels.tinyLlama().toAbsolutePath() + "\",\"project\":\"nowhere\"}").statusCode()).isEqualTo(404);
        assertThat(factory.post("/api/v1/models/acme/x/versions", admin, "{\"path\":\""
                + TestModels.tinyLlama().toAbsolutePath() + "\",\"classification\":\"NO\"}").statusCode()).isEqualTo(400);
        assertThat(factory.get("/api/v1/models/acme/x", admin).statusCode()).as("nothing half-written").isEqualTo(404);
    }

    @Test
    void deletingAProjectRemovesWhatItOwns() throws java.io.IOException {
        String admin = factory.adminKey();
        assertThat(factory.post("/api/v1/projects", admin, "{\"name\":\"gamma\"}").statusCode()).isEqualTo(201);
        String dev = json(factory.post("/api/v1/keys", admin,
                "{\"name\":\"dev\",\"project\":\"gamma\",\"role\":\"developer\"}")).path("secret").asText();
        HttpResponse<String> up = factory.send(factory.request("/api/v1/models/gamma/tiny/versions?filename=t.gguf", dev)
                .PUT(HttpRequest.BodyPublishers.ofFile(TestModels.tinyLlama())));
        assertThat(up.statusCode()).as(up.body()).isEqualTo(201);
        assertThat(json(factory.get("/api/v1/models/gamma/tiny", dev)).path("project").asText()).isEqualTo("gamma");
        String dep = json(factory.post("/api/v1/deployments", dev, "{\"model\":\"gamma/tiny\",\"context\":256}"))
                .path("id").asText();

        HttpResponse<String> deleted = factory.send(factory.request("/api/v1/projects/gamma", admin).DELETE());
        assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(200);
        JsonNode d = json(deleted);
        assertThat(d.path("undeployed").toString()).contains(dep);
        assertThat(d.path("modelsDeleted").toString()).contains("gamma/tiny");
        assertThat(d.path("keysRevoked").asInt()).isEqualTo(1);
        assertThat(factory.get("/api/v1/models", dev).statusCode()).isEqualTo(401);
        assertThat(factory.get("/api/v1/models/gamma/tiny", admin).statusCode()).isEqualTo(404);
        assertThat(factory.get("/api/v1/deployments/" + dep, admin).statusCode()).isEqualTo(404);
        assertThat(factory.get("/api/v1/projects/gamma", admin).statusCode()).isEqualTo(404);
    }
}
