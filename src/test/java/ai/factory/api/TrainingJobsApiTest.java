package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.PausePoints;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fine-tuning jobs over HTTP, on the tiny model and a few dozen synthetic question-and-answer lines: a job trains,
 * reports its losses and loss curve, and registers a model with its lineage that deploys and answers; bad requests
 * create nothing; who may do what; a running job stops when cancelled; a job killed with SIGKILL in its second epoch
 * resumes from its checkpoint and ends with the same number of steps.
 */
@ServerTest
class TrainingJobsApiTest {
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(3);
    private static final String JOBS = "/api/v1/training-jobs";

    @TempDir
    static Path home;

    static TestFactory factory;
    static String developer;
    static String invoker;
    static String rival;

    @BeforeAll
    static void start() throws IOException {
        factory = TestFactory.start(home);
        developer = factory.createKey("dev", "default", "developer");
        invoker = factory.createKey("app", "default", "invoker");
        assertThat(factory.post("/api/v1/projects", factory.adminKey(), "{\"name\":\"rivals\"}").statusCode())
                .isEqualTo(201);
        rival = factory.createKey("rival-dev", "rivals", "developer");
        assertThat(factory.post("/api/v1/models/acme/base/versions", factory.adminKey(), "{\"path\": \""
                + TestModels.tinyLlama().toAbsolutePath() + "\"}").statusCode()).isEqualTo(201);
        uploadCorpus(factory, factory.adminKey(), "acme/capitals");
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    static String corpus() throws IOException {
        try (InputStream in = TrainingJobsApiTest.class.getResourceAsStream("/ai/factory/training/capitals.jsonl")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static void uploadCorpus(TestFactory f, String key, String name) throws IOException {
        HttpResponse<String> r = f.send(f.request("/api/v1/datasets/" + name, key)
                .PUT(HttpRequest.BodyPublishers.ofString(corpus())));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    }

    private static String job(String name, String output, int epochs, String extra) {
        return job(name, output, epochs, 0.02, extra);
    }

    private static String job(String name, String output, int epochs, double learningRate, String extra) {
        return "{\"name\": \"" + name + "\", \"baseModel\": \"acme/base\", \"trainingDataset\": \"acme/capitals\", "
                + "\"outputModel\": \"" + output + "\", \"hyperparameters\": {\"epochCount\": \"" + epochs + "\", "
                + "\"learningRate\": " + learningRate + ", \"contextLength\": 256" + extra + "}}";
    }

    private static JsonNode awaitStatus(TestFactory f, String key, String id, String status) {
        await().atMost(JOB_TIMEOUT).pollInterval(Duration.ofMillis(200)).until(() ->
                json(f.get(JOBS + "/" + id, key)).path("status").asText().matches(status + "|failed"));
        JsonNode job = json(f.get(JOBS + "/" + id, key));
        assertThat(job.path("status").asText()).as(job.toString()).matches(status);
        return job;
    }

    @Test
    void aJobTrainsRegistersItsModelWithLineageAndTheModelServes() {
        HttpResponse<String> created = factory.post(JOBS, developer, job("tune-capitals", "acme/capitals-tuned", 8,
                0.05, ", \"validationSplit\": \"0.125\""));
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        JsonNode queued = json(created);
        assertThat(queued.path("status").asText()).isIn("queued", "in-progress");
        assertThat(queued.path("baseModel").asText()).isEqualTo("acme/base:1");
        assertThat(queued.path("hyperparameters").path("epochCount").asText()).isEqualTo("8");
        String id = queued.path("id").asText();

        JsonNode done = awaitStatus(factory, developer, id, "completed");
        assertThat(done.path("stepsDone").asInt()).isPositive().isEqualTo(done.path("totalSteps").asInt());
        assertThat(done.path("epochsDone").asInt()).isEqualTo(8);
        assertThat(done.path("validationLoss").isNumber()).as("a validation split was held out").isTrue();
        assertThat(done.path("outputVersion").asInt()).isEqualTo(1);

        JsonNode metrics = json(factory.get(JOBS + "/" + id + "/metrics", developer)).path("metrics");
        List<JsonNode> steps = metrics.findParents("kind").stream().filter(m -> m.path("kind").asText().equals("step"))
                .toList();
        List<JsonNode> epochs = metrics.findParents("kind").stream()
                .filter(m -> m.path("kind").asText().equals("epoch")).toList();
        assertThat(steps).hasSize(done.path("stepsDone").asInt());
        assertThat(epochs).hasSize(8);
        assertThat(epochs.getLast().path("loss").asDouble()).as("the loss falls")
                .isLessThan(steps.getFirst().path("loss").asDouble() * 0.6);
        assertThat(steps.getFirst().path("tokensPerSecond").asDouble()).isPositive();
        int lastStep = steps.getLast().path("step").asInt();
        JsonNode tail = json(factory.get(JOBS + "/" + id + "/metrics?after=" + (lastStep - 2), developer))
                .path("metrics");
        assertThat(tail.findValuesAsText("step")).as("the points of the last two steps only")
                .isNotEmpty().allMatch(step -> Integer.parseInt(step) > lastStep - 2);
        assertThat(tail.size()).isEqualTo(metrics.findParents("kind").stream()
                .filter(m -> m.path("step").asInt() > lastStep - 2).count());
        for (String after : List.of("abc", "-1", "1.5", "99999999999")) {
            HttpResponse<String> refused = factory.get(JOBS + "/" + id + "/metrics?after=" + after, developer);
            assertThat(refused.statusCode()).as(after).isEqualTo(400);
            assertThat(json(refused).path("error").path("message").asText()).contains("'after'");
        }
        assertThat(factory.get(JOBS + "/" + id + "/metrics?since=3", developer).body()).contains("unknown parameter");

        assertThat(factory.get("/metrics", factory.adminKey()).body())
                .contains("factory_training_jobs{status=\"completed\"}").contains("factory_training_loss");

        JsonNode model = json(factory.get("/api/v1/models/acme/capitals-tuned", developer));
        JsonNode lineage = model.findValue("lineage");
        assertThat(lineage).as(model.toString()).isNotNull();
        assertThat(lineage.path("job").asText()).isEqualTo(id);
        assertThat(lineage.path("baseModel").asText()).isEqualTo("acme/base:1");
        assertThat(lineage.path("trainingDataset").asText()).isEqualTo("acme/capitals");
        assertThat(lineage.path("trainingSha256").asText()).isEqualTo(done.path("trainingSha256").asText());
        assertThat(lineage.path("hyperparameters").path("learningRate").asText()).isEqualTo("0.05");
        assertThat(model.findValue("contextLength").asInt()).as("the base's context, not the training window")
                .isEqualTo(4096);

        HttpResponse<String> deployed = factory.post("/api/v1/deployments", factory.adminKey(),
                "{\"model\": \"acme/capitals-tuned\", \"context\": 512}");
        assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(202);
        String deployment = json(deployed).path("id").asText();
        await().atMost(JOB_TIMEOUT).until(() -> json(factory.get("/api/v1/deployments/" + deployment,
                factory.adminKey())).path("state").asText().matches("ready|failed"));
        assertThat(json(factory.get("/api/v1/deployments/" + deployment, factory.adminKey())).path("state").asText())
                .isEqualTo("ready");
        HttpResponse<String> answer = factory.post("/v1/completions", developer, "{\"model\": \"acme/capitals-tuned\", "
                + "\"prompt\": \"Question: What is the capital of Norland?\\nAnswer:\", \"max_tokens\": 8, "
                + "\"temperature\": 0}");
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        assertThat(json(answer).path("choices").path(0).path("text").asText()).isNotEmpty();
    }

    @Test
    void badRequestsAreRefusedAndCreateNothing() {
        Map<String, String> bad = Map.of(
                "{", "",
                "{\"baseModel\": \"acme/base\"}", "",
                job("x1", "acme/out", 0, ""), "epochCount",
                job("x2", "acme/out", 1, ", \"learningRate\": 5"), "learningRate",
                job("x3", "acme/out", 1, ", \"batchSize\": 3, \"contextLength\": 100"), "contextLength",
                job("x4", "acme/out", 1, ", \"momentum\": 0.9"), "momentum",
                job("x5", "acme/out", 1, ", \"epochCount\": \"many\""), "epochCount",
                job("x6", "acme/out", 1, ", \"trainLayers\": 7"), "trainLayers",
                job("x7", "acme/out", 1, "").replace("acme/capitals", "acme/nothing"), "trainingDataConfig",
                job("x8", "acme/out", 1, "").replace("\"acme/base\"", "\"acme/absent\""), "");
        bad.forEach((body, param) -> {
            HttpResponse<String> r = factory.post(JOBS, developer, body);
            assertThat(r.statusCode()).as(body + " → " + r.body()).isIn(400, 404);
            JsonNode error = json(r).path("error");
            assertThat(error.path("message").asText()).as(r.body()).isNotBlank();
            if (!param.isEmpty()) {
                assertThat(r.body()).as(body).contains(param);
            }
        });
        assertThat(json(factory.get(JOBS, factory.adminKey())).path("jobs").findValuesAsText("name"))
                .doesNotContain("x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8");
        assertThat(factory.get(JOBS + "/tj-none", developer).statusCode()).isEqualTo(404);
    }

    @Test
    void invokersMayNotTrainAndOtherProjectsDoNotSeeTheJobs() {
        assertThat(factory.post(JOBS, invoker, job("by-invoker", "acme/never", 1, "")).statusCode()).isEqualTo(403);
        HttpResponse<String> r = factory.post(JOBS, developer, job("mine", "acme/mine", 1, ""));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        String id = json(r).path("id").asText();
        assertThat(factory.get(JOBS + "/" + id, rival).statusCode()).isEqualTo(404);
        assertThat(factory.post(JOBS + "/" + id + "/cancel", rival, "").statusCode()).isEqualTo(404);
        assertThat(json(factory.get(JOBS, rival)).path("jobs").findValuesAsText("id")).doesNotContain(id);
        assertThat(json(factory.get(JOBS, invoker)).path("jobs").size()).isZero();
        awaitStatus(factory, developer, id, "completed");
    }

    @Test
    void aCancelledJobStopsAndRegistersNothing() {
        HttpResponse<String> r = factory.post(JOBS, developer, job("long", "acme/long", 1000, ""));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        String id = json(r).path("id").asText();
        await().atMost(JOB_TIMEOUT).until(() -> json(factory.get(JOBS + "/" + id, developer)).path("stepsDone").asInt() > 0);
        HttpResponse<String> cancelled = factory.post(JOBS + "/" + id + "/cancel", developer, "");
        assertThat(cancelled.statusCode()).as(cancelled.body()).isEqualTo(200);
        assertThat(json(cancelled).path("status").asText()).isIn("stopping", "stopped");
        JsonNode stopped = awaitStatus(factory, developer, id, "stopped");
        assertThat(stopped.path("stepsDone").asInt()).isLessThan(stopped.path("totalSteps").asInt());
        assertThat(factory.get("/api/v1/models/acme/long", developer).statusCode()).isEqualTo(404);
    }

    @Test
    void aJobKilledInItsSecondEpochResumesFromItsCheckpoint(@TempDir Path otherHome) throws Exception {
        String id;
        int total;
        try (FactoryProcess.Child child = FactoryProcess.Child.start(otherHome,
                Map.of(PausePoints.PROPERTY, "training.epoch@resumed:2"))) {
            HttpClient http = HttpClient.newHttpClient();
            String key = child.adminKey();
            id = createInChild(http, child, job("resumed", "acme/resumed", 4, ""));
            child.awaitLine("paused at training.epoch@resumed:2", JOB_TIMEOUT);
            JsonNode paused = json(send(http, child.url(), key, "GET", JOBS + "/" + id, null));
            assertThat(paused.path("epochsDone").asInt()).isEqualTo(1);
            assertThat(paused.path("checkpointStep").asInt()).as("the first epoch's checkpoint").isPositive()
                    .isLessThan(paused.path("stepsDone").asInt());
            total = paused.path("totalSteps").asInt();
            assertThat(child.kill()).as("killed by SIGKILL").isEqualTo(128 + 9);
        }
        try (TestFactory restarted = TestFactory.start(otherHome)) {
            JsonNode done = awaitStatus(restarted, restarted.adminKey(), id, "completed");
            assertThat(done.path("stepsDone").asInt()).isEqualTo(total);
            assertThat(done.path("totalSteps").asInt()).isEqualTo(total);
            JsonNode metrics = json(restarted.get(JOBS + "/" + id + "/metrics", restarted.adminKey())).path("metrics");
            assertThat(metrics.findParents("kind").stream().filter(m -> m.path("kind").asText().equals("step")))
                    .as("each step once, those redone after the checkpoint included").hasSize(total);
            assertThat(restarted.get("/api/v1/models/acme/resumed", restarted.adminKey()).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aJobWhoseRunEndedTheProcessBeforeItsFirstStepIsNotResumedAgain(@TempDir Path otherHome) throws Exception {
        String id;
        // The kill stands for a native abort (llama.cpp aborts the process on a graph it cannot build).
        try (FactoryProcess.Child child = FactoryProcess.Child.start(otherHome,
                Map.of(PausePoints.PROPERTY, "training.run@doomed"))) {
            id = createInChild(HttpClient.newHttpClient(), child, job("doomed", "acme/doomed", 2, ""));
            child.awaitLine("paused at training.run@doomed", JOB_TIMEOUT);
            assertThat(child.kill()).as("killed by SIGKILL").isEqualTo(128 + 9);
        }
        try (TestFactory restarted = TestFactory.start(otherHome)) {
            JsonNode failed = awaitStatus(restarted, restarted.adminKey(), id, "failed");
            assertThat(failed.path("failure").asText()).contains("not resumed again").contains("step 0");
            assertThat(failed.path("stepsDone").asInt()).isZero();
        }
    }

    /** Imports the base, uploads the corpus and creates the job {@code body} in a factory process; returns its id. */
    private static String createInChild(HttpClient http, FactoryProcess.Child child, String body) throws Exception {
        String key = child.adminKey();
        assertThat(send(http, child.url(), key, "POST", "/api/v1/models/acme/base/versions", "{\"path\": \""
                + TestModels.tinyLlama().toAbsolutePath() + "\"}").statusCode()).isEqualTo(201);
        assertThat(send(http, child.url(), key, "PUT", "/api/v1/datasets/acme/capitals", corpus()).statusCode())
                .isEqualTo(201);
        HttpResponse<String> r = send(http, child.url(), key, "POST", JOBS, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return json(r).path("id").asText();
    }

    private static HttpResponse<String> send(HttpClient http, String url, String key, String method, String path,
                                             String body) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path)).header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json");
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
