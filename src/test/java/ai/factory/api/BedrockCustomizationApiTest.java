package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.config.Setting;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.bedrock.BedrockClient;
import software.amazon.awssdk.services.bedrock.model.AccessDeniedException;
import software.amazon.awssdk.services.bedrock.model.ConflictException;
import software.amazon.awssdk.services.bedrock.model.CreateModelCustomizationJobRequest;
import software.amazon.awssdk.services.bedrock.model.CustomModelSummary;
import software.amazon.awssdk.services.bedrock.model.GetCustomModelResponse;
import software.amazon.awssdk.services.bedrock.model.GetModelCustomizationJobResponse;
import software.amazon.awssdk.services.bedrock.model.ModelCustomizationJobStatus;
import software.amazon.awssdk.services.bedrock.model.ModelCustomizationJobSummary;
import software.amazon.awssdk.services.bedrock.model.ResourceNotFoundException;
import software.amazon.awssdk.services.bedrock.model.ValidationException;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeClient;
import software.amazon.awssdk.services.bedrockruntime.model.ContentBlock;
import software.amazon.awssdk.services.bedrockruntime.model.ConversationRole;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseResponse;
import software.amazon.awssdk.services.bedrockruntime.model.Message;

/**
 * Bedrock's model customization through the AWS SDK's BedrockClient and boto3, on the tiny model and a few dozen
 * question-and-answer lines: a job fine-tunes from a file under the import root, reports its losses, writes Bedrock's
 * metrics files, registers a custom model that deploys and answers Converse by its ARN; bad requests are the SDK's
 * typed exceptions and create nothing; a running job stops.
 */
@ServerTest
class BedrockCustomizationApiTest {
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(3);
    private static final String BASE = "acme/base";
    /** Few epochs: the job only has to complete, its loss falling is TrainingJobsApiTest's concern. */
    private static final Map<String, String> QUICK = Map.of("epochCount", "4", "learningRate", "0.02",
            "contextLength", "256");

    @TempDir
    static Path home;
    @TempDir
    static Path importRoot;
    @TempDir
    static Path elsewhere;

    static TestFactory factory;
    static BedrockSdk.AwsKey developerKey;
    static BedrockClient developer;
    static BedrockClient invoker;
    static BedrockRuntimeClient runtime;
    static Path corpus;

    @BeforeAll
    static void start() throws IOException {
        corpus = importRoot.resolve("data").resolve("capitals.jsonl");
        Files.createDirectories(corpus.getParent());
        try (InputStream in = BedrockCustomizationApiTest.class.getResourceAsStream(
                "/ai/factory/training/capitals.jsonl")) {
            Files.write(corpus, in.readAllBytes());
        }
        Files.writeString(importRoot.resolve("data").resolve("empty.jsonl"), "");
        Files.writeString(importRoot.resolve("data").resolve("broken.jsonl"),
                "{\"prompt\": \"Q\", \"completion\": \" A\"}\n{\"prompt\": \"Q\", \"completion\": \n");
        Files.writeString(elsewhere.resolve("outside.jsonl"), Files.readString(corpus));
        factory = TestFactory.start(home, Map.of(Setting.IMPORT_ROOT, importRoot.toString()));
        HttpResponse<String> base = factory.post("/api/v1/models/" + BASE + "/versions", factory.adminKey(),
                "{\"path\": \"" + TestModels.tinyLlama().toAbsolutePath() + "\"}");
        assertThat(base.statusCode()).as(base.body()).isEqualTo(201);
        developerKey = BedrockSdk.createAwsKey(factory, "tuner", "developer");
        BedrockSdk.AwsKey invokerKey = BedrockSdk.createAwsKey(factory, "caller", "invoker");
        developer = BedrockSdk.defaultControl(factory, developerKey);
        invoker = BedrockSdk.defaultControl(factory, invokerKey);
        runtime = BedrockSdk.defaultRuntime(factory, invokerKey);
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(developer, invoker, runtime, factory);
    }

    private static String fileUri(Path path) {
        return path.toUri().toString();
    }

