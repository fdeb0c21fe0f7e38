package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.cli.FactoryCliTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeClient;
import software.amazon.awssdk.services.bedrockruntime.model.ConversationRole;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseRequest;
import software.amazon.awssdk.services.bedrockruntime.model.Message;
import software.amazon.awssdk.services.bedrockruntime.model.ServiceQuotaExceededException;
import software.amazon.awssdk.services.bedrockruntime.model.ThrottlingException;
import software.amazon.awssdk.services.bedrockruntime.model.ValidationException;

/**
 * Quotas on a running factory, as applications meet them: the official OpenAI and AWS SDKs, at their default
 * settings, get their own typed throttling errors and retry as they do against the clouds (a spent budget is not
 * retried); OpenAI answers carry the {@code x-ratelimit-*} headers; every refusal is audited with the limit that
 * applied; {@code /api/v1/quotas} refuses bad input in the factory's error shape; {@code factory quotas} sets, shows
 * and removes limits.
 */
@ServerTest
class QuotasApiTest {
    private static final String MODEL = "acme/quota-tiny";
    /** One slot and a context that takes the tiny model a minute to fill: a call on it runs as long as it is let. */
    private static final String BUSY = "acme/quota-busy";

    @TempDir
    static Path home;
    static TestFactory factory;

    @BeforeAll
    static void start() {
        Path model = TestModels.tinyLlama();
        factory = TestFactory.start(home, Map.of());
        factory.deployGguf(MODEL, model, "\"parallel\": 2, \"context\": 512");
        factory.deployGguf(BUSY, model, "\"parallel\": 1, \"context\": 131072, \"queue\": 1, \"threads\": 1");
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    /** A new invoker key of project default: its id and its secret. */
    private static String[] key(String name, boolean aws) {
        HttpResponse<String> created = factory.post("/api/v1/keys", factory.adminKey(), "{\"name\": \"" + name
                + "\", \"role\": \"invoker\"" + (aws ? ", \"aws\": true" : "") + "}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        JsonNode body = json(created);
        return aws ? new String[] {body.path("id").asText(), body.path("accessKeyId").asText(),
                body.path("secretAccessKey").asText()} : new String[] {body.path("id").asText(),
                body.path("secret").asText()};
    }

    private static HttpResponse<String> put(String key, String json) {
        return factory.send(factory.request("/api/v1/quotas", key).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(json)));
    }

    /** Sets a key's limits; returns its principal, as calls and the audit trail name it. */
    private static String limit(String keyId, String limits) {
        HttpResponse<String> set = put(factory.adminKey(), "{\"project\": \"default\", \"key\": \"" + keyId + "\", "
                + limits + "}");
        assertThat(set.statusCode()).as(set.body()).isEqualTo(200);
        assertThat(json(set).path("key").asText()).isEqualTo(keyId);
        return json(set).path("principal").asText();
    }

    /** The calls running on the busy model. */
    private static int busyActive() {
        for (JsonNode d : json(factory.get("/api/v1/deployments", factory.adminKey())).path("deployments")) {
            if (d.path("model").asText().startsWith(BUSY)) {
                return d.path("activeRequests").asInt();
            }
        }
        return -1;
    }

    private static HttpResponse<String> chat(String secret) {
        return factory.post("/v1/chat/completions", secret, "{\"model\": \"" + MODEL + "\", \"max_tokens\": 4, "
                + "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
    }

    /** The audit records of one key's refused calls, once at least {@code atLeast} are written. */
    private static List<JsonNode> refusals(String principal, int atLeast) {
        await().atMost(Duration.ofSeconds(30)).until(() -> records(principal).size() >= atLeast);
        return records(principal);
    }

    private static List<JsonNode> records(String principal) {
        JsonNode all = json(factory.get("/api/v1/audit?limit=1000&principal=" + principal, factory.adminKey()));
        return StreamSupport.stream(all.path("records").spliterator(), false)
                .filter(r -> r.path("status").asInt() == 429 || r.path("status").asInt() == 400).toList();
    }

    @Test
    void openAiAnswersCarryTheRateLimitHeadersAndTheSdkRetriesARefusalAsItWouldAgainstOpenAi() {
        String[] key = key("quota-openai", false);
        String principal = limit(key[0], "\"rpm\": 2, \"tpm\": 100000");
        HttpResponse<String> first = chat(key[1]);
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        assertThat(first.headers().firstValue("x-ratelimit-limit-requests")).hasValue("2");
        assertThat(first.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("1");
        assertThat(first.headers().firstValue("x-ratelimit-reset-requests").orElseThrow()).matches("[0-9.]+s");
        assertThat(first.headers().firstValue("x-ratelimit-limit-tokens")).hasValue("100000");
        assertThat(chat(key[1]).statusCode()).isEqualTo(200);

        HttpResponse<String> refused = chat(key[1]);
        assertThat(refused.statusCode()).isEqualTo(429);
        JsonNode error = json(refused).path("error");
        assertThat(error.path("code").asText()).isEqualTo("rate_limit_exceeded");
        assertThat(error.path("type").asText()).isEqualTo("requests");
        assertThat(error.path("message").asText()).contains("Rate limit reached for key " + principal
                + " of project default on requests per minute: limit 2");
        long retryMs = Long.parseLong(refused.headers().firstValue("retry-after-ms").orElseThrow());
        assertThat(retryMs).isBetween(1L, 30_000L);
        assertThat(refused.headers().firstValue("Retry-After").orElseThrow()).matches("[0-9]+");
        assertThat(refused.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");
        assertThat(refused.headers().firstValue("x-should-retry")).isEmpty();

        // The SDK as applications build it: a wait of up to 30 s is longer than it takes for a refusal it may retry,
        // so it backs off on its own, twice, then raises its typed error.
        OpenAIClient openai = OpenAIOkHttpClient.builder().baseUrl(factory.url() + "/v1").apiKey(key[1]).build();
        RateLimitException e = catchThrowableOfType(RateLimitException.class, () -> openai.chat().completions()
                .create(ChatCompletionCreateParams.builder().model(MODEL).addUserMessage("hi").maxCompletionTokens(4)
                        .build()));
        assertThat(e.statusCode()).isEqualTo(429);
        assertThat(e.code()).hasValue("rate_limit_exceeded");
        List<JsonNode> audited = refusals(principal, 4);
        assertThat(audited).hasSize(4); // the refusal above and the SDK's three tries
        assertThat(audited).allSatisfy(r -> assertThat(r.path("detail").asText())
                .endsWith("limit=project=default,key=" + principal + ":rpm=2"));
        // The factory serves others meanwhile.
        assertThat(chat(factory.adminKey()).statusCode()).isEqualTo(200);
    }

    @Test
    void aSpentBudgetIsInsufficientQuotaWhichTheOpenAiSdkDoesNotRetry() {
        String[] key = key("quota-budget", false);
        String principal = limit(key[0], "\"tokensPerDay\": 10");
        HttpResponse<String> refused = chat(key[1]);
        assertThat(refused.statusCode()).isEqualTo(429);
        JsonNode error = json(refused).path("error");
        assertThat(error.path("code").asText()).isEqualTo("insufficient_quota");
        assertThat(error.path("type").asText()).isEqualTo("insufficient_quota");
        assertThat(error.path("message").asText()).contains("Quota exceeded for key " + principal, "tokens per day: limit 10",
                "it renews at");
        assertThat(refused.headers().firstValue("x-should-retry")).hasValue("false");

        OpenAIClient openai = OpenAIOkHttpClient.builder().baseUrl(factory.url() + "/v1").apiKey(key[1]).build();
        RateLimitException e = catchThrowableOfType(RateLimitException.class, () -> openai.chat().completions()
                .create(ChatCompletionCreateParams.builder().model(MODEL).addUserMessage("hi").maxCompletionTokens(4)
                        .build()));
        assertThat(e.code()).hasValue("insufficient_quota");
        List<JsonNode> audited = refusals(principal, 2);
        assertThat(audited).as("one refusal by curl, one by the SDK, which did not retry").hasSize(2);
        assertThat(audited.getFirst().path("detail").asText()).endsWith(":tokensPerDay=10");
    }

    @Test
    void bedrockRuntimeClientsWaitAsTheyAreToldAndSeeThrottlingAndServiceQuotaExceptions() throws Exception {
        String[] paced = key("quota-aws", true);
        String pacedPrincipal = limit(paced[0], "\"rpm\": 6");
        String[] tiny = key("quota-aws-tpm", true);
        String tinyPrincipal = limit(tiny[0], "\"tpm\": 5");
        String[] budget = key("quota-aws-budget", true);
        String budgetPrincipal = limit(budget[0], "\"tokensPerMonth\": 5");
        ConverseRequest converse = ConverseRequest.builder().modelId(MODEL).messages(Message.builder()
                .role(ConversationRole.USER).content(c -> c.text("hi")).build())
                .inferenceConfig(c -> c.maxTokens(4)).build();
        try (BedrockRuntimeClient client = BedrockSdk.defaultRuntime(factory,
                new BedrockSdk.AwsKey(paced[0], paced[1], paced[2]))) {
            // Six a minute: the seventh is throttled, and the SDK waits the 10 s it is told before its retry passes.
            for (int i = 0; i < 7; i++) {
                assertThat(client.converse(converse).output().message().content()).isNotEmpty();
            }
            assertThat(refusals(pacedPrincipal, 1)).as("the throttled call the SDK retried").isNotEmpty();
        }
        try (BedrockRuntimeClient client = BedrockSdk.defaultRuntime(factory,
                new BedrockSdk.AwsKey(tiny[0], tiny[1], tiny[2]))) {
            // Five tokens a minute: no call fits, however long it waits; a request to change, which the SDK does not
            // retry.
            ValidationException e = catchThrowableOfType(ValidationException.class, () -> client.converse(converse));
            assertThat(e.statusCode()).isEqualTo(400);
            assertThat(e.awsErrorDetails().errorMessage()).contains("tokens per minute: limit 5", "this call alone needs");
            assertThat(refusals(tinyPrincipal, 1)).as("not retried").hasSize(1);
        }
        // One call at a time for this key: while a long one runs, the next is throttled with a 1 s wait, and the SDK,
        // retrying as it is configured to, ends with its typed exception.
        String[] single = key("quota-aws-single", true);
        String singlePrincipal = limit(single[0], "\"concurrency\": 1");
        BedrockSdk.AwsKey singleKey = new BedrockSdk.AwsKey(single[0], single[1], single[2]);
        BedrockRuntimeClient holder = BedrockSdk.runtime(factory, Region.US_EAST_1, single[1], single[2]);
        Thread running = Thread.ofVirtual().start(() -> {
            try {
                holder.converse(ConverseRequest.builder().modelId(BUSY).messages(Message.builder()
                        .role(ConversationRole.USER).content(c -> c.text("go on")).build())
                        .inferenceConfig(c -> c.maxTokens(100_000))
                        .additionalModelRequestFields(software.amazon.awssdk.core.document.Document.mapBuilder()
                                .putBoolean("ignore_eos", true).build()).build());
            } catch (RuntimeException stopped) {
                // closed below
            }
        });
        try (BedrockRuntimeClient client = BedrockSdk.defaultRuntime(factory, singleKey)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> busyActive() == 1);
            ThrottlingException e = catchThrowableOfType(ThrottlingException.class, () -> client.converse(converse));
            assertThat(e.statusCode()).isEqualTo(429);
            assertThat(e.awsErrorDetails().errorMessage()).contains("concurrent calls: limit 1");
            assertThat(refusals(singlePrincipal, 2)).as("the SDK retried as configured").hasSizeGreaterThan(1);
        } finally {
            holder.close();
            running.join(Duration.ofSeconds(30));
        }
        try (BedrockRuntimeClient client = BedrockSdk.defaultRuntime(factory,
                new BedrockSdk.AwsKey(budget[0], budget[1], budget[2]))) {
            ServiceQuotaExceededException e = catchThrowableOfType(ServiceQuotaExceededException.class,
                    () -> client.converse(converse));
            assertThat(e.statusCode()).isEqualTo(400);
            assertThat(e.awsErrorDetails().errorMessage()).contains("tokens per month: limit 5");
            assertThat(refusals(budgetPrincipal, 1)).as("not retried").hasSize(1);
        }
    }

    @Test
    void projectAdminsLimitTheirKeysWithinTheProjectAndBadInputIsRefusedInTheFactorysShape() {
        HttpResponse<String> project = factory.post("/api/v1/projects", factory.adminKey(), "{\"name\": \"lab\"}");
        assertThat(project.statusCode()).as(project.body()).isEqualTo(201);
        String labAdmin = factory.createKey("lab-admin", "lab", "project-admin");
        String labInvoker = factory.createKey("lab-app", "lab", "invoker");
        String labKeyId = StreamSupport.stream(json(factory.get("/api/v1/keys", factory.adminKey())).path("keys")
                .spliterator(), false).filter(k -> k.path("name").asText().equals("lab-app"))
                .map(k -> k.path("id").asText()).findFirst().orElseThrow();
        // The project's own limits are the admins'.
        HttpResponse<String> projectLimits = put(factory.adminKey(), "{\"project\": \"lab\", \"rpm\": 100, "
                + "\"tpm\": 50000, \"accelerators\": 4}");
        assertThat(projectLimits.statusCode()).as(projectLimits.body()).isEqualTo(200);
        assertThat(json(projectLimits).path("accelerators").asInt()).isEqualTo(4);
        HttpResponse<String> own = put(labAdmin, "{\"project\": \"lab\", \"rpm\": 1000}");
        assertThat(own.statusCode()).as(own.body()).isEqualTo(403);
        HttpResponse<String> keyLimit = put(labAdmin, "{\"project\": \"lab\", \"key\": \"" + labKeyId
                + "\", \"rpm\": 10, \"priority\": \"batch\"}");
        assertThat(keyLimit.statusCode()).as(keyLimit.body()).isEqualTo(200);
        assertThat(json(keyLimit).path("priority").asText()).isEqualTo("batch");
        HttpResponse<String> above = put(labAdmin, "{\"project\": \"lab\", \"key\": \"" + labKeyId + "\", \"rpm\": 500}");
        assertThat(above.statusCode()).isEqualTo(400);
        assertThat(json(above).path("error").path("param").asText()).isEqualTo("rpm");
        assertThat(json(above).path("error").path("message").asText()).contains("more than the 100 set on project lab");
        // Everyone in the project reads its quotas; nobody else's.
        HttpResponse<String> read = factory.get("/api/v1/quotas", labInvoker);
        assertThat(read.statusCode()).isEqualTo(200);
        assertThat(json(read).path("quotas").findValues("project")).extracting(JsonNode::asText).containsOnly("lab");
        assertThat(factory.get("/api/v1/quotas?project=default", labInvoker).statusCode()).isEqualTo(404);
        assertThat(put(labInvoker, "{\"project\": \"lab\", \"key\": \"" + labKeyId + "\", \"rpm\": 1}").statusCode())
                .isEqualTo(403);

        for (String[] bad : List.of(
                new String[] {"{\"rpm\": 5}", "400", "project"},
                new String[] {"{\"project\": \"lab\", \"rpm\": 0}", "400", "rpm"},
                new String[] {"{\"project\": \"lab\", \"tokensPerDay\": -3}", "400", "tokensPerDay"},
                new String[] {"{\"project\": \"lab\", \"rpm\": \"many\"}", "400", null},
                new String[] {"{\"project\": \"lab\", \"rpm\": 5, \"burst\": 9}", "400", "burst"},
                new String[] {"{\"project\": \"lab\", \"priority\": \"urgent\"}", "400", "priority"},
                new String[] {"{\"project\": \"lab\", \"accelerators\": -1}", "400", "accelerators"},
                new String[] {"{\"project\": \"lab\", \"accelerators\": 2.5}", "400", null},
                new String[] {"{\"project\": \"lab\", \"key\": \"" + labKeyId + "\", \"accelerators\": 1}", "400",
                        "accelerators"},
                new String[] {"{\"project\": \"lab\"}", "400", "rpm"},
                new String[] {"{\"project\": \"lab\", \"key\": \"no-such-key\", \"rpm\": 5}", "404", "key"},
                new String[] {"{\"project\": \"nowhere\", \"rpm\": 5}", "404", null},
                new String[] {"{\"project\": \"lab\", \"model\": \"acme/x:2\", \"rpm\": 5}", "400", "model"},
                new String[] {"[1, 2]", "400", null},
                new String[] {"{\"project\": \"lab\", \"rpm\": 5", "400", null})) {
            HttpResponse<String> answer = put(factory.adminKey(), bad[0]);
            assertThat(answer.statusCode()).as(bad[0] + " → " + answer.body()).isEqualTo(Integer.parseInt(bad[1]));
            JsonNode err = json(answer).path("error");
            assertThat(err.path("message").asText()).as(bad[0]).isNotBlank();
            if (bad[2] != null) {
                assertThat(err.path("param").asText()).as(bad[0] + " → " + answer.body()).isEqualTo(bad[2]);
            }
        }
        assertThat(factory.send(factory.request("/api/v1/quotas", factory.adminKey()).DELETE()).statusCode())
                .isEqualTo(400);
        assertThat(factory.send(factory.request("/api/v1/quotas?project=lab&model=acme/none", factory.adminKey())
                .DELETE()).statusCode()).isEqualTo(404);
        assertThat(factory.get("/api/v1/quotas?projekt=lab", factory.adminKey()).statusCode()).isEqualTo(400);
        // Nothing half-written: the quotas are what the good calls set.
        JsonNode lab = json(factory.get("/api/v1/quotas?project=lab", factory.adminKey())).path("quotas");
        assertThat(lab).hasSize(2);
        assertThat(chat(factory.adminKey()).statusCode()).isEqualTo(200);
    }

    @Test
    void callsAskForTheirPriorityClassByTheApisServiceTier() {
        HttpResponse<String> flex = factory.post("/v1/chat/completions", factory.adminKey(), "{\"model\": \"" + MODEL
                + "\", \"max_tokens\": 2, \"service_tier\": \"flex\", \"messages\": [{\"role\": \"user\", "
                + "\"content\": \"hi\"}]}");
        assertThat(flex.statusCode()).as(flex.body()).isEqualTo(200);
        HttpResponse<String> bogus = factory.post("/v1/chat/completions", factory.adminKey(), "{\"model\": \"" + MODEL
                + "\", \"max_tokens\": 2, \"service_tier\": \"gold\", \"messages\": [{\"role\": \"user\", "
                + "\"content\": \"hi\"}]}");
        assertThat(bogus.statusCode()).isEqualTo(400);
        assertThat(json(bogus).path("error").path("param").asText()).isEqualTo("service_tier");
        HttpResponse<String> responses = factory.post("/v1/responses", factory.adminKey(), "{\"model\": \"" + MODEL
                + "\", \"max_output_tokens\": 2, \"service_tier\": \"later\", \"input\": \"hi\"}");
        assertThat(responses.statusCode()).isEqualTo(400);
        assertThat(json(responses).path("error").path("param").asText()).isEqualTo("service_tier");
        String[] aws = key("quota-tier", true);
        try (BedrockRuntimeClient client = BedrockSdk.defaultRuntime(factory, new BedrockSdk.AwsKey(aws[0], aws[1],
                aws[2]))) {
            ConverseRequest flexible = ConverseRequest.builder().modelId(MODEL).messages(Message.builder()
                    .role(ConversationRole.USER).content(c -> c.text("hi")).build())
                    .inferenceConfig(c -> c.maxTokens(2)).serviceTier(t -> t.type("flex")).build();
            assertThat(client.converse(flexible).output().message().content()).isNotEmpty();
        }
    }

    @Test
    void theCommandLineSetsShowsAndRemovesQuotas() {
        String[] key = key("quota-cli", false);
        String[] client = {"--url", factory.url(), "--key", factory.adminKey()};
        FactoryCliTest.Run set = FactoryCliTest.cli(FactoryCliTest.with(client, "quotas", "set", "default", "--key-id", key[0],
                "--rpm", "30", "--tokens-per-day", "100_000"));
        assertThat(set.exit()).as(set.err()).isZero();
        assertThat(set.out()).contains("Quota of key " + key[0] + " of project default: rpm 30, tokens per day 100000");
        // Limits not named keep their values; 'none' removes one.
        FactoryCliTest.Run changed = FactoryCliTest.cli(FactoryCliTest.with(client, "quotas", "set", "default", "--key-id", key[0],
                "--rpm", "none", "--concurrency", "3"));
        assertThat(changed.out()).contains("concurrency 3, tokens per day 100000").doesNotContain("rpm");
        assertThat(chat(key[1]).statusCode()).isEqualTo(200);
        FactoryCliTest.Run show = FactoryCliTest.cli(FactoryCliTest.with(client, "quotas", "show", "default"));
        assertThat(show.exit()).as(show.err()).isZero();
        assertThat(show.out()).contains(key[0], "100000 (").contains("Budgets count days and months in");
        FactoryCliTest.Run bad = FactoryCliTest.cli(FactoryCliTest.with(client, "quotas", "set", "default", "--rpm", "lots"));
        assertThat(bad.exit()).isNotZero();
        assertThat(bad.err()).contains("--rpm takes a whole number or 'none'");
        FactoryCliTest.Run gpus = FactoryCliTest.cli(FactoryCliTest.with(client, "quotas", "set", "default",
                "--accelerators", "2"));
        assertThat(gpus.exit()).as(gpus.err()).isZero();
        assertThat(gpus.out()).contains("Quota of project default: accelerators 2");
        assertThat(FactoryCliTest.cli(FactoryCliTest.with(client, "quotas", "show", "default")).out())
                .contains("ACCELERATORS");
        assertThat(FactoryCliTest.cli(FactoryCliTest.with(client, "quotas", "delete", "default")).exit()).isZero();
        FactoryCliTest.Run removed = FactoryCliTest.cli(FactoryCliTest.with(client, "quotas", "delete", "default", "--key-id", key[0]));
        assertThat(removed.exit()).as(removed.err()).isZero();
        assertThat(removed.out()).contains("Removed the quota of key " + key[0]);
        assertThat(FactoryCliTest.cli(FactoryCliTest.with(client, "quotas", "delete", "default", "--key-id", key[0]))
                .exit()).isNotZero();
    }
}
