package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.storage.StatementCounter;
import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an inference call costs the database: every statement the factory's Jdbi executes is counted (a
 * {@link StatementCounter} on the real server's database), with the thread that ran it, around one chat completion
 * through the official OpenAI client.
 *
 * <p>What counts: the statements run on the call's own path, that is every thread but the audit chain's writer
 * ({@code audit-writer}, which appends the call's record after the response, in batches) and the journal's settling
 * pass ({@code audit-journal}, every few seconds), and the quotas' and usage rollups' background work
 * ({@code quota-sync}, {@code usage-rollups}): a call is admitted under its quotas from memory. On that path an inference call runs one query: the audit journal's
 * write-ahead insert ({@code INSERT INTO audit_pending}), which must reach the database before the call reaches its
 * replica so that a crash leaves a trace of the call (it runs on a thread of its own meanwhile). On embedded H2 a
 * {@code CHECKPOINT} follows it, which makes that one insert durable at once (see {@code CallJournal#admit}); it reads
 * and writes no row. The API key, the model's facts and the project's content-logging flag come from memory once read.
 *
 * <p>An inference call writes ahead while its prompt is prepared, so the write must still come before anything
 * lasts: with the journal's table out of reach, calls are refused before they run.
 */
@ServerTest
class InferenceQueriesTest {
    private static final String MODEL = "acme/tiny";
    private static final List<String> BACKGROUND = List.of("audit-writer", "audit-journal", "quota-sync",
            "usage-rollups");

    @TempDir
    static Path home;

    static TestFactory factory;
    static OpenAIClient openai;

    @BeforeAll
    static void start() {
        Path gguf = TestModels.tinyLlama();
        factory = TestFactory.start(home);
        factory.deployGguf(MODEL, gguf, "\"context\": 256");
        String key = factory.createKey("app", "default", "invoker");
        openai = OpenAIOkHttpClient.builder().baseUrl(factory.url() + "/v1").apiKey(key).maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    /** The statements on the call's path: all but those of the audit's background writers. */
    private static List<StatementCounter.Statement> onTheCallsPath(StatementCounter counter) {
        return counter.statements().stream()
                .filter(s -> BACKGROUND.stream().noneMatch(s.thread()::startsWith)).toList();
    }

    /** Waits until the audit writer has appended a record, which it does once a call has ended. */
    private static void awaitAuditRecord(StatementCounter counter) {
        await().atMost(Duration.ofMinutes(1)).until(() -> counter.statements().stream().anyMatch(s ->
                s.thread().equals("audit-writer") && s.sql().toLowerCase(Locale.ROOT).contains("into audit_records")));
    }

    private static void chat() {
        openai.chat().completions().create(ChatCompletionCreateParams.builder().model(MODEL)
                .addUserMessage("Hello").maxCompletionTokens(4).temperature(0.0).build());
    }

    @Test
    void aChatCompletionRunsOnlyTheAuditJournalsWriteAheadInsert() {
        try (StatementCounter counter = StatementCounter.install(factory.factory().database().jdbi())) {
            chat(); // the first call of a key reads it
            awaitAuditRecord(counter);
            counter.clear();

            chat();
            awaitAuditRecord(counter);

            assertThat(onTheCallsPath(counter)).as("statements on the call's path")
                    .extracting(StatementCounter.Statement::sql)
                    .filteredOn(sql -> !sql.equals("CHECKPOINT"))
                    .singleElement().asString().startsWith("INSERT INTO audit_pending");
        }
    }

    /** The answer to {@code call} made while the journal's table cannot be written (renamed away, then back). */
    private static HttpResponse<String> withoutTheJournal(Supplier<HttpResponse<String>> call) {
        Jdbi jdbi = factory.factory().database().jdbi();
        jdbi.useHandle(h -> h.execute("ALTER TABLE audit_pending RENAME TO audit_pending_away"));
        try {
            return call.get();
        } finally {
            jdbi.useHandle(h -> h.execute("ALTER TABLE audit_pending_away RENAME TO audit_pending"));
        }
    }

    @Test
    void aChatCompletionWhoseWriteAheadFailsIsRefusedBeforeItReachesTheReplica() {
        String body = "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],"
                + "\"max_tokens\":4,\"ignore_eos\":true}";
        for (boolean stream : List.of(false, true)) {
            String requestId = "unwritten-" + stream;
            String streamed = body.replace("}],", "}],\"stream\":" + stream + ",");
            HttpResponse<String> refused = withoutTheJournal(() -> factory.send(
                    factory.request("/v1/chat/completions", factory.adminKey()).header("X-Request-Id", requestId)
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(streamed))));

            assertThat(refused.statusCode()).as("stream " + stream).isEqualTo(503);
            assertThat(refused.body()).contains("the audit trail cannot be written now, so the call was not run");
            JsonNode record = factory.auditRecord(requestId, factory.adminKey());
            assertThat(record.path("status").asInt()).isEqualTo(503);
            assertThat(record.path("completionTokens").asLong()).as("tokens generated").isZero();
            assertThat(record.path("promptTokens").asLong()).as("prompt submitted").isZero();
        }
    }

    @Test
    void aBadChatBodyIsRefusedAsNotRunWhenItsWriteAheadFails() {
        HttpResponse<String> refused = withoutTheJournal(() -> factory.post("/v1/chat/completions",
                factory.adminKey(), "{\"model\": 7}"));

        assertThat(refused.statusCode()).isEqualTo(503);
    }

    @Test
    void anAdminCallWhoseWriteAheadFailsChangesNothing() throws Exception {
        HttpResponse<String> refused = withoutTheJournal(() -> factory.post("/api/v1/keys",
                factory.adminKey(), "{\"name\":\"never-made\",\"project\":\"default\",\"role\":\"invoker\"}"));

        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(Json.mapper().readTree(factory.get("/api/v1/keys", factory.adminKey()).body()).path("keys"))
                .extracting(k -> k.path("name").asText()).doesNotContain("never-made");
    }

    @Test
    void aKeyRevokedThroughTheApiIsRefusedByTheVeryNextCall() throws Exception {
        String key = factory.createKey("short-lived", "default", "invoker");
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(factory.url() + "/v1").apiKey(key).maxRetries(0)
                .build();
        client.chat().completions().create(ChatCompletionCreateParams.builder().model(MODEL)
                .addUserMessage("Hello").maxCompletionTokens(1).build()); // the key is now held in memory
        String id = null;
        for (JsonNode k : Json.mapper().readTree(factory.get("/api/v1/keys", factory.adminKey()).body()).path("keys")) {
            if (k.path("name").asText().equals("short-lived")) {
                id = k.path("id").asText();
            }
        }
        assertThat(factory.send(factory.request("/api/v1/keys/" + id, factory.adminKey()).DELETE()).statusCode())
                .isEqualTo(200);

        assertThatThrownBy(() -> client.chat().completions().create(ChatCompletionCreateParams.builder().model(MODEL)
                .addUserMessage("Hello").maxCompletionTokens(1).build()))
                .isInstanceOf(UnauthorizedException.class);
    }
}