    /** A request that trains quickly, with {@code changes} applied. */
    private static CreateModelCustomizationJobRequest job(String jobName, String modelName,
                                                          Consumer<CreateModelCustomizationJobRequest.Builder> changes) {
        CreateModelCustomizationJobRequest.Builder b = CreateModelCustomizationJobRequest.builder()
                .jobName(jobName).customModelName(modelName)
                .roleArn("arn:aws:iam::000000000000:role/ignored")
                .baseModelIdentifier(BASE).customizationType("FINE_TUNING")
                .hyperParameters(QUICK)
                .trainingDataConfig(t -> t.s3Uri(fileUri(corpus)))
                .outputDataConfig(o -> o.s3Uri(fileUri(importRoot.resolve("out"))));
        changes.accept(b);
        return b.build();
    }

    private static GetModelCustomizationJobResponse awaitEnded(BedrockClient client, String jobArn) {
        await().atMost(JOB_TIMEOUT).pollInterval(Duration.ofMillis(200)).until(() -> client.getModelCustomizationJob(
                r -> r.jobIdentifier(jobArn)).status() != ModelCustomizationJobStatus.IN_PROGRESS
                && client.getModelCustomizationJob(r -> r.jobIdentifier(jobArn)).status()
                != ModelCustomizationJobStatus.STOPPING);
        return client.getModelCustomizationJob(r -> r.jobIdentifier(jobArn));
    }

    @Test
    void aJobFineTunesWritesItsMetricsAndTheCustomModelAnswersByItsArn() throws IOException {
        // A few lines of the corpus to validate on, named as a dataset that exists.
        HttpResponse<String> check = factory.send(factory.request("/api/v1/datasets/acme/capitals-check",
                factory.createKey("dev-http", "default", "developer"))
                .PUT(HttpRequest.BodyPublishers.ofString(String.join("\n",
                        Files.readAllLines(corpus).subList(0, 4)))));
        assertThat(check.statusCode()).as(check.body()).isEqualTo(201);
        String jobArn = developer.createModelCustomizationJob(job("tune-capitals", "capitals", b -> b
                .validationDataConfig(v -> v.validators(x -> x.s3Uri("factory-dataset://acme/capitals-check")))))
                .jobArn();
        assertThat(jobArn).startsWith("arn:aws:bedrock:local:000000000000:model-customization-job/");

        GetModelCustomizationJobResponse done = awaitEnded(developer, jobArn);
        assertThat(done.status()).as(done.failureMessage()).isEqualTo(ModelCustomizationJobStatus.COMPLETED);
        assertThat(developer.getModelCustomizationJob(r -> r.jobIdentifier("tune-capitals")).jobArn())
                .as("by name as by ARN").isEqualTo(jobArn);
        assertThat(done.jobName()).isEqualTo("tune-capitals");
        assertThat(done.outputModelName()).isEqualTo("capitals");
        String modelArn = "arn:aws:bedrock:local:000000000000:custom-model/custom/capitals";
        assertThat(done.outputModelArn()).isEqualTo(modelArn);
        assertThat(done.baseModelArn()).isEqualTo("arn:aws:bedrock:local:000000000000:foundation-model/acme/base:1");
        assertThat(done.customizationTypeAsString()).isEqualTo("FINE_TUNING");
        assertThat(done.hyperParameters()).containsEntry("epochCount", "4").containsEntry("learningRate", "0.02");
        assertThat(done.trainingDataConfig().s3Uri()).isEqualTo(fileUri(corpus));
        assertThat(done.validationDataConfig().validators().getFirst().s3Uri())
                .isEqualTo("factory-dataset://acme/capitals-check");
        assertThat(done.trainingMetrics().trainingLoss()).isPositive();
        assertThat(done.validationMetrics()).hasSize(1);
        assertThat(done.validationMetrics().getFirst().validationLoss()).isPositive();
        assertThat(done.creationTime()).isBeforeOrEqualTo(done.endTime());
        assertThat(done.lastModifiedTime()).isEqualTo(done.endTime());

        Path metrics = importRoot.resolve("out").resolve("model-customization-job-" + jobArn.substring(
                jobArn.lastIndexOf('/') + 1));
        List<String> steps = Files.readAllLines(metrics.resolve("training_artifacts/step_wise_training_metrics.csv"));
        assertThat(steps.getFirst()).isEqualTo("step_number,epoch_number,training_loss,perplexity");
        assertThat(steps.get(1)).startsWith("0,1,");
        assertThat(steps).hasSizeGreaterThan(4);
        List<String> validation = Files.readAllLines(metrics.resolve(
                "validation_artifacts/post_fine_tuning_validation/validation/validation_metrics.csv"));
        assertThat(validation.getFirst()).isEqualTo("step_number,epoch_number,validation_loss,perplexity");
        assertThat(validation).hasSize(5);
        assertThat(validation.getLast().split(",")[1]).isEqualTo("4");

        GetCustomModelResponse model = developer.getCustomModel(r -> r.modelIdentifier(modelArn));
        assertThat(model.modelName()).isEqualTo("capitals");
        assertThat(model.jobArn()).isEqualTo(jobArn);
        assertThat(model.baseModelArn()).isEqualTo(done.baseModelArn());
        assertThat(model.modelStatusAsString()).isEqualTo("Active");
        assertThat(model.trainingMetrics()).isEqualTo(done.trainingMetrics());
        assertThat(model.hyperParameters()).isEqualTo(done.hyperParameters());
        assertThat(developer.getCustomModel(r -> r.modelIdentifier("capitals")).modelArn()).isEqualTo(modelArn);
        assertThat(developer.listCustomModels(r -> r.nameContains("capit")).modelSummaries())
                .extracting(CustomModelSummary::modelArn).containsExactly(modelArn);
        assertThat(developer.listCustomModels(r -> r.baseModelArnEquals(done.baseModelArn())).modelSummaries())
                .extracting(CustomModelSummary::modelArn).containsExactly(modelArn);
        assertThat(developer.listCustomModels(r -> r.baseModelArnEquals(done.baseModelArn() + "0")).modelSummaries())
                .isEmpty();
        assertThat(developer.listModelCustomizationJobs(r -> r.statusEquals("Completed"))
                .modelCustomizationJobSummaries()).extracting(ModelCustomizationJobSummary::jobArn).contains(jobArn);

        HttpResponse<String> deployed = factory.post("/api/v1/deployments", factory.adminKey(),
                "{\"model\": \"custom/capitals\", \"context\": 512}");
        assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(202);
        String deployment = json(deployed).path("id").asText();
        await().atMost(JOB_TIMEOUT).until(() -> json(factory.get("/api/v1/deployments/" + deployment,
                factory.adminKey())).path("state").asText().matches("ready|failed"));
        assertThat(json(factory.get("/api/v1/deployments/" + deployment, factory.adminKey())).path("state").asText())
                .isEqualTo("ready");
        ConverseResponse answer = runtime.converse(c -> c.modelId(modelArn)
                .messages(Message.builder().role(ConversationRole.USER)
                        .content(ContentBlock.fromText("What is the capital of Norland?")).build())
                .inferenceConfig(i -> i.maxTokens(8)));
        assertThat(answer.output().message().content()).isNotEmpty();

        developer.deleteCustomModel(r -> r.modelIdentifier(modelArn));
        assertThatThrownBy(() -> developer.getCustomModel(r -> r.modelIdentifier(modelArn)))
                .isInstanceOf(ResourceNotFoundException.class);
    }

