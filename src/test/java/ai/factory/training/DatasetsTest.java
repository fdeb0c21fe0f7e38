package ai.factory.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.engine.chat.TrainingExample;
import ai.factory.engine.chat.ChatMessage;
import ai.factory.identity.Principal;
import ai.factory.identity.Role;
import ai.factory.security.keys.KeyHierarchy;
import ai.factory.security.keys.TestKeys;
import ai.factory.storage.BlobStore;
import ai.factory.storage.BlobSweep;
import ai.factory.storage.Database;
import ai.factory.storage.TestDatabases;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Datasets on the real databases (V17 on H2 and PostgreSQL), the real blob store and the real key hierarchy. */
class DatasetsTest {
    private static final Principal DEVELOPER = new Principal("p-dev", "dev", "default", Role.DEVELOPER);
    private static final String MARKER = "zebra-crossing-7731";
    private static final String CHATS = "{\"messages\": [{\"role\": \"system\", \"content\": \"Answer as " + MARKER
            + "\"}, {\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"}]}\n"
            + "{\"messages\": [{\"role\": \"user\", \"content\": \"2+2?\"}, {\"role\": \"assistant\", "
            + "\"content\": \"4\"}]}\n";
    private static final DatasetName NAME = DatasetName.parse("acme/chats");

    @TempDir
    Path tempDir;

    private Datasets datasets(Database db, KeyHierarchy keys, DatasetLimits limits) {
        return new Datasets(db.jdbi(), new BlobStore(tempDir.resolve("blobs")), keys, Clock.systemUTC(), limits);
    }

    private static InputStream bytes(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String sha256(String s) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private Stream<Path> blobFiles() throws IOException {
        return Files.walk(tempDir.resolve("blobs")).filter(Files::isRegularFile);
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void storesEncryptedAndReadsTheExamplesBack(TestDatabases.Kind kind) throws IOException {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            KeyHierarchy keys = TestKeys.hierarchy(db.jdbi(), tempDir);
            Datasets datasets = datasets(db, keys, DatasetLimits.DEFAULTS);
            Dataset d = datasets.upload(NAME, bytes(CHATS), -1, new Datasets.Placement(null, "confidential"),
                    DEVELOPER);

            assertThat(d.format()).isEqualTo(DatasetFormat.OPENAI_CHAT);
            assertThat(d.records()).isEqualTo(2);
            assertThat(d.sizeBytes()).isEqualTo(CHATS.getBytes(StandardCharsets.UTF_8).length);
            assertThat(d.sha256()).isEqualTo(sha256(CHATS));
            assertThat(d.project()).isEqualTo("default");
            assertThat(d.classification()).isEqualTo("confidential");
            assertThat(d.createdBy()).isEqualTo(DEVELOPER.id());
            assertThat(datasets.get(NAME)).isEqualTo(d);
            assertThat(datasets.list()).containsExactly(d);

            assertThat(datasets.examples(d.ref())).containsExactly(
                    new TrainingExample.Conversation(List.of(ChatMessage.system("Answer as " + MARKER),
                            ChatMessage.user("Hi"), ChatMessage.assistant("Hello"))),
                    new TrainingExample.Conversation(List.of(ChatMessage.user("2+2?"), ChatMessage.assistant("4"))));
            byte[] stored = Files.readAllBytes(datasets.blobPath(d));
            assertThat(new String(stored, StandardCharsets.ISO_8859_1)).as("on disk: ciphertext").doesNotContain(MARKER);
            assertThat(keys.hasDataKey("default", d.sha256())).isTrue();
            assertThat(datasets.referencedBlobs()).containsExactly(new BlobSweep.Blob("default", d.sha256()));

            assertThatThrownBy(() -> datasets.upload(NAME, bytes(CHATS), -1, Datasets.Placement.DEFAULT, DEVELOPER))
                    .isInstanceOfSatisfying(FactoryException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT);
                        assertThat(e.getMessage()).contains("'acme/chats' is taken");
                    });
            assertThatThrownBy(() -> datasets.examples(new DatasetRef(NAME, "0".repeat(64))))
                    .isInstanceOfSatisfying(FactoryException.class,
                            e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void aRefusedUploadLeavesNoRowNoBlobAndNoKey(TestDatabases.Kind kind) throws IOException {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            KeyHierarchy keys = TestKeys.hierarchy(db.jdbi(), tempDir);
            Datasets datasets = datasets(db, keys, new DatasetLimits(1024, 4096, 100));
            String bad = CHATS + "{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}\n";
            assertThatThrownBy(() -> datasets.upload(NAME, bytes(bad), -1, Datasets.Placement.DEFAULT, DEVELOPER))
                    .isInstanceOfSatisfying(FactoryException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                        assertThat(e.getMessage()).contains("line 3: messages[0].role must be system, user or "
                                + "assistant, not 'tool'");
                    });
            assertThatThrownBy(() -> datasets.upload(NAME, bytes(CHATS.repeat(30)), -1, Datasets.Placement.DEFAULT,
                    DEVELOPER)).isInstanceOfSatisfying(FactoryException.class,
                    e -> assertThat(e.code()).isEqualTo(ErrorCode.PAYLOAD_TOO_LARGE));
            assertThatThrownBy(() -> datasets.upload(NAME, bytes(CHATS), 5000, Datasets.Placement.DEFAULT,
                    DEVELOPER)).as("a declared size past the limit").isInstanceOfSatisfying(FactoryException.class,
                    e -> assertThat(e.code()).isEqualTo(ErrorCode.PAYLOAD_TOO_LARGE));
            assertThatThrownBy(() -> datasets.upload(NAME, bytes(CHATS), -1, new Datasets.Placement(null,
                    "Top Secret"), DEVELOPER)).hasMessageContaining("invalid classification");

            assertThat(datasets.list()).isEmpty();
            assertThat(blobFiles()).isEmpty();
            assertThat(keys.dataKeyBlobs()).isEmpty();
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void datasetsWithTheSameContentShareABlobUntilTheLastIsDeleted(TestDatabases.Kind kind) throws IOException {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            KeyHierarchy keys = TestKeys.hierarchy(db.jdbi(), tempDir);
            Datasets datasets = datasets(db, keys, DatasetLimits.DEFAULTS);
            Dataset first = datasets.upload(NAME, bytes(CHATS), -1, Datasets.Placement.DEFAULT, DEVELOPER);
            Dataset second = datasets.upload(DatasetName.parse("acme/chats-copy"), bytes(CHATS), -1,
                    Datasets.Placement.DEFAULT, DEVELOPER);
            assertThat(second.sha256()).isEqualTo(first.sha256());
            assertThat(blobFiles()).hasSize(1);

            assertThat(datasets.delete(NAME).id()).isEqualTo(first.id());
            assertThat(blobFiles()).hasSize(1);
            assertThat(datasets.examples(second.ref())).hasSize(2);
            datasets.delete(second.name());
            assertThat(blobFiles()).isEmpty();
            assertThat(keys.hasDataKey("default", first.sha256())).isFalse();
            assertThatThrownBy(() -> datasets.delete(NAME)).isInstanceOfSatisfying(FactoryException.class,
                    e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));

            Dataset again = datasets.upload(NAME, bytes(CHATS), -1, Datasets.Placement.DEFAULT, DEVELOPER);
            assertThat(again.id()).as("deleted, then uploaded again").isNotEqualTo(first.id());
            assertThat(datasets.examples(again.ref())).hasSize(2);
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void aProjectsDatasetsGoWithIt(TestDatabases.Kind kind) {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            db.jdbi().useHandle(h -> h.execute("INSERT INTO projects (name, created_at, created_by) "
                    + "VALUES ('research', CURRENT_TIMESTAMP, 'test')"));
            KeyHierarchy keys = TestKeys.hierarchy(db.jdbi(), tempDir);
            Datasets datasets = datasets(db, keys, DatasetLimits.DEFAULTS);
            datasets.upload(NAME, bytes(CHATS), -1, new Datasets.Placement("research", null), DEVELOPER);
            Dataset kept = datasets.upload(DatasetName.parse("acme/kept"), bytes(CHATS), -1,
                    Datasets.Placement.DEFAULT, DEVELOPER);
            assertThat(datasets.get(NAME).project()).isEqualTo("research");
            assertThatThrownBy(() -> db.jdbi().useHandle(h -> h.execute("DELETE FROM projects WHERE name = 'research'")))
                    .as("no dataset is left without its project");

            assertThat(datasets.projectDeleted("research")).isEqualTo(1);
            assertThat(datasets.projectDeleted("research")).isZero();
            assertThat(datasets.list()).containsExactly(kept);
            db.jdbi().useHandle(h -> h.execute("DELETE FROM projects WHERE name = 'research'"));
        }
    }
}
