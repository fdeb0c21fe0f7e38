package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.ServerTest;
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
 * OpenAI and Bedrock APIs) × every role × the caller's own project and another one. What another project holds
 * answers exactly as what does not exist (404, byte for byte), so no answer confirms it; a role refused an action in
 * its own project gets 403, which tells nothing either.
 */
@ServerTest
class TenancyApiTest {
    enum Role {
        PROJECT_ADMIN("project-admin"), DEVELOPER("developer"), INVOKER("invoker"), AUDITOR("auditor"),
        METRICS("metrics");

        final String id;

        Role(String id) {
            this.id = id;
        }
    }

    @TempDir
    static Path home;
    @TempDir
    static Path importRoot;

    static TestFactory factory;
    /** The keys of project alpha by role; beta is "the other project". */
    static final Map<Role, String> alpha = new EnumMap<>(Role.class);
    static final Map<String, String> deployment = new java.util.HashMap<>();
    static final Map<String, String> victimKey = new java.util.HashMap<>();
    /** Beta's things that are neither models nor deployments: an imported model, an import job, a kept response. */
    static String betaImportJob;
    static String betaResponse;

    @BeforeAll
    static void start() throws java.io.IOException {
        java.nio.file.Files.writeString(importRoot.resolve("garbage.gguf"), "not a GGUF file");
        factory = TestFactory.start(home, TestFactory.withBuiltin(Map.of(ai.factory.config.Setting.IMPORT_ROOT, importRoot.toString())));
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
        // Beta's Bedrock imports (a model under imported/, a job) and a response it keeps (it logs content).
        HttpResponse<String> imported = factory.post("/api/v1/models/imported/betaimp/versions", admin,
                "{\"path\":\"" + TestModels.tinyLlama().toAbsolutePath() + "\",\"project\":\"beta\"}");
        assertThat(imported.statusCode()).as(imported.body()).isEqualTo(201);
        String betaDeveloper = json(factory.post("/api/v1/keys", admin,
                "{\"name\":\"beta-dev\",\"project\":\"beta\",\"role\":\"developer\"}")).path("secret").asText();
        HttpResponse<String> job = factory.post("/model-import-jobs", betaDeveloper, "{\"jobName\":\"beta-job\","
                + "\"importedModelName\":\"beta-garbage\",\"roleArn\":\"arn:aws:iam::0:role/r\",\"modelDataSource\":"
                + "{\"s3DataSource\":{\"s3Uri\":\"file://" + importRoot.resolve("garbage.gguf") + "\"}}}");
        assertThat(job.statusCode()).as(job.body()).isEqualTo(201);
        String jobArn = json(job).path("jobArn").asText();
        betaImportJob = jobArn.substring(jobArn.lastIndexOf('/') + 1);
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofMinutes(1)).until(() -> json(factory.get(
                "/model-import-jobs/" + betaImportJob, betaDeveloper)).path("status").asText().equals("Failed"));
        assertThat(factory.send(factory.request("/api/v1/projects/beta", admin).header("Content-Type", "application/json")
                .method("PATCH", HttpRequest.BodyPublishers.ofString("{\"contentLogging\":true}"))).statusCode())
                .isEqualTo(200);
        HttpResponse<String> kept = factory.post("/v1/responses", betaDeveloper,
                "{\"model\":\"beta/tiny\",\"input\":\"hi\",\"max_output_tokens\":2}");
        assertThat(json(kept).path("store").asBoolean()).as(kept.body()).isTrue();
        betaResponse = json(kept).path("id").asText();
        assertThat(factory.get("/v1/responses/" + betaResponse, betaDeveloper).statusCode()).isEqualTo(200);
    }

    @AfterAll
    static void stop() {
        factory.close();
    }

    /** Roles that work with a project's models at all (auditors and metrics keys read site-wide records only). */
    private static boolean worksIn(Role role) {
        return role != Role.AUDITOR && role != Role.METRICS;
    }

    private static boolean builds(Role role) {
        return role == Role.PROJECT_ADMIN || role == Role.DEVELOPER;
    }

    /** Records each (role, project, check) whose status differs from the expected one, so one run shows them all. */
    private final List<String> mismatches = new ArrayList<>();

    /**
     * What a caller whose role may do an action in its own project ({@code roleMay}) is answered on {@code project}:
     * the allowed status in its own project; 404 in another, as if nothing were there; 403 where its role may not do
     * it at all, whichever project it names.
     */
    private static int answer(boolean roleMay, String project, int allowedStatus) {
        return !roleMay ? 403 : project.equals("alpha") ? allowedStatus : 404;
    }

    private void expect(Role role, String project, String what, int want, HttpResponse<String> r) {
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
                expect(role, p, "read model", answer(worksIn(role), p, 200),
                        factory.get("/api/v1/models/" + p + "/tiny", key));
                // Authorization comes before the body is read: allowed callers get the body's 415, others 403; a
                // name another project's model holds is taken (409), which says nothing of whose it is.
                expect(role, p, "upload version", builds(role) ? (p.equals("alpha") ? 415 : 409) : 403, factory.send(
                        factory.request("/api/v1/models/" + p + "/tiny/versions?filename=x.gguf", key)
                        .PUT(HttpRequest.BodyPublishers.ofString("not a model"))));
                expect(role, p, "classify model", 403, factory.send(factory
                        .request("/api/v1/models/" + p + "/tiny", key).header("Content-Type", "application/json")
                        .method("PATCH", HttpRequest.BodyPublishers.ofString("{\"classification\":\"internal\"}"))));
                // Deleting a deployed model is refused with 409 once authorized; nothing is lost either way.
                expect(role, p, "delete model", answer(builds(role), p, 409), factory.send(factory
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
                expect(role, p, "read deployment", answer(builds(role), p, 200),
                        factory.get("/api/v1/deployments/" + deployment.get(p), key));
                // An allowed caller reaches the spec check (replicas 0 is refused); others are refused first.
                expect(role, p, "deploy", answer(builds(role), p, 400), factory.post("/api/v1/deployments", key,
                        "{\"model\":\"" + p + "/tiny\",\"replicas\":0}"));
                if (!(own && builds(role))) {
                    expect(role, p, "undeploy", answer(builds(role), p, 200), factory.send(factory
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
                boolean managesKeys = role == Role.PROJECT_ADMIN;
                expect(role, p, "create key", answer(managesKeys, p, 201), factory.post("/api/v1/keys", key,
                        "{\"name\":\"made-by-" + role.id + "\",\"project\":\"" + p + "\",\"role\":\"invoker\"}"));
                if (!(own && managesKeys)) {
                    expect(role, p, "revoke key", answer(managesKeys, p, 200), factory.send(factory
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
        assertThat(factory.post("/api/v1/keys", pa, "{\"name\":\"scrape\",\"role\":\"metrics\"}").statusCode())
                .as("nor a metrics key, which reads every project's traffic").isEqualTo(403);
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
                int want = answer(worksIn(role), p, 200);
                expect(role, p, "chat", want, factory.post("/v1/chat/completions", key,
                        "{\"model\":\"" + p + "/tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2}"));
                expect(role, p, "completion", want, factory.post("/v1/completions", key,
                        "{\"model\":\"" + p + "/tiny\",\"prompt\":\"hi\",\"max_tokens\":2}"));
                HttpResponse<String> converse = factory.post("/model/" + URLEncoder.encode(p + "/tiny",
                                StandardCharsets.UTF_8) + "/converse", key,
                        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"hi\"}]}],\"inferenceConfig\":{\"maxTokens\":2}}");
                expect(role, p, "converse", want, converse);
                if (want != 200) {
                    assertThat(converse.headers().firstValue("x-amzn-ErrorType").orElse(""))
                            .startsWith(want == 404 ? "ResourceNotFoundException" : "AccessDeniedException");
                }
                expect(role, p, "list openai model", want, factory.get("/v1/models/" + p + "/tiny", key));
            }
            expect(role, "default", "embed with the shared model", worksIn(role) ? 200 : 403,
                    factory.post("/v1/embeddings", key, "{\"model\":\"builtin/all-minilm-l6-v2\",\"input\":\"hi\"}"));
        }
        assertThat(mismatches).isEmpty();
        HttpResponse<String> denied = factory.post("/v1/chat/completions", alpha.get(Role.INVOKER),
                "{\"model\":\"beta/tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(json(denied).at("/error/type").asText()).isEqualTo("invalid_request_error");
        assertThat(json(denied).at("/error/code").asText()).isEqualTo("model_not_found");
        assertThat(json(factory.get("/v1/models", alpha.get(Role.INVOKER))).path("data").findValuesAsText("id"))
                .contains("alpha/tiny").doesNotContain("beta/tiny");
    }

    @Test
    void metricsAreReadBySiteWideRolesOnly() {
        String admin = factory.adminKey();
        // The metrics name every project's models and count their calls.
        assertThat(factory.post("/v1/completions", admin, "{\"model\":\"beta/tiny\",\"prompt\":\"hi\",\"max_tokens\":1}")
                .statusCode()).isEqualTo(200);
        String scraper = json(factory.post("/api/v1/keys", admin, "{\"name\":\"prom\",\"role\":\"metrics\"}"))
                .path("secret").asText();
        for (String key : List.of(admin, scraper, alpha.get(Role.AUDITOR), alpha.get(Role.METRICS))) {
            HttpResponse<String> metrics = factory.get("/metrics", key);
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
            assertThat(metrics.body()).contains("factory_http_requests_seconds_count").contains("beta/tiny");
        }
        for (Role role : List.of(Role.PROJECT_ADMIN, Role.DEVELOPER, Role.INVOKER)) {
            HttpResponse<String> refused = factory.get("/metrics", alpha.get(role));
            assertThat(refused.statusCode()).as(role.id).isEqualTo(403);
            assertThat(refused.body()).as(role.id).doesNotContain("beta/tiny");
        }
        assertThat(factory.get("/metrics", null).statusCode()).isEqualTo(401);
        assertThat(factory.get("/metrics", "fk_not-a-key").statusCode()).isEqualTo(401);
        // A metrics key reads nothing else.
        assertThat(factory.get("/api/v1/models", scraper).statusCode()).isEqualTo(403);
        assertThat(factory.get("/api/v1/audit", scraper).statusCode()).isEqualTo(403);
        assertThat(factory.post("/v1/embeddings", scraper, "{\"model\":\"builtin/all-minilm-l6-v2\",\"input\":\"hi\"}")
                .statusCode()).isEqualTo(403);
        // The probes stay open.
        assertThat(factory.get("/health/live", null).statusCode()).isEqualTo(200);
        assertThat(factory.get("/health/ready", null).statusCode()).isEqualTo(200);
    }

    /**
     * One request made twice by the same caller: naming another project's resource and naming one that does not
     * exist. The two answers must be the same bytes (status, the Bedrock error type, the body) once the name is
     * replaced by a placeholder, and a 404 (or, where the name does not matter, the same refusal).
     */
    private record Probe(String what, String key, String theirs, String missing, int status,
                         java.util.function.Function<String, HttpResponse<String>> call) {}

    private static String seen(HttpResponse<String> r, String name) {
        return r.statusCode() + " " + r.headers().firstValue("x-amzn-ErrorType").orElse("-") + " "
                + r.headers().firstValue("Content-Type").orElse("-") + " " + r.body().replace(name, "NAME")
                .replace(URLEncoder.encode(name, StandardCharsets.UTF_8), "NAME");
    }

    private static String enc(String name) {
        return URLEncoder.encode(name, StandardCharsets.UTF_8);
    }

    @Test
    void anotherProjectsResourcesAnswerExactlyAsMissingOnes() {
        String dev = alpha.get(Role.DEVELOPER);
        String inv = alpha.get(Role.INVOKER);
        String pa = alpha.get(Role.PROJECT_ADMIN);
        String chat = "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2}";
        String converse = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"hi\"}]}]}";
        List<Probe> probes = List.of(
                // Management API
                new Probe("show model", dev, "beta/tiny", "beta/nothing", 404,
                        n -> factory.get("/api/v1/models/" + n, dev)),
                new Probe("show version", dev, "beta/tiny", "beta/nothing", 404,
                        n -> factory.get("/api/v1/models/" + n + "/versions/1", dev)),
                new Probe("plan", dev, "beta/tiny", "beta/nothing", 404,
                        n -> factory.get("/api/v1/models/" + n + "/plan", dev)),
                new Probe("delete version", dev, "beta/tiny", "beta/nothing", 404,
                        n -> factory.send(factory.request("/api/v1/models/" + n + "/versions/1", dev).DELETE())),
                new Probe("delete model", dev, "beta/tiny", "beta/nothing", 404,
                        n -> factory.send(factory.request("/api/v1/models/" + n, dev).DELETE())),
                new Probe("deploy", dev, "beta/tiny", "beta/nothing", 404,
                        n -> factory.post("/api/v1/deployments", dev, "{\"model\":\"" + n + "\",\"context\":256}")),
                new Probe("show deployment", dev, deployment.get("beta"), "dep-nothing", 404,
                        n -> factory.get("/api/v1/deployments/" + n, dev)),
                new Probe("undeploy", dev, deployment.get("beta"), "dep-nothing", 404,
                        n -> factory.send(factory.request("/api/v1/deployments/" + n, dev).DELETE())),
                new Probe("revoke key", pa, victimKey.get("beta"), "key-nothing", 404,
                        n -> factory.send(factory.request("/api/v1/keys/" + n, pa).DELETE())),
                new Probe("create key in project", pa, "beta", "nowhere", 404,
                        n -> factory.post("/api/v1/keys", pa, "{\"name\":\"x\",\"project\":\"" + n + "\"}")),
                new Probe("import into project", dev, "beta", "nowhere", 404, n -> factory.send(factory
                        .request("/api/v1/models/alpha/fresh/versions?filename=x.gguf&project=" + n, dev)
                        .PUT(HttpRequest.BodyPublishers.ofString("not a model")))),
                // Usage names no resource: another project's and a missing one are refused alike.
                new Probe("usage of project", pa, "beta", "nowhere", 403,
                        n -> factory.get("/api/v1/usage?project=" + n, pa)),
                // OpenAI API
                new Probe("retrieve model", inv, "beta/tiny", "beta/nothing", 404,
                        n -> factory.get("/v1/models/" + n, inv)),
                new Probe("chat completion", inv, "beta/tiny", "beta/nothing", 404,
                        n -> factory.post("/v1/chat/completions", inv, chat.formatted(n))),
                new Probe("streamed chat completion", inv, "beta/tiny", "beta/nothing", 404,
                        n -> factory.post("/v1/chat/completions", inv, chat.formatted(n).replaceFirst("\\{", "{\"stream\":true,"))),
                new Probe("completion", inv, "beta/tiny", "beta/nothing", 404, n -> factory.post("/v1/completions",
                        inv, "{\"model\":\"" + n + "\",\"prompt\":\"hi\",\"max_tokens\":2}")),
                new Probe("embeddings", inv, "beta/tiny", "beta/nothing", 404,
                        n -> factory.post("/v1/embeddings", inv, "{\"model\":\"" + n + "\",\"input\":\"hi\"}")),
                new Probe("response", inv, "beta/tiny", "beta/nothing", 404, n -> factory.post("/v1/responses", inv,
                        "{\"model\":\"" + n + "\",\"input\":\"hi\",\"max_output_tokens\":2}")),
                new Probe("kept response", inv, betaResponse, "resp_nothing", 404,
                        n -> factory.get("/v1/responses/" + n, inv)),
                new Probe("delete kept response", inv, betaResponse, "resp_nothing", 404,
                        n -> factory.send(factory.request("/v1/responses/" + n, inv).DELETE())),
                new Probe("continue kept response", inv, betaResponse, "resp_nothing", 404,
                        n -> factory.post("/v1/responses", inv, "{\"model\":\"alpha/tiny\",\"input\":\"hi\","
                                + "\"previous_response_id\":\"" + n + "\"}")),
                // Bedrock runtime and control plane
                new Probe("converse", inv, "beta/tiny", "beta/nothing", 404,
                        n -> factory.post("/model/" + enc(n) + "/converse", inv, converse)),
                new Probe("converse stream", inv, "beta/tiny", "beta/nothing", 404,
                        n -> factory.post("/model/" + enc(n) + "/converse-stream", inv, converse)),
                new Probe("invoke", inv, "beta/tiny", "beta/nothing", 404,
                        n -> factory.post("/model/" + enc(n) + "/invoke", inv, "{\"prompt\":\"hi\",\"max_gen_len\":2}")),
                new Probe("invoke stream", inv, "beta/tiny", "beta/nothing", 404, n -> factory.post("/model/"
                        + enc(n) + "/invoke-with-response-stream", inv, "{\"prompt\":\"hi\",\"max_gen_len\":2}")),
                new Probe("converse by imported ARN", inv, "betaimp", "nothing", 404, n -> factory.post("/model/"
                        + enc("arn:aws:bedrock:us-east-1:000000000000:imported-model/imported/" + n) + "/converse",
                        inv, converse)),
                new Probe("get foundation model", inv, "beta/tiny", "beta/nothing", 404,
                        n -> factory.get("/foundation-models/" + enc(n), inv)),
                new Probe("get imported model", dev, "betaimp", "nothing", 404,
                        n -> factory.get("/imported-models/" + n, dev)),
                new Probe("delete imported model", dev, "betaimp", "nothing", 404,
                        n -> factory.send(factory.request("/imported-models/" + n, dev).DELETE())),
                new Probe("get model import job", dev, betaImportJob, "jobnothing00", 404,
                        n -> factory.get("/model-import-jobs/" + n, dev)));
        List<String> differences = new ArrayList<>();
        for (Probe p : probes) {
            String theirs = seen(p.call().apply(p.theirs()), p.theirs());
            String missing = seen(p.call().apply(p.missing()), p.missing());
            if (!theirs.equals(missing) || !theirs.startsWith(p.status() + " ")) {
                differences.add(p.what() + ":\n  theirs:  " + theirs + "\n  missing: " + missing);
            }
        }
        assertThat(differences).isEmpty();
        // Nothing was touched, and the lists leave beta's things out.
        String admin = factory.adminKey();
        assertThat(factory.get("/api/v1/models/beta/tiny", admin).statusCode()).isEqualTo(200);
        assertThat(factory.get("/api/v1/models/imported/betaimp", admin).statusCode()).isEqualTo(200);
        assertThat(json(factory.get("/api/v1/deployments/" + deployment.get("beta"), admin)).path("state").asText())
                .isEqualTo("ready");
        assertThat(factory.get("/v1/responses/" + betaResponse, admin).statusCode()).as("kept per project").isEqualTo(404);
        assertThat(json(factory.get("/foundation-models", inv)).path("modelSummaries").findValuesAsText("modelId"))
                .contains("alpha/tiny").doesNotContain("beta/tiny");
        assertThat(json(factory.get("/imported-models", dev)).path("modelSummaries").findValuesAsText("modelName"))
                .doesNotContain("betaimp");
        assertThat(json(factory.get("/model-import-jobs", dev)).path("modelImportJobSummaries").toString())
                .doesNotContain(betaImportJob);
        assertThat(json(factory.get("/api/v1/fleet", dev)).at("/nodes/0/deployments").toString())
                .contains(deployment.get("alpha")).doesNotContain(deployment.get("beta"));
        // A role refused in its own project is told so: that reveals nothing.
        HttpResponse<String> ownDeploy = factory.post("/api/v1/deployments", inv, "{\"model\":\"alpha/tiny\"}");
        assertThat(ownDeploy.statusCode()).isEqualTo(403);
        assertThat(factory.send(factory.request("/api/v1/deployments/" + deployment.get("alpha"), inv).DELETE())
                .statusCode()).isEqualTo(403);
        // Names are the site's: importing under one another project holds says only that it is taken.
        HttpResponse<String> taken = factory.send(factory.request("/api/v1/models/beta/tiny/versions?filename=x.gguf", dev)
                .PUT(HttpRequest.BodyPublishers.ofString("not a model")));
        assertThat(taken.statusCode()).isEqualTo(409);
        assertThat(json(taken).at("/error/message").asText()).contains("is taken").doesNotContain("project");
        HttpResponse<String> takenImport = factory.post("/model-import-jobs", dev, "{\"jobName\":\"alpha-job\","
                + "\"importedModelName\":\"betaimp\",\"roleArn\":\"arn:aws:iam::0:role/r\",\"modelDataSource\":"
                + "{\"s3DataSource\":{\"s3Uri\":\"file://" + importRoot.resolve("garbage.gguf") + "\"}}}");
        assertThat(takenImport.statusCode()).isEqualTo(409);
        assertThat(takenImport.headers().firstValue("x-amzn-ErrorType").orElse("")).startsWith("ConflictException");
    }

    @Test
    void theOfficialClientsSeeAnotherProjectsModelAsAMissingOne() {
        com.openai.client.OpenAIClient openai = com.openai.client.okhttp.OpenAIOkHttpClient.builder()
                .baseUrl(factory.url() + "/v1").apiKey(alpha.get(Role.INVOKER)).build();
        java.util.function.Function<String, String> chat = model -> {
            try {
                openai.chat().completions().create(com.openai.models.chat.completions.ChatCompletionCreateParams
                        .builder().model(model).addUserMessage("hi").maxCompletionTokens(2).build());
                return "answered";
            } catch (com.openai.errors.NotFoundException e) {
                return e.getMessage().replace(model, "NAME");
            }
        };
        assertThat(chat.apply("beta/tiny")).isEqualTo(chat.apply("beta/nothing")).contains("does not exist");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> openai.models().retrieve("beta/tiny"))
                .isInstanceOf(com.openai.errors.NotFoundException.class);

        JsonNode created = json(factory.post("/api/v1/keys", factory.adminKey(),
                "{\"name\":\"alpha-aws\",\"aws\":true,\"role\":\"invoker\",\"project\":\"alpha\"}"));
        BedrockSdk.AwsKey key = new BedrockSdk.AwsKey(created.path("id").asText(),
                created.path("accessKeyId").asText(), created.path("secretAccessKey").asText());
        try (var runtime = BedrockSdk.defaultRuntime(factory, key);
                var control = software.amazon.awssdk.services.bedrock.BedrockClient.builder()
                        .endpointOverride(java.net.URI.create(factory.url()))
                        .region(software.amazon.awssdk.regions.Region.US_EAST_1)
                        .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                                software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(
                                        key.accessKeyId(), key.secretAccessKey())))
                        .build()) {
            java.util.function.Function<String, String> converse = model -> {
                try {
                    runtime.converse(c -> c.modelId(model).messages(m -> m.role("user")
                            .content(software.amazon.awssdk.services.bedrockruntime.model.ContentBlock.fromText("hi"))));
                    return "answered";
                } catch (software.amazon.awssdk.services.bedrockruntime.model.ResourceNotFoundException e) {
                    return e.statusCode() + " " + e.awsErrorDetails().errorMessage().replace(model, "NAME");
                }
            };
            assertThat(converse.apply("beta/tiny")).isEqualTo(converse.apply("beta/nothing")).startsWith("404 ");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> control.getFoundationModel(
                            r -> r.modelIdentifier("beta/tiny")))
                    .isInstanceOf(software.amazon.awssdk.services.bedrock.model.ResourceNotFoundException.class);
            assertThat(control.listFoundationModels(r -> {}).modelSummaries())
                    .extracting(software.amazon.awssdk.services.bedrock.model.FoundationModelSummary::modelId)
                    .contains("alpha/tiny").doesNotContain("beta/tiny");
        }
    }

    @Test
    void aHiddenRefusalIsRecordedAsDeniedThoughTheClientSees404() {
        HttpResponse<String> r = factory.send(factory.request("/api/v1/models/beta/tiny", alpha.get(Role.DEVELOPER))
                .header("X-Request-Id", "hidden-refusal-1").GET());
        assertThat(r.statusCode()).isEqualTo(404);
        com.fasterxml.jackson.databind.JsonNode rec = factory.auditRecord("hidden-refusal-1", factory.adminKey());
        assertThat(rec.path("decision").asText()).isEqualTo("deny");
        assertThat(rec.path("status").asInt()).isEqualTo(404);
        HttpResponse<String> missing = factory.send(factory.request("/api/v1/models/alpha/nothing", alpha.get(Role.DEVELOPER))
                .header("X-Request-Id", "truly-missing-1").GET());
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(factory.auditRecord("truly-missing-1", factory.adminKey()).path("decision").asText()).isEqualTo("allow");
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
