package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.config.Setting;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.bedrock.BedrockClient;
import software.amazon.awssdk.services.bedrock.model.AccessDeniedException;
import software.amazon.awssdk.services.bedrock.model.ConflictException;
import software.amazon.awssdk.services.bedrock.model.FoundationModelDetails;
import software.amazon.awssdk.services.bedrock.model.FoundationModelSummary;
import software.amazon.awssdk.services.bedrock.model.GetImportedModelResponse;
import software.amazon.awssdk.services.bedrock.model.GetModelImportJobResponse;
import software.amazon.awssdk.services.bedrock.model.ModelImportJobStatus;
import software.amazon.awssdk.services.bedrock.model.ModelModality;
import software.amazon.awssdk.services.bedrock.model.ResourceNotFoundException;
import software.amazon.awssdk.services.bedrock.model.ValidationException;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeClient;
import software.amazon.awssdk.services.bedrockruntime.model.ContentBlock;
import software.amazon.awssdk.services.bedrockruntime.model.ConversationRole;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseResponse;
import software.amazon.awssdk.services.bedrockruntime.model.Message;

/** Bedrock's control plane (foundation models, custom model import) through the AWS SDK's BedrockClient. */
@ServerTest
class BedrockControlPlaneApiTest {
    static final String TINY = "acme/tiny";
    static final String EMBEDDING = "builtin/all-minilm-l6-v2";

    @TempDir
    static Path home;
    @TempDir
    static Path importRoot;

    static TestFactory factory;
    static BedrockClient admin;
    static BedrockClient invoker;
    static BedrockRuntimeClient runtime;

    @BeforeAll
    static void start() throws IOException {
        Files.copy(TestModels.tinyLlama(), importRoot.resolve("tiny.gguf"));
        Files.createDirectories(importRoot.resolve("folder"));
        Files.copy(TestModels.tinyLlama(), importRoot.resolve("folder").resolve("model.gguf"));
        Files.writeString(importRoot.resolve("notes.txt"), "not a model");
        Files.writeString(importRoot.resolve("garbage.gguf"), "this is not a GGUF file at all");
        factory = TestFactory.start(home, TestFactory.withBuiltin(Map.of(Setting.IMPORT_ROOT, importRoot.toString())));
        factory.deployGguf(TINY, TestModels.tinyLlama(), "\"context\": 256");
        BedrockSdk.AwsKey adminKey = BedrockSdk.createAwsKey(factory, "control-admin", "admin");
        BedrockSdk.AwsKey invokerKey = BedrockSdk.createAwsKey(factory, "control-invoker", "invoker");
        admin = BedrockSdk.control(factory, adminKey);
        invoker = BedrockSdk.control(factory, invokerKey);
        runtime = BedrockSdk.runtime(factory, Region.US_EAST_1, invokerKey.accessKeyId(), invokerKey.secretAccessKey());
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(admin, invoker, runtime, factory);
    }

    private static String importJob(String jobName, String modelName, String uri) {
        return admin.createModelImportJob(r -> r.jobName(jobName).importedModelName(modelName)
                .roleArn("arn:aws:iam::000000000000:role/ignored")
                .modelDataSource(d -> d.s3DataSource(s -> s.s3Uri(uri)))).jobArn();
    }

    private static GetModelImportJobResponse awaitEnded(String jobArn) {
        await().atMost(Duration.ofMinutes(2)).until(() ->
                admin.getModelImportJob(r -> r.jobIdentifier(jobArn)).status() != ModelImportJobStatus.IN_PROGRESS);
        return admin.getModelImportJob(r -> r.jobIdentifier(jobArn));
    }

    private static ConverseResponse converse(String modelId) {
        return runtime.converse(c -> c.modelId(modelId)
                .messages(Message.builder().role(ConversationRole.USER).content(ContentBlock.fromText("Hello")).build())
                .inferenceConfig(i -> i.maxTokens(4)));
    }

    @Test
    void listFiltersAsBedrockDoes() {
        assertThat(invoker.listFoundationModels(r -> r.byOutputModality(ModelModality.EMBEDDING)).modelSummaries())
                .extracting(FoundationModelSummary::modelId).contains(EMBEDDING).doesNotContain(TINY);
        assertThat(invoker.listFoundationModels(r -> r.byOutputModality(ModelModality.TEXT)).modelSummaries())
                .extracting(FoundationModelSummary::modelId).contains(TINY).doesNotContain(EMBEDDING);
        assertThat(invoker.listFoundationModels(r -> r.byProvider("ACME")).modelSummaries())
                .extracting(FoundationModelSummary::providerName).isNotEmpty().containsOnly("acme");
        assertThat(invoker.listFoundationModels(r -> r.byInferenceType("PROVISIONED")).modelSummaries()).isEmpty();
        assertThat(invoker.listFoundationModels(r -> r.byCustomizationType("FINE_TUNING")).modelSummaries()).isEmpty();
        assertThatThrownBy(() -> invoker.listFoundationModels(r -> r.byInferenceType("SOMETIMES")))
                .isInstanceOf(software.amazon.awssdk.services.bedrock.model.ValidationException.class)
                .hasMessageContaining("byInferenceType");
    }