    @Test
    void badRequestsAreTypedErrorsAndCreateNothing() {
        String datasetsBefore = factory.get("/api/v1/datasets", factory.adminKey()).body();
        int jobsBefore = developer.listModelCustomizationJobs(r -> {}).modelCustomizationJobSummaries().size();
        Map<String, Consumer<CreateModelCustomizationJobRequest.Builder>> refused = Map.ofEntries(
                Map.entry("customModelName", b -> b.customModelName(null)),
                Map.entry("jobName", b -> b.jobName("-leading-dash")),
                Map.entry("customizationType", b -> b.customizationType("CONTINUED_PRE_TRAINING")),
                Map.entry("epochCount", b -> b.hyperParameters(Map.of("epochCount", "0"))),
                Map.entry("learningRate", b -> b.hyperParameters(Map.of("learningRate", "0.5"))),
                Map.entry("dropout", b -> b.hyperParameters(Map.of("dropout", "0.1"))),
                Map.entry("line 2", b -> b.trainingDataConfig(t -> t.s3Uri(fileUri(importRoot.resolve(
                        "data/broken.jsonl"))))),
                Map.entry("empty", b -> b.trainingDataConfig(t -> t.s3Uri(fileUri(importRoot.resolve(
                        "data/empty.jsonl"))))),
                Map.entry("outside the import root", b -> b.trainingDataConfig(t -> t.s3Uri(fileUri(
                        elsewhere.resolve("outside.jsonl"))))),
                Map.entry("no such file", b -> b.trainingDataConfig(t -> t.s3Uri(fileUri(importRoot.resolve(
                        "data/missing.jsonl"))))),
                Map.entry("no dataset", b -> b.validationDataConfig(v -> v.validators(x -> x.s3Uri(
                        "factory-dataset://acme/none")))),
                Map.entry("S3", b -> b.outputDataConfig(o -> o.s3Uri("s3://bucket/out/"))),
                Map.entry("baseModelIdentifier", b -> b.baseModelIdentifier("arn:aws:bedrock:us-east-1::nonsense"))
        );
        refused.forEach((expected, change) -> assertThatThrownBy(() ->
                developer.createModelCustomizationJob(job("refused", "refused", change)))
                .as(expected).isInstanceOf(ValidationException.class).hasMessageContaining(expected));
        // The bad line is named, and the valid one before it is not held against the file.
        assertThatThrownBy(() -> developer.createModelCustomizationJob(job("refused", "refused",
                refused.get("line 2")))).hasMessageContaining("trainingDataConfig.s3Uri")
                .hasMessageNotContaining("line 1:");

        assertThatThrownBy(() -> developer.createModelCustomizationJob(job("refused", "refused",
                b -> b.baseModelIdentifier("acme/unknown")))).isInstanceOf(ResourceNotFoundException.class);
        assertThatThrownBy(() -> invoker.createModelCustomizationJob(job("refused", "refused", b -> {})))
                .isInstanceOf(AccessDeniedException.class);
        assertThatThrownBy(() -> developer.getModelCustomizationJob(r -> r.jobIdentifier("no-such-job")))
                .isInstanceOf(ResourceNotFoundException.class);
        assertThatThrownBy(() -> developer.stopModelCustomizationJob(r -> r.jobIdentifier(
                "arn:aws:bedrock:local:000000000000:model-customization-job/tj-missing")))
                .isInstanceOf(ResourceNotFoundException.class);
        assertThatThrownBy(() -> developer.getCustomModel(r -> r.modelIdentifier("refused")))
                .isInstanceOf(ResourceNotFoundException.class);
        assertThatThrownBy(() -> developer.listModelCustomizationJobs(r -> r.statusEquals("Sleeping")))
                .isInstanceOf(ValidationException.class).hasMessageContaining("statusEquals");

        assertThat(developer.listModelCustomizationJobs(r -> {}).modelCustomizationJobSummaries())
                .hasSize(jobsBefore);
        assertThat(factory.get("/api/v1/datasets", factory.adminKey()).body()).isEqualTo(datasetsBefore);
        assertThat(factory.get("/api/v1/models/custom/refused", factory.adminKey()).statusCode()).isEqualTo(404);
    }

