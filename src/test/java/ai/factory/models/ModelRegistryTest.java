package ai.factory.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.TestModels;
import ai.factory.models.ModelRegistry.Upload;
import ai.factory.identity.Principal;
import ai.factory.identity.Role;
import ai.factory.security.keys.TestKeys;
import ai.factory.storage.BlobStore;
import ai.factory.storage.Database;
import ai.factory.storage.StatementCounter;
import ai.factory.storage.TestDatabases;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ModelRegistryTest {
    private static final Principal ADMIN = new Principal("p-admin", "admin", "default", Role.ADMIN);
    private static final Principal INVOKER = new Principal("p-app", "app", "default", Role.INVOKER);
    private static final ModelName TINY = ModelName.parse("acme/llama-2-tiny");

    @TempDir
    Path tempDir;

    private ModelRegistry registry(Database db) {
        return new ModelRegistry(db.jdbi(), new BlobStore(tempDir.resolve("blobs")), TestKeys.hierarchy(db.jdbi(), tempDir),
                Clock.systemUTC(), 1L << 30);
    }

    private Stream<Path> blobFiles() throws IOException {
        return Files.walk(tempDir.resolve("blobs")).filter(Files::isRegularFile);
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void importsTheTinyLlamaAndReadsItsMetadata(TestDatabases.Kind kind) throws IOException {
        Path gguf = TestModels.tinyLlama();
        try (Database db = TestDatabases.open(kind, tempDir)) {
            ModelRegistry registry = registry(db);
            ModelVersion v = registry.importPath(TINY, gguf, Optional.empty(), ADMIN);

            assertThat(v.version()).isEqualTo(1);
            assertThat(v.format()).isEqualTo(ModelFormat.GGUF);
            assertThat(v.metadata()).containsEntry("architecture", "llama").containsEntry("vocabularySize", 32000);
            assertThat(v.files()).singleElement().satisfies(f -> {
                assertThat(f.path()).isEqualTo("llama-2-tiny-random.gguf");
                assertThat(f.size()).isEqualTo(Files.size(gguf));
                assertThat(f.sha256()).isEqualTo("81f226c62d28ed4a1a9b9fa080fcd9f0cc40e0f9d5680036583ff98fbcd035cb");
            });
            assertThat(v.importedBy()).isEqualTo(ADMIN.id());
            assertThat(v.source()).isEqualTo("file:" + gguf.toAbsolutePath().normalize());

            // round trip: what was recorded reads back the same
            Model model = registry.get(TINY);
            assertThat(model.versions()).singleElement().isEqualTo(
                    new ModelVersion(v.model(), v.version(), v.format(), model.latest().metadata(), v.files(),
                            model.latest().importedAt(), v.importedBy(), v.source()));
            assertThat(model.latest().metadata()).containsEntry("architecture", "llama");
            assertThat(registry.list()).extracting(Model::name).containsExactly(TINY);
            assertThat(registry.readAllBytes(v, "llama-2-tiny-random.gguf")).isEqualTo(Files.readAllBytes(gguf));
            assertThat(Files.readAllBytes(registry.blobPath(v, "llama-2-tiny-random.gguf")))
                    .as("on disk: ciphertext").isNotEqualTo(Files.readAllBytes(gguf));

            ModelVersion second = registry.importUpload(TINY, new Upload("tiny.gguf", Files.newInputStream(gguf), null),
                    Optional.empty(), ADMIN);
            assertThat(second.version()).isEqualTo(2);
            assertThat(registry.resolve(ModelRef.parse("acme/llama-2-tiny")).version()).isEqualTo(2);
            assertThat(registry.resolve(ModelRef.parse("acme/llama-2-tiny:1")).version()).isEqualTo(1);
            assertThat(blobFiles()).hasSize(1);
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void rejectsTruncatedAndCorruptGgufsAndStoresNothing(TestDatabases.Kind kind) throws IOException {
        byte[] good = Files.readAllBytes(TestModels.tinyLlama());
        try (Database db = TestDatabases.open(kind, tempDir)) {
            ModelRegistry registry = registry(db);
            byte[] truncated = java.util.Arrays.copyOf(good, good.length / 2);
            assertThatThrownBy(() -> registry.importUpload(TINY, new Upload("t.gguf", new ByteArrayInputStream(truncated),
                    null), Optional.empty(), ADMIN))
                    .isInstanceOf(FactoryException.class)
                    .hasMessageContaining("truncated")
                    .extracting(e -> ((FactoryException) e).code()).isEqualTo(ErrorCode.INVALID_REQUEST);

            byte[] corrupt = good.clone();
            corrupt[8] = (byte) 0xff; // tensor count becomes absurd
            corrupt[15] = (byte) 0x7f;
            assertThatThrownBy(() -> registry.importUpload(TINY, new Upload("c.gguf", new ByteArrayInputStream(corrupt),
                    null), Optional.empty(), ADMIN))
                    .isInstanceOf(FactoryException.class)
                    .extracting(e -> ((FactoryException) e).code()).isEqualTo(ErrorCode.INVALID_REQUEST);

            assertThatThrownBy(() -> registry.importUpload(TINY, new Upload("x.bin",
                    new ByteArrayInputStream("hello".getBytes()), null), Optional.empty(), ADMIN))
                    .isInstanceOf(FactoryException.class).hasMessageContaining("not a model file");
            assertThatThrownBy(() -> registry.importUpload(TINY, new Upload("x.gguf",
                    new ByteArrayInputStream(good), "00".repeat(32)), Optional.empty(), ADMIN))
                    .isInstanceOf(FactoryException.class).hasMessageContaining("digest mismatch");

            assertThat(registry.list()).isEmpty();
            assertThat(blobFiles()).isEmpty();
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void concurrentImportsOfOneFileStoreOneBlobAndDistinctVersions(TestDatabases.Kind kind) throws Exception {
        Path gguf = TestModels.tinyLlama();
        try (Database db = TestDatabases.open(kind, tempDir);
             ExecutorService pool = Executors.newFixedThreadPool(4)) {
            ModelRegistry registry = registry(db);
            List<Callable<ModelVersion>> imports = List.of(
                    () -> registry.importPath(TINY, gguf, Optional.empty(), ADMIN),
                    () -> registry.importPath(TINY, gguf, Optional.empty(), ADMIN),
                    () -> registry.importPath(ModelName.parse("other/tiny"), gguf, Optional.empty(), ADMIN),
                    () -> registry.importPath(TINY, gguf, Optional.empty(), ADMIN));
            List<ModelVersion> done = pool.invokeAll(imports).stream().map(f -> {
                try {
                    return f.get();
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }).toList();

            assertThat(done).filteredOn(v -> v.model().equals(TINY)).extracting(ModelVersion::version)
                    .containsExactlyInAnyOrder(1, 2, 3);
            assertThat(blobFiles()).hasSize(1);
            assertThat(Files.list(tempDir.resolve("blobs").resolve("tmp"))).isEmpty();
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void deleteRefusesWhileDeployedAndRemovesUnsharedBlobs(TestDatabases.Kind kind) throws IOException {
        Path gguf = TestModels.tinyLlama();
        try (Database db = TestDatabases.open(kind, tempDir)) {
            ModelRegistry registry = registry(db);
            registry.importPath(TINY, gguf, Optional.empty(), ADMIN);
            registry.importPath(ModelName.parse("other/tiny"), gguf, Optional.empty(), ADMIN);
            db.jdbi().useHandle(h -> h.createUpdate("INSERT INTO deployments (id, model_name, version, state, replicas, "
                    + "created_at, created_by) VALUES ('dep-1', 'acme/llama-2-tiny', 1, 'ready', 1, :at, 'p-admin')")
                    .bind("at", Timestamp.from(Instant.now())).execute());

            assertThatThrownBy(() -> registry.delete(ModelRef.parse("acme/llama-2-tiny")))
                    .isInstanceOf(FactoryException.class)
                    .hasMessageContaining("is deployed (deployment dep-1)")
                    .extracting(e -> ((FactoryException) e).code()).isEqualTo(ErrorCode.CONFLICT);
            assertThat(registry.get(TINY).versions()).hasSize(1);

            db.jdbi().useHandle(h -> h.execute("DELETE FROM deployments"));
            registry.delete(new ModelRef(TINY, OptionalInt.of(1)));
            assertThat(registry.find(TINY)).isEmpty();
            assertThat(blobFiles()).as("still used by other/tiny").hasSize(1);

            registry.delete(ModelRef.parse("other/tiny"));
            assertThat(blobFiles()).isEmpty();
            assertThatThrownBy(() -> registry.get(TINY))
                    .extracting(e -> ((FactoryException) e).code()).isEqualTo(ErrorCode.NOT_FOUND);
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void modelsBelongToAProjectAndCarryAClassification(TestDatabases.Kind kind) {
        Path gguf = TestModels.tinyLlama();
        try (Database db = TestDatabases.open(kind, tempDir)) {
            ModelRegistry registry = registry(db);
            registry.importPath(TINY, gguf, Optional.empty(), INVOKER,
                    new ModelRegistry.Placement("alpha", "restricted"));
            assertThat(registry.get(TINY).project()).isEqualTo("alpha");
            assertThat(registry.get(TINY).classification()).isEqualTo("restricted");
            // A new version stays in the model's project, whoever imports it.
            registry.importPath(TINY, gguf, Optional.empty(), ADMIN);
            assertThat(registry.get(TINY).project()).isEqualTo("alpha");
            assertThat(registry.get(TINY).versions()).hasSize(2);
            assertThatThrownBy(() -> registry.importPath(TINY, gguf, Optional.empty(), ADMIN,
                    new ModelRegistry.Placement("beta", null)))
                    .hasMessageContaining("belongs to project 'alpha'")
                    .extracting(e -> ((FactoryException) e).code()).isEqualTo(ErrorCode.CONFLICT);
            assertThat(registry.get(TINY).versions()).hasSize(2);

            assertThat(registry.classify(TINY, "internal").classification()).isEqualTo("internal");
            assertThatThrownBy(() -> registry.classify(TINY, "Top Secret!"))
                    .extracting(e -> ((FactoryException) e).code()).isEqualTo(ErrorCode.INVALID_REQUEST);
            assertThatThrownBy(() -> registry.classify(ModelName.parse("acme/none"), "internal"))
                    .extracting(e -> ((FactoryException) e).code()).isEqualTo(ErrorCode.NOT_FOUND);
            registry.importPath(ModelName.parse("other/tiny"), gguf, Optional.empty(), INVOKER);
            assertThat(registry.get(ModelName.parse("other/tiny")).project()).isEqualTo("default");
            assertThat(registry.get(ModelName.parse("other/tiny")).classification()).isEqualTo("internal");
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void listReadsEveryModelInTwoQueriesAndFindReadsAModelOnceUntilAWriteChangesIt(TestDatabases.Kind kind) {
        Path gguf = TestModels.tinyLlama();
        try (Database db = TestDatabases.open(kind, tempDir)) {
            ModelRegistry registry = registry(db);
            for (String name : List.of("acme/a", "acme/b", "beta/c")) {
                registry.importPath(ModelName.parse(name), gguf, Optional.empty(), ADMIN);
            }
            registry.importPath(ModelName.parse("acme/a"), gguf, Optional.empty(), ADMIN);
            try (StatementCounter counter = StatementCounter.install(db.jdbi())) {
                List<Model> all = registry.list();
                assertThat(counter.sql()).as("whatever the number of models").hasSize(2);
                assertThat(all).extracting(m -> m.name().toString()).containsExactly("acme/a", "acme/b", "beta/c");
                assertThat(all.getFirst().versions()).extracting(ModelVersion::version).containsExactly(1, 2);
                assertThat(all.getFirst().versions()).allSatisfy(v -> {
                    assertThat(v.files()).singleElement().extracting(ModelFile::path).isEqualTo(gguf.getFileName().toString());
                    assertThat(v.metadata()).containsEntry("architecture", "llama");
                });
                assertThat(all).isEqualTo(List.of(registry.get(ModelName.parse("acme/a")),
                        registry.get(ModelName.parse("acme/b")), registry.get(ModelName.parse("beta/c"))));

                ModelName a = ModelName.parse("acme/a");
                assertThat(counter.during(() -> registry.find(a))).as("read before").isEmpty();
                assertThat(counter.during(() -> registry.resolve(new ModelRef(a, OptionalInt.of(2))))).isEmpty();
                assertThat(counter.during(() -> registry.classify(a, "restricted")))
                        .as("the update, then the model read again").hasSize(3);
                assertThat(counter.during(() -> assertThat(registry.get(a).classification()).isEqualTo("restricted")))
                        .isEmpty();
                registry.importPath(a, gguf, Optional.empty(), ADMIN);
                assertThat(registry.get(a).versions()).hasSize(3);
                registry.delete(new ModelRef(a, OptionalInt.of(3)));
                assertThat(registry.get(a).versions()).hasSize(2);
                registry.delete(new ModelRef(a, OptionalInt.empty()));
                assertThat(registry.find(a)).isEmpty();
            }
        }
    }

    @org.junit.jupiter.api.Test
    void namesAndReferencesAreValidated() {
        assertThat(ModelRef.parse("acme/llama-3.2-1b:3").version()).hasValue(3);
        assertThat(ModelRef.parse("acme/Llama-3.2-1B").version()).isEmpty();
        for (String bad : List.of("llama", "a/b/c", "/x", "acme/", "acme/ll ama", "../etc", "acme/x:0", "acme/x:v1")) {
            assertThatThrownBy(() -> ModelRef.parse(bad)).as(bad).isInstanceOf(FactoryException.class)
                    .extracting(e -> ((FactoryException) e).code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        }
        assertThat(Map.of("k", ModelName.parse("a/b")).get("k").toString()).isEqualTo("a/b");
    }
}