    @Test
    void listsDeployedModelsWithTheirModalities() {
        var summaries = invoker.listFoundationModels(r -> {}).modelSummaries();

        assertThat(summaries).extracting(FoundationModelSummary::modelId).contains(TINY, EMBEDDING);
        FoundationModelSummary tiny = summaries.stream().filter(s -> s.modelId().equals(TINY)).findFirst().orElseThrow();
        assertThat(tiny.modelArn()).isEqualTo("arn:aws:bedrock:local:000000000000:foundation-model/acme/tiny");
        assertThat(tiny.modelName()).isEqualTo("tiny");
        assertThat(tiny.providerName()).isEqualTo("acme");
        assertThat(tiny.inputModalities()).containsExactly(ModelModality.TEXT);
        assertThat(tiny.outputModalities()).containsExactly(ModelModality.TEXT);
        assertThat(tiny.responseStreamingSupported()).isTrue();
        assertThat(tiny.customizationsSupported()).isEmpty();
        assertThat(tiny.inferenceTypesSupportedAsStrings()).containsExactly("ON_DEMAND");
        assertThat(tiny.modelLifecycle().statusAsString()).isEqualTo("ACTIVE");
        FoundationModelSummary embedding = summaries.stream().filter(s -> s.modelId().equals(EMBEDDING))
                .findFirst().orElseThrow();
        assertThat(embedding.outputModalities()).containsExactly(ModelModality.EMBEDDING);
        assertThat(embedding.responseStreamingSupported()).isFalse();
    }

    @Test
    void getsOneFoundationModelByIdOrArn() {
        FoundationModelDetails byId = invoker.getFoundationModel(r -> r.modelIdentifier(TINY)).modelDetails();
        FoundationModelDetails byArn = invoker.getFoundationModel(r -> r.modelIdentifier(byId.modelArn())).modelDetails();

        assertThat(byId.modelId()).isEqualTo(TINY);
        assertThat(byArn).isEqualTo(byId);
        assertThat(converse(byId.modelArn()).output().message().content()).isNotEmpty();
    }

    @Test
    void unknownFoundationModelIsResourceNotFound() {
        assertThatThrownBy(() -> invoker.getFoundationModel(r -> r.modelIdentifier("acme/nothing")))
                .isInstanceOf(ResourceNotFoundException.class)
                .hasMessageContaining("no foundation model 'acme/nothing'");
    }

    @Test
    void importsDeploysServesAndDeletesAModel() {
        String jobArn = importJob("import-tiny", "tiny-import", "file://" + importRoot.resolve("tiny.gguf"));
        assertThat(jobArn).startsWith("arn:aws:bedrock:local:000000000000:model-import-job/");

        GetModelImportJobResponse job = awaitEnded(jobArn);
        assertThat(job.status()).as(job.failureMessage()).isEqualTo(ModelImportJobStatus.COMPLETED);
        assertThat(job.jobName()).isEqualTo("import-tiny");
        assertThat(job.importedModelName()).isEqualTo("tiny-import");
        assertThat(job.endTime()).isNotNull();
        assertThat(admin.listModelImportJobs(r -> {}).modelImportJobSummaries())
                .anySatisfy(s -> {
                    assertThat(s.jobArn()).isEqualTo(jobArn);
                    assertThat(s.status()).isEqualTo(ModelImportJobStatus.COMPLETED);
                });

        GetImportedModelResponse model = invoker.getImportedModel(r -> r.modelIdentifier("tiny-import"));
        assertThat(model.modelArn()).isEqualTo(job.importedModelArn())
                .isEqualTo("arn:aws:bedrock:local:000000000000:imported-model/imported/tiny-import");
        assertThat(model.jobArn()).isEqualTo(jobArn);
        assertThat(model.modelArchitecture()).isEqualTo("llama");
        assertThat(invoker.listImportedModels(r -> {}).modelSummaries())
                .anySatisfy(s -> assertThat(s.modelArn()).isEqualTo(model.modelArn()));
        assertThat(converse(model.modelArn()).output().message().content().getFirst().text()).isNotNull();
        assertThatThrownBy(() -> importJob("import-tiny-again", "tiny-import", "file://" + importRoot.resolve("tiny.gguf")))
                .isInstanceOf(ConflictException.class).hasMessageContaining("exists already");

        admin.deleteImportedModel(r -> r.modelIdentifier(model.modelArn()));

        assertThatThrownBy(() -> converse(model.modelArn()))
                .isInstanceOf(software.amazon.awssdk.services.bedrockruntime.model.ResourceNotFoundException.class);
        assertThatThrownBy(() -> invoker.getImportedModel(r -> r.modelIdentifier(model.modelArn())))
                .isInstanceOf(ResourceNotFoundException.class);
    }