    @Test
    void aRunningJobStopsAndItsNameAndTokenAreItsOwn() {
        CreateModelCustomizationJobRequest request = job("long-run", "long-run", b -> b.clientRequestToken("token-1")
                .hyperParameters(Map.of("epochCount", "1000", "learningRate", "0.02", "contextLength", "256")));
        String jobArn = developer.createModelCustomizationJob(request).jobArn();
        assertThat(developer.createModelCustomizationJob(request).jobArn()).as("the same token, the same job")
                .isEqualTo(jobArn);
        assertThatThrownBy(() -> developer.createModelCustomizationJob(job("long-run", "another", b -> {})))
                .isInstanceOf(ConflictException.class).hasMessageContaining("jobName");
        assertThatThrownBy(() -> developer.createModelCustomizationJob(job("another", "long-run", b -> {})))
                .isInstanceOf(ConflictException.class).hasMessageContaining("customModelName");

        developer.stopModelCustomizationJob(r -> r.jobIdentifier(jobArn));
        GetModelCustomizationJobResponse stopped = awaitEnded(developer, jobArn);
        assertThat(stopped.status()).isEqualTo(ModelCustomizationJobStatus.STOPPED);
        assertThat(stopped.outputModelArn()).isNull();
        assertThat(stopped.endTime()).isNotNull();
        assertThatThrownBy(() -> developer.stopModelCustomizationJob(r -> r.jobIdentifier(jobArn)))
                .isInstanceOf(ValidationException.class).hasMessageContaining("Stopped");
        assertThatThrownBy(() -> developer.getCustomModel(r -> r.modelIdentifier("long-run")))
                .isInstanceOf(ResourceNotFoundException.class);
        assertThat(developer.listModelCustomizationJobs(r -> r.statusEquals("Stopped").nameContains("long"))
                .modelCustomizationJobSummaries()).extracting(ModelCustomizationJobSummary::jobArn)
                .containsExactly(jobArn);
    }

