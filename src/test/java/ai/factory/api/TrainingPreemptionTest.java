package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.config.Setting;
import ai.factory.fleet.HostMemory;
import ai.factory.training.TrainingJobs;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Serving comes before fine-tuning for memory: under a {@code memory.limit} that holds a running job or a deployment
 * but not both, creating the deployment takes the job's memory. The job writes a checkpoint at the step it reached,
 * goes back to the queue, waits while the deployment holds the memory, resumes from that checkpoint once it is
 * deleted, and finishes with every step done once. A deployment that would not fit even with the job's memory is
 * refused and leaves the job running.
 *
 * <p>The limit stands in for a machine whose memory is full: the held amounts are the factory's own estimates, read
 * from a first run on the same home without a limit.
 */
@ServerTest
class TrainingPreemptionTest {
    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final String JOBS = "/api/v1/training-jobs";
    private static final String DEPLOYMENTS = "/api/v1/deployments";
    private static final String DEPLOYMENT = "{\"model\": \"acme/chat\", \"context\": 512}";

    @TempDir
    static Path home;

    @Test
    void aDeploymentTakesARunningJobsMemoryAndTheJobResumesFromThePointItReachedOnceItIsFree() throws IOException {
        long training;
        long deployment;
        try (TestFactory probe = TestFactory.start(home)) {
            String admin = probe.adminKey();
            assertThat(probe.post("/api/v1/models/acme/base/versions", admin, "{\"path\": \""
                    + TestModels.tinyLlama().toAbsolutePath() + "\"}").statusCode()).isEqualTo(201);
            assertThat(probe.post("/api/v1/models/acme/chat/versions", admin, "{\"path\": \""
                    + TestModels.tinyLlama().toAbsolutePath() + "\"}").statusCode()).isEqualTo(201);
            HttpResponse<String> uploaded = probe.send(probe.request("/api/v1/datasets/acme/capitals", admin)
                    .PUT(HttpRequest.BodyPublishers.ofString(corpus())));
            assertThat(uploaded.statusCode()).as(uploaded.body()).isEqualTo(201);
            String job = created(probe.post(JOBS, admin, job("probe", 1000)));
            await().atMost(TIMEOUT).until(() -> probe.factory().hostMemory().held(HostMemory.trainingJob(job)) > 0);
            training = probe.factory().hostMemory().held(HostMemory.trainingJob(job));
            String dep = json(probe.post(DEPLOYMENTS, admin, DEPLOYMENT)).path("id").asText();
            deployment = probe.factory().hostMemory().held(HostMemory.deployment(dep));
            assertThat(deployment).isPositive();
            assertThat(probe.post(JOBS + "/" + job + "/cancel", admin, "").statusCode()).isEqualTo(200);
            assertThat(probe.send(probe.request(DEPLOYMENTS + "/" + dep, admin).DELETE()).statusCode()).isEqualTo(200);
        }

        long limit = training + deployment - (1 << 20);
        try (TestFactory factory = TestFactory.start(home, Map.of(Setting.MEMORY_LIMIT, String.valueOf(limit)))) {
            String admin = factory.adminKey();
            String job = created(factory.post(JOBS, admin, job("yields", 8)));
            await().atMost(TIMEOUT).until(() -> json(factory.get(JOBS + "/" + job, admin)).path("stepsDone").asInt() > 0);

            JsonNode memory = json(factory.get("/api/v1/fleet", admin)).path("nodes").path(0).path("memory");
            assertThat(memory.path("limit").asLong()).isEqualTo(limit);
            assertThat(memory.path("heldByTraining").asLong()).isEqualTo(training);
            assertThat(memory.path("free").asLong()).isEqualTo(limit - training);

            HttpResponse<String> tooBig = factory.post(DEPLOYMENTS, admin,
                    "{\"model\": \"acme/chat\", \"context\": 512, \"replicas\": 4}");
            assertThat(tooBig.statusCode()).as(tooBig.body()).isEqualTo(400);
            assertThat(json(tooBig).path("error").path("message").asText()).contains("does not fit", "memory.limit");
            assertThat(json(factory.get(JOBS + "/" + job, admin)).path("status").asText())
                    .as("a job is not stopped for a deployment its memory would not make room for")
                    .isEqualTo("in-progress");

            HttpResponse<String> deployed = factory.post(DEPLOYMENTS, admin, DEPLOYMENT);
            assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(202);
            String dep = json(deployed).path("id").asText();
            JsonNode paused = json(factory.get(JOBS + "/" + job, admin));
            assertThat(paused.path("status").asText()).as(paused.toString()).isEqualTo("queued");
            int pausedAt = paused.path("stepsDone").asInt();
            assertThat(pausedAt).isLessThan(paused.path("totalSteps").asInt());
            assertThat(paused.path("checkpointStep").asInt()).as("a checkpoint of the step it reached")
                    .isEqualTo(pausedAt);
            JsonNode audit = json(factory.get("/api/v1/audit?action=" + TrainingJobs.AUDIT_PAUSED, admin))
                    .path("records");
            assertThat(audit.toString()).contains(job, "acme/chat", "resumes from step " + pausedAt);

            await().atMost(TIMEOUT).until(() -> json(factory.get(DEPLOYMENTS + "/" + dep, admin)).path("state")
                    .asText().matches("ready|failed"));
            assertThat(json(factory.get(DEPLOYMENTS + "/" + dep, admin)).path("state").asText()).isEqualTo("ready");
            memory = json(factory.get("/api/v1/fleet", admin)).path("nodes").path(0).path("memory");
            assertThat(memory.path("heldByDeployments").asLong()).isEqualTo(deployment);
            assertThat(memory.path("heldByTraining").asLong()).isZero();
            HttpResponse<String> answer = factory.post("/v1/completions", admin,
                    "{\"model\": \"acme/chat\", \"prompt\": \"Question:\", \"max_tokens\": 4}");
            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            JsonNode waiting = json(factory.get(JOBS + "/" + job, admin));
            assertThat(waiting.path("status").asText()).as("it waits while the deployment holds the memory")
                    .isEqualTo("queued");
            assertThat(waiting.path("stepsDone").asInt()).isEqualTo(pausedAt);

            assertThat(factory.send(factory.request(DEPLOYMENTS + "/" + dep, admin).DELETE()).statusCode())
                    .isEqualTo(200);
            await().atMost(TIMEOUT).pollInterval(Duration.ofMillis(200)).until(() ->
                    json(factory.get(JOBS + "/" + job, admin)).path("status").asText().matches("completed|failed"));
            JsonNode done = json(factory.get(JOBS + "/" + job, admin));
            assertThat(done.path("status").asText()).as(done.toString()).isEqualTo("completed");
            int total = done.path("totalSteps").asInt();
            assertThat(done.path("stepsDone").asInt()).isEqualTo(total);
            JsonNode metrics = json(factory.get(JOBS + "/" + job + "/metrics", admin)).path("metrics");
            assertThat(metrics.findParents("kind").stream().filter(m -> m.path("kind").asText().equals("step")))
                    .as("each step once: none was lost or done twice across the pause").hasSize(total);
            assertThat(factory.factory().hostMemory().held(HostMemory.trainingJob(job))).isZero();
        }
    }

    private static String created(HttpResponse<String> r) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return json(r).path("id").asText();
    }

    private static String job(String name, int epochs) {
        return "{\"name\": \"" + name + "\", \"baseModel\": \"acme/base\", \"trainingDataset\": \"acme/capitals\", "
                + "\"outputModel\": \"acme/" + name + "-tuned\", \"hyperparameters\": {\"epochCount\": \"" + epochs
                + "\", \"learningRate\": 0.02, \"contextLength\": 256}}";
    }

    private static String corpus() throws IOException {
        try (InputStream in = TrainingPreemptionTest.class.getResourceAsStream("/ai/factory/training/capitals.jsonl")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
