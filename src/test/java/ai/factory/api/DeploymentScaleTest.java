package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.config.Setting;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code PATCH /api/v1/deployments/{id}} scales a ready deployment of the tiny model on the real engine while calls
 * keep coming: up, with each new replica taking calls once loaded; down, with a stream in flight on a leaving replica
 * running to its end; the count recorded for the next start; and every bad request refused with a clear 4xx while
 * the deployment serves on.
 */
@ServerTest
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DeploymentScaleTest {
    private static final String MODEL = "acme/scaled";

    @TempDir
    static Path home;

    static TestFactory factory;
    static String id;

    @BeforeAll
    static void start() {
        // A memory limit that holds a few replicas of the tiny model, not 64.
        factory = TestFactory.start(home, Map.of(Setting.MEMORY_LIMIT, "1GiB"));
        id = factory.deployGguf(MODEL, TestModels.tinyLlama(), "\"replicas\": 1, \"parallel\": 1, \"context\": 4096, "
                + "\"threads\": 1");
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    private static JsonNode deployment() {
        return json(factory.get("/api/v1/deployments/" + id, factory.adminKey()));
    }

    private static HttpResponse<String> scale(String body) {
        return factory.send(factory.request("/api/v1/deployments/" + id, factory.adminKey())
                .header("Content-Type", "application/json").method("PATCH", HttpRequest.BodyPublishers.ofString(body)));
    }

    private static int chat(String text) {
        HttpResponse<String> r;
        try {
            r = factory.post("/v1/chat/completions", factory.adminKey(), "{\"model\": \"" + MODEL
                + "\", \"max_tokens\": 4, \"messages\": [{\"role\": \"user\", \"content\": \"" + text + "\"}]}");
        } catch (RuntimeException e) {
            return -1; // no answer at all: counted as a failed call
        }
        return r.statusCode();
    }

    @Test
    @Order(1)
    void scalesUpAndDownUnderLoadWithoutAFailedCall() throws Exception {
        List<Integer> statuses = Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean calling = new AtomicBoolean(true);
        List<Thread> callers = new ArrayList<>();
        for (int c = 0; c < 2; c++) {
            int caller = c;
            callers.add(Thread.ofVirtual().start(() -> {
                for (int i = 0; calling.get(); i++) {
                    statuses.add(chat("caller " + caller + " call " + i));
                }
            }));
        }
        HttpResponse<String> up = scale("{\"replicas\": 3}");
        assertThat(up.statusCode()).as(up.body()).isEqualTo(202);
        assertThat(json(up).path("replicas").asInt()).isEqualTo(3);
        await().atMost(Duration.ofSeconds(60)).until(() -> deployment().path("readyReplicas").asInt() == 3);
        int before = statuses.size();
        await().atMost(Duration.ofSeconds(30)).until(() -> statuses.size() >= before + 4);
        calling.set(false);
        for (Thread t : callers) {
            t.join();
        }
        assertThat(statuses).as("every call while it scaled up").hasSizeGreaterThan(4).containsOnly(200);

        // Three long streams on three replicas of one slot each (3 active, none waiting: one on each); then down to
        // one replica: the streams on the two that leave run to their ends.
        HttpClient client = HttpClient.newHttpClient();
        List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> streams = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            streams.add(client.sendAsync(factory.request("/v1/chat/completions", factory.adminKey())
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\": \"" + MODEL + "\", \"max_tokens\": 4000, \"ignore_eos\": true, \"stream\": "
                                    + "true, \"messages\": [{\"role\": \"user\", \"content\": \"long " + i + "\"}]}"))
                    .build(), HttpResponse.BodyHandlers.ofString()));
            // One at a time, so that the router, which sends a call to the replica with the fewest, sees the last.
            int running = i + 1;
            await().atMost(Duration.ofSeconds(30)).until(() -> deployment().path("activeRequests").asInt() == running);
        }
        assertThat(deployment().path("waitingRequests").asInt()).as("one stream on each replica").isZero();
        HttpResponse<String> down = scale("{\"replicas\": 1}");
        assertThat(down.statusCode()).as(down.body()).isEqualTo(202);
        assertThat(json(down).path("readyReplicas").asInt()).isEqualTo(1);
        // The replicas that left look at their calls only after a few seconds: scaling up before they closed waits.
        HttpResponse<String> early = scale("{\"replicas\": 2}");
        assertThat(early.statusCode()).as(early.body()).isEqualTo(409);
        assertThat(early.body()).contains("still finishing their calls");
        assertThat(chat("beside the leaving streams")).isEqualTo(200);
        for (var s : streams) {
            HttpResponse<String> r = s.get(120, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).as("a stream on a leaving replica runs to its end").doesNotContain("data: {\"error\"")
                    .contains("\"finish_reason\":\"length\"", "data: [DONE]");
        }
        assertThat(deployment().path("replicas").asInt()).isEqualTo(1);
    }

    @Test
    @Order(2)
    void badScalesAreRefusedAndTheDeploymentServesOn() {
        for (String body : List.of("{\"replicas\": 0}", "{\"replicas\": 65}", "{\"replicas\": \"two\"}", "{}",
                "{\"replicas\": 2, \"parallel\": 4}", "[]", "{\"replicas\": 2")) {
            HttpResponse<String> r = scale(body);
            assertThat(r.statusCode()).as(body + ": " + r.body()).isEqualTo(400);
            assertThat(r.body()).as(body).contains("\"error\"");
        }
        // Once the replicas that left in the first test have closed (until then a scale-up is a 409):
        java.util.concurrent.atomic.AtomicReference<HttpResponse<String>> answer = new java.util.concurrent.atomic
                .AtomicReference<>();
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            answer.set(scale("{\"replicas\": 64}"));
            return answer.get().statusCode() != 409;
        });
        HttpResponse<String> tooMany = answer.get();
        assertThat(tooMany.statusCode()).as(tooMany.body()).isEqualTo(400);
        assertThat(tooMany.body()).contains("does not fit", "memory.limit", "replicas");
        HttpResponse<String> missing = factory.send(factory.request("/api/v1/deployments/dep-none", factory.adminKey())
                .header("Content-Type", "application/json")
                .method("PATCH", HttpRequest.BodyPublishers.ofString("{\"replicas\": 2}")));
        assertThat(missing.statusCode()).isEqualTo(404);
        String invoker = factory.createKey("caller", "default", "invoker");
        HttpResponse<String> refused = factory.send(factory.request("/api/v1/deployments/" + id, invoker)
                .header("Content-Type", "application/json")
                .method("PATCH", HttpRequest.BodyPublishers.ofString("{\"replicas\": 2}")));
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(deployment().path("replicas").asInt()).isEqualTo(deployment().path("readyReplicas").asInt());
        assertThat(chat("still serving")).isEqualTo(200);
    }

    @Test
    @Order(3)
    void aSecondScaleWhileTheFirstLoadsIsAConflictAndTheCountOutlivesARestart() throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> deployment().path("readyReplicas").asInt()
                == deployment().path("replicas").asInt());
        int now = deployment().path("replicas").asInt();
        // Three replicas to load one after another take a second or more: the second change comes meanwhile. (The
        // replicas that left in the first test may still be closing: the scale-up is taken once they have.)
        java.util.concurrent.atomic.AtomicReference<HttpResponse<String>> taken = new java.util.concurrent.atomic
                .AtomicReference<>();
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            taken.set(scale("{\"replicas\": " + (now + 3) + "}"));
            return taken.get().statusCode() != 409;
        });
        HttpResponse<String> first = taken.get();
        assertThat(first.statusCode()).as(first.body()).isEqualTo(202);
        HttpResponse<String> second = scale("{\"replicas\": " + (now + 1) + "}");
        assertThat(second.statusCode()).as(second.body()).isEqualTo(409);
        assertThat(second.body()).contains("being scaled already");
        await().atMost(Duration.ofSeconds(60)).until(() -> deployment().path("readyReplicas").asInt()
                == deployment().path("replicas").asInt());
        int scaled = deployment().path("replicas").asInt();
        factory.close();
        factory = TestFactory.start(home, Map.of(Setting.MEMORY_LIMIT, "1GiB"));
        await().atMost(Duration.ofSeconds(60)).until(() -> "ready".equals(deployment().path("state").asText()));
        assertThat(deployment().path("replicas").asInt()).isEqualTo(scaled);
        assertThat(deployment().path("readyReplicas").asInt()).isEqualTo(scaled);
    }
}