    @Test
    void anotherProjectNeitherSeesNorStopsAJobNorTrainsOnItsModels() {
        assertThat(factory.post("/api/v1/projects", factory.adminKey(), "{\"name\":\"rivals\"}").statusCode())
                .isEqualTo(201);
        HttpResponse<String> created = factory.post("/api/v1/keys", factory.adminKey(),
                "{\"name\": \"rival\", \"aws\": true, \"role\": \"developer\", \"project\": \"rivals\"}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        BedrockSdk.AwsKey rivalKey = new BedrockSdk.AwsKey(json(created).path("id").asText(),
                json(created).path("accessKeyId").asText(), json(created).path("secretAccessKey").asText());
        String jobArn = developer.createModelCustomizationJob(job("private-run", "private-run", b -> b
                .hyperParameters(Map.of("epochCount", "1000", "learningRate", "0.02", "contextLength", "256"))))
                .jobArn();
        try (BedrockClient rival = BedrockSdk.defaultControl(factory, rivalKey)) {
            assertThatThrownBy(() -> rival.getModelCustomizationJob(r -> r.jobIdentifier(jobArn)))
                    .isInstanceOf(ResourceNotFoundException.class);
            assertThatThrownBy(() -> rival.stopModelCustomizationJob(r -> r.jobIdentifier("private-run")))
                    .isInstanceOf(ResourceNotFoundException.class);
            assertThat(rival.listModelCustomizationJobs(r -> {}).modelCustomizationJobSummaries()).isEmpty();
            assertThatThrownBy(() -> rival.createModelCustomizationJob(job("rival-run", "rival-run", b -> {})))
                    .as("the base model is another project's").isInstanceOf(ResourceNotFoundException.class);
        } finally {
            developer.stopModelCustomizationJob(r -> r.jobIdentifier(jobArn));
        }
        assertThat(awaitEnded(developer, jobArn).status()).isEqualTo(ModelCustomizationJobStatus.STOPPED);
    }

    @Test
    void boto3CreatesGetsListsAndStops() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Boto3ClientTest.python("import boto3")
                || "true".equals(System.getenv("CI")), "python3 with boto3 is not installed");
        Path script = home.resolve("boto3_customization.py");
        try (InputStream in = BedrockCustomizationApiTest.class.getResourceAsStream("boto3_customization.py")) {
            Files.write(script, in.readAllBytes());
        }
        ProcessBuilder pb = new ProcessBuilder("python3", script.toString());
        ClientProcess.clientDefaults(pb.environment(), home);
        pb.environment().putAll(Map.of("FACTORY_ENDPOINT", factory.url(),
                "AWS_ACCESS_KEY_ID", developerKey.accessKeyId(), "AWS_SECRET_ACCESS_KEY",
                developerKey.secretAccessKey(), "FACTORY_BASE_MODEL", BASE, "FACTORY_TRAINING_URI", fileUri(corpus),
                "FACTORY_OUTPUT_URI", fileUri(importRoot.resolve("boto3-out"))));
        ClientProcess.Result r = ClientProcess.run(pb, 180);
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode out = Json.mapper().readTree(r.out());

        String jobArn = out.path("jobArn").asText();
        assertThat(jobArn).startsWith("arn:aws:bedrock:local:000000000000:model-customization-job/");
        assertThat(out.at("/get/jobName").asText()).isEqualTo("boto3-job");
        assertThat(out.at("/get/status").asText()).isIn("InProgress", "Stopping");
        assertThat(out.at("/get/hyperParameters/epochCount").asText()).isEqualTo("1000");
        assertThat(ClientProcess.strings(out.path("listed"))).contains(jobArn);
        assertThat(out.at("/stopped/status").asText()).isEqualTo("Stopped");
        assertThat(out.at("/errors/badType/code").asText()).isEqualTo("ValidationException");
        assertThat(out.at("/errors/badType/status").asInt()).isEqualTo(400);
        assertThat(out.at("/errors/missing/code").asText()).isEqualTo("ResourceNotFoundException");
        assertThat(out.at("/errors/missing/status").asInt()).isEqualTo(404);
    }

}