    @Test
    void importsTheOneGgufOfAFolder() {
        GetModelImportJobResponse job = awaitEnded(
                importJob("import-folder", "folder-import", "file://" + importRoot.resolve("folder")));

        assertThat(job.status()).as(job.failureMessage()).isEqualTo(ModelImportJobStatus.COMPLETED);
        admin.deleteImportedModel(r -> r.modelIdentifier("folder-import"));
    }

    @Test
    void refusesSourcesThatCannotBeImported() {
        assertThatThrownBy(() -> importJob("outside", "outside", "file://" + TestModels.tinyLlama().toAbsolutePath()))
                .isInstanceOf(ValidationException.class).hasMessageContaining("outside the import root");
        assertThatThrownBy(() -> importJob("missing", "missing", "file://" + importRoot.resolve("none.gguf")))
                .isInstanceOf(ValidationException.class).hasMessageContaining("no such file");
        assertThatThrownBy(() -> importJob("text", "text", "file://" + importRoot.resolve("notes.txt")))
                .isInstanceOf(ValidationException.class).hasMessageContaining("only GGUF models");
        assertThatThrownBy(() -> importJob("s3", "s3", "s3://bucket/model/"))
                .isInstanceOf(ValidationException.class)
                .hasMessageContaining("S3 sources need an S3-compatible store configured");
        assertThat(invoker.listFoundationModels(r -> {}).modelSummaries()).isNotEmpty();
    }

    @Test
    void aFileThatIsNotGgufFailsTheJobWithTheReason() {
        GetModelImportJobResponse job = awaitEnded(
                importJob("import-garbage", "garbage", "file://" + importRoot.resolve("garbage.gguf")));

        assertThat(job.status()).isEqualTo(ModelImportJobStatus.FAILED);
        assertThat(job.failureMessage()).containsIgnoringCase("gguf");
        assertThatThrownBy(() -> invoker.getImportedModel(r -> r.modelIdentifier("garbage")))
                .isInstanceOf(ResourceNotFoundException.class);
    }

    @Test
    void aDuplicateJobNameIsAConflict() {
        String uri = "file://" + importRoot.resolve("garbage.gguf");
        awaitEnded(importJob("import-twice", "twice", uri));

        assertThatThrownBy(() -> importJob("import-twice", "twice-again", uri)).isInstanceOf(ConflictException.class);
    }

    @Test
    void onlyAdminsCreateOrDelete() {
        assertThatThrownBy(() -> invoker.createModelImportJob(r -> r.jobName("nope").importedModelName("nope")
                .roleArn("arn:aws:iam::000000000000:role/ignored")
                .modelDataSource(d -> d.s3DataSource(s -> s.s3Uri("file://" + importRoot.resolve("tiny.gguf"))))))
                .isInstanceOf(AccessDeniedException.class);
        assertThatThrownBy(() -> invoker.deleteImportedModel(r -> r.modelIdentifier("tiny-import")))
                .isInstanceOf(AccessDeniedException.class);
    }

    @Test
    void malformedJsonIsAValidationException() {
        HttpResponse<String> r = factory.post("/model-import-jobs", factory.adminKey(), "{not json");

        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.headers().firstValue("x-amzn-ErrorType")).hasValue("ValidationException");
        assertThat(factory.get("/foundation-models", factory.adminKey()).statusCode()).isEqualTo(200);
    }

    @Test
    void importingFromDiskIsRefusedWithoutAnImportRoot(@TempDir Path otherHome) {
        try (TestFactory plain = TestFactory.start(otherHome)) {
            HttpResponse<String> r = plain.post("/model-import-jobs", plain.adminKey(), """
                    {"jobName": "j", "importedModelName": "m", "roleArn": "arn:aws:iam::0:role/r",
                     "modelDataSource": {"s3DataSource": {"s3Uri": "file://%s"}}}""".formatted(importRoot.resolve("tiny.gguf")));

            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(r.headers().firstValue("x-amzn-ErrorType")).hasValue("ValidationException");
            assertThat(json(r).path("message").asText()).contains("models.importRoot (FACTORY_IMPORT_ROOT)");
        }
    }

    @Test
    void unknownJobIsResourceNotFound() {
        assertThatThrownBy(() -> invoker.getModelImportJob(r -> r.jobIdentifier("nope")))
                .isInstanceOf(ResourceNotFoundException.class);
    }
}
