package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.security.ApiKeys;
import ai.factory.security.MasterKey;
import ai.factory.identity.Role;
import ai.factory.security.keys.KeyHierarchy;
import ai.factory.security.keys.MasterKeys;
import ai.factory.storage.BlobStore;
import ai.factory.storage.Database;
import ai.factory.config.DatabaseConfig;
import ai.factory.storage.DataKey;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Customer-held keys through a real factory: encrypted GGUFs deploy and answer with no plaintext copy on disk, the
 * rotation endpoints (and their bad input), crypto-shredding by deleting a project, a restart, and an install from
 * before encryption.
 */
@ServerTest
class CustomerKeysApiTest {
    private static final String TINY = "acme/tiny";

    @TempDir
    Path home;

    @Test
    void anEncryptedGgufDeploysAndAnswersWithNoPlaintextCopyOnDiskAndAgainAfterARestart() throws Exception {
        Path gguf = TestModels.tinyLlama();
        String sha256 = sha256(gguf);
        Instant start = Instant.now().minusSeconds(1);
        try (TestFactory factory = TestFactory.start(home, TestFactory.BUILTIN)) {
            factory.deployGguf(TINY, gguf, "\"context\": 256");
            assertThat(chat(factory, factory.adminKey()).statusCode()).isEqualTo(200);

            Path blob = blobFile(home, "default", sha256);
            try (InputStream in = Files.newInputStream(blob)) {
                assertThat(new String(in.readNBytes(4), java.nio.charset.StandardCharsets.ISO_8859_1)).isNotEqualTo("GGUF");
            }
            // llama.cpp maps the decrypted weights from an anonymous in-memory file, not from any path on disk.
            assertThat(Files.readString(Path.of("/proc/self/maps"))).contains("/memfd:" + TINY + ":1");
            assertThat(plaintextCopies(List.of(home, Path.of(System.getProperty("java.io.tmpdir"))), Files.size(gguf),
                    sha256, start)).isEmpty();
        }
        try (TestFactory restarted = TestFactory.start(home, TestFactory.BUILTIN)) {
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofMinutes(2)).until(() ->
                    json(restarted.get("/api/v1/deployments", restarted.adminKey())).path("deployments").findValuesAsText("state")
                            .stream().allMatch("ready"::equals));
            assertThat(chat(restarted, restarted.adminKey()).statusCode()).isEqualTo(200);
            HttpResponse<String> embeddings = restarted.post("/v1/embeddings", restarted.adminKey(),
                    "{\"model\": \"builtin/all-minilm-l6-v2\", \"input\": \"sovereign\"}");
            assertThat(embeddings.statusCode()).as(embeddings.body()).isEqualTo(200);
            assertThat(restarted.get("/api/v1/models/" + TINY + "/plan", restarted.adminKey()).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void rotationEndpointsRotateForAdminsOnlyAndRefuseBadInput() throws Exception {
        try (TestFactory factory = TestFactory.start(home, TestFactory.BUILTIN)) {
            String admin = factory.adminKey();
            import_(factory, TINY, "default");
            String developer = key(factory, "dev", "default", "developer");
            String auditor = key(factory, "officer", "default", "auditor");

            JsonNode status = json(factory.get("/api/v1/encryption", admin));
            assertThat(status.path("master").path("provider").asText()).isEqualTo("local-file");
            assertThat(status.path("master").path("location").asText()).isEqualTo(home.resolve("master.p12").toString());
            assertThat(status.path("master").path("current").asInt()).isEqualTo(1);
            assertThat(status.path("keys").findValuesAsText("project")).contains("_site", "default");
            assertThat(status.toString()).doesNotContain(Files.readString(home.resolve("master.p12.password")).strip());
            assertThat(factory.get("/api/v1/encryption", auditor).statusCode()).isEqualTo(200);
            assertThat(factory.get("/api/v1/encryption", developer).statusCode()).isEqualTo(403);
            assertThat(factory.get("/api/v1/encryption?verbose=1", admin).statusCode()).isEqualTo(400);

            String rotate = "/api/v1/encryption/rotate-master";
            assertThat(factory.post(rotate, admin, "{not json").statusCode()).isEqualTo(400);
            assertThat(factory.post(rotate, admin, "[]").statusCode()).isEqualTo(400);
            HttpResponse<String> wrongType = factory.post(rotate, admin, "{\"destroyPrevious\": \"yes\"}");
            assertThat(wrongType.statusCode()).isEqualTo(400);
            assertThat(wrongType.body()).contains("destroyPrevious").contains("must be a boolean");
            assertThat(factory.post(rotate, admin, "{\"destroyOld\": true}").body()).contains("unknown field 'destroyOld'");
            assertThat(factory.post(rotate, developer, "{}").statusCode()).isEqualTo(403);
            assertThat(factory.post(rotate, auditor, "{}").statusCode()).isEqualTo(403);
            assertThat(json(factory.get("/api/v1/encryption", admin)).path("master").path("current").asInt())
                    .as("nothing rotated by refused calls").isEqualTo(1);

            HttpResponse<String> rotated = factory.send(factory.request(rotate, admin).POST(HttpRequest.BodyPublishers.noBody()));
            assertThat(rotated.statusCode()).as(rotated.body()).isEqualTo(200);
            assertThat(json(rotated).path("version").asInt()).isEqualTo(2);
            assertThat(json(rotated).path("keksRewrapped").asInt()).isGreaterThanOrEqualTo(2);
            JsonNode destroyed = json(factory.post(rotate, admin, "{\"destroyPrevious\": true}"));
            assertThat(destroyed.path("destroyedVersions")).hasSize(2);
            assertThat(json(factory.get("/api/v1/encryption", admin)).path("master").path("versions").toString()).isEqualTo("[3]");

            String projectRotate = "/api/v1/projects/default/rotate-key";
            assertThat(factory.post("/api/v1/projects/nope/rotate-key", admin, "").statusCode()).isEqualTo(404);
            assertThat(factory.post("/api/v1/projects/Not_A_Name/rotate-key", admin, "").statusCode()).isEqualTo(400);
            assertThat(factory.post(projectRotate, admin, "{\"version\": 7}").statusCode()).isEqualTo(400);
            assertThat(factory.post(projectRotate, developer, "").statusCode()).isEqualTo(403);
            HttpResponse<String> kek = factory.post(projectRotate, admin, "");
            assertThat(kek.statusCode()).as(kek.body()).isEqualTo(200);
            assertThat(json(kek).path("version").asInt()).isEqualTo(2);
            assertThat(json(kek).path("dataKeysRewrapped").asInt()).isEqualTo(1);

            // Everything still reads: the GGUF (through the plan, which reads its header) and a fresh deployment.
            assertThat(factory.get("/api/v1/models/" + TINY + "/plan", admin).statusCode()).isEqualTo(200);
            HttpResponse<String> deployed = factory.post("/api/v1/deployments", admin, "{\"model\": \"" + TINY + "\", \"context\": 256}");
            assertThat(deployed.statusCode()).isEqualTo(202);
            awaitReady(factory, json(deployed).path("id").asText());
            assertThat(chat(factory, admin).statusCode()).isEqualTo(200);

            JsonNode report = json(factory.get("/api/v1/sovereignty/report", auditor));
            assertThat(report.path("keyProviders").findValuesAsText("kind")).contains("local-file", "wrapped-in-database");
            JsonNode defaultKek = stream(report.path("projectKeys")).filter(k -> k.path("project").asText().equals("default"))
                    .findFirst().orElseThrow();
            assertThat(defaultKek.path("kekVersion").asInt()).isEqualTo(2);
            assertThat(defaultKek.path("masterKeyVersion").asInt()).isEqualTo(3);
            assertThat(defaultKek.path("rotatedAt").asText()).isNotEmpty();
            for (String action : List.of("keys.rotateMaster", "keys.rotateProjectKey")) {
                org.awaitility.Awaitility.await().until(() -> json(factory.get("/api/v1/audit?action=" + action, admin))
                        .path("records").size() >= 1);
            }
        }
    }

    @Test
    void deletingAProjectShredsItsKeysSoACopyOfItsBlobCanNeverBeDecrypted() throws Exception {
        Path gguf = TestModels.tinyLlama();
        String sha256 = sha256(gguf);
        Path aside = Files.createDirectories(home.resolve("aside"));
        try (TestFactory factory = TestFactory.start(home, TestFactory.BUILTIN)) {
            String admin = factory.adminKey();
            for (String p : List.of("alpha", "beta")) {
                assertThat(factory.post("/api/v1/projects", admin, "{\"name\": \"" + p + "\"}").statusCode()).isEqualTo(201);
                import_(factory, p + "/tiny", p);
            }
            Path alphaBlob = blobFile(home, "alpha", sha256);
            Files.copy(alphaBlob, aside.resolve(sha256));

            HttpResponse<String> deleted = factory.send(factory.request("/api/v1/projects/alpha", admin).DELETE());
            assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(200);

            assertThat(alphaBlob).doesNotExist();
            assertThat(home.resolve("blobs").resolve("keyed").resolve("alpha")).doesNotExist();
            assertThat(json(factory.get("/api/v1/encryption", admin)).path("keys").findValuesAsText("project"))
                    .doesNotContain("alpha").contains("beta");
            // The same bytes in project beta are its own copy under its own keys, still readable.
            assertThat(factory.get("/api/v1/models/beta/tiny/plan", admin).statusCode()).isEqualTo(200);
            org.awaitility.Awaitility.await().until(() -> json(factory.get("/api/v1/audit?action=keys.shred", admin))
                    .path("records").findValuesAsText("resource").contains("alpha"));
        }
        // With the factory stopped, take everything it holds (database, master keystore) and try every data key it can
        // still unwrap against the copied ciphertext of alpha's blob: none decrypts it.
        try (Database db = Database.open(homeDatabase())) {
            KeyHierarchy keys = new KeyHierarchy(db.jdbi(), MasterKeys.local(home.resolve("master.p12"), null,
                    home.resolve("master.p12.password"), "factory-master"), e -> {}, Clock.systemUTC());
            assertThat(keys.keks()).extracting(KeyHierarchy.KekInfo::owner).doesNotContain("alpha");
            BlobStore copy = new BlobStore(home.resolve("copy"));
            Files.createDirectories(copy.path("alpha", sha256).getParent());
            Files.copy(aside.resolve(sha256), copy.path("alpha", sha256));
            List<Map.Entry<String, String>> rows = db.jdbi().withHandle(h -> h.createQuery("SELECT owner, sha256 FROM blob_keys")
                    .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getString(2))).list());
            assertThat(rows).extracting(Map.Entry::getKey).contains("beta", "_site").doesNotContain("alpha");
            List<String> opened = new ArrayList<>();
            for (Map.Entry<String, String> row : rows) {
                DataKey candidate = keys.dataKey(row.getKey(), row.getValue());
                for (String owner : List.of("alpha", row.getKey())) {
                    Path target = copy.path(owner, sha256);
                    Files.createDirectories(target.getParent());
                    Files.copy(aside.resolve(sha256), target, StandardCopyOption.REPLACE_EXISTING);
                    try {
                        copy.verify(owner, sha256, candidate);
                        opened.add(row + " as " + owner);
                    } catch (ai.factory.FactoryException expected) {
                        assertThat(expected).hasMessageContaining("not encrypted under this key");
                    }
                }
            }
            assertThat(opened).isEmpty();
        }
    }

    @Test
    void anInstallFromBeforeEncryptionHasItsBlobsEncryptedAndItsAwsSecretsSealedAgainAtStart() throws Exception {
        Path gguf = TestModels.tinyLlama();
        String sha256 = sha256(gguf);
        try (TestFactory factory = TestFactory.start(home, TestFactory.BUILTIN)) {
            import_(factory, TINY, "default");
        }
        // Turn the home into what the previous release left: the model's blob in plain text at blobs/sha256/ab/…,
        // no data key, and AWS secrets sealed by master.key.
        String accessKeyId;
        try (Database db = Database.open(homeDatabase())) {
            db.jdbi().useHandle(h -> h.execute("DELETE FROM blob_keys WHERE owner = 'default'"));
            Files.delete(blobFile(home, "default", sha256));
            Path legacy = home.resolve("blobs").resolve("sha256").resolve(sha256.substring(0, 2)).resolve(sha256);
            Files.createDirectories(legacy.getParent());
            Files.copy(gguf, legacy);
            accessKeyId = new ApiKeys(db.jdbi(), Clock.systemUTC(), MasterKey.loadOrCreate(home.resolve("master.key")))
                    .createAccessKey("old-app", "default", Role.INVOKER, null).accessKeyId();
        }
        try (TestFactory factory = TestFactory.start(home, TestFactory.BUILTIN)) {
            assertThat(home.resolve("blobs").resolve("sha256")).doesNotExist();
            assertThat(blobFile(home, "default", sha256)).exists();
            assertThat(factory.get("/api/v1/models/" + TINY + "/plan", factory.adminKey()).statusCode()).isEqualTo(200);
            factory.post("/api/v1/deployments", factory.adminKey(), "{\"model\": \"" + TINY + "\", \"context\": 256}");
            awaitReady(factory, json(factory.get("/api/v1/deployments", factory.adminKey())).path("deployments")
                    .findValuesAsText("id").stream().filter(id -> !id.isEmpty()).reduce((a, b) -> b).orElseThrow());
            assertThat(chat(factory, factory.adminKey()).statusCode()).isEqualTo(200);
            JsonNode report = json(factory.get("/api/v1/sovereignty/report", factory.adminKey()));
            assertThat(report.path("keyProviders").findValuesAsText("name")).contains("legacy master key");
        }
        try (Database db = Database.open(homeDatabase())) {
            String sealed = db.jdbi().withHandle(h -> h.createQuery("SELECT sealed_secret FROM aws_access_keys WHERE "
                    + "access_key_id = :a").bind("a", accessKeyId).mapTo(String.class).one());
            assertThat(sealed).startsWith("k1:");
        }
    }

    /** The database a factory with default settings keeps in its home (stop the factory first). */
    private DatabaseConfig homeDatabase() {
        return ai.factory.storage.H2Password.forReading(new DatabaseConfig("jdbc:h2:file:" + home.resolve("db")
                .resolve("factory"), null, null), home.resolve("db.password"));
    }

    static HttpResponse<String> chat(TestFactory factory, String key) {
        return factory.post("/v1/chat/completions", key, "{\"model\": \"" + TINY + "\", \"messages\": "
                + "[{\"role\": \"user\", \"content\": \"Hi\"}], \"max_tokens\": 4}");
    }

    static void import_(TestFactory factory, String name, String project) {
        HttpResponse<String> imported = factory.post("/api/v1/models/" + name + "/versions", factory.adminKey(),
                "{\"path\": \"" + TestModels.tinyLlama().toAbsolutePath() + "\", \"project\": \"" + project + "\"}");
        assertThat(imported.statusCode()).as(imported.body()).isEqualTo(201);
    }

    static String key(TestFactory factory, String name, String project, String role) {
        return json(factory.post("/api/v1/keys", factory.adminKey(), "{\"name\": \"" + name + "\", \"project\": \""
                + project + "\", \"role\": \"" + role + "\"}")).path("secret").asText();
    }

    static void awaitReady(TestFactory factory, String id) {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofMinutes(2)).until(() ->
                json(factory.get("/api/v1/deployments/" + id, factory.adminKey())).path("state").asText().equals("ready"));
    }

    static Path blobFile(Path home, String owner, String sha256) {
        return home.resolve("blobs").resolve("keyed").resolve(owner).resolve(sha256.substring(0, 2)).resolve(sha256);
    }

    static Stream<JsonNode> stream(JsonNode array) {
        return java.util.stream.StreamSupport.stream(array.spliterator(), false);
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * Files under {@code roots} changed since {@code since} that hold exactly the model's plaintext, outside other
     * tests' own temporary folders ({@code junit…} beside the first root: tests running alongside copy the model into
     * theirs on purpose, to import it from there).
     */
    static List<Path> plaintextCopies(List<Path> roots, long size, String sha256, Instant since) throws IOException {
        List<Path> found = new ArrayList<>();
        Path own = roots.getFirst().toAbsolutePath().normalize();
        for (Path root : roots) {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                    Path d = dir.toAbsolutePath().normalize();
                    boolean othersTemp = d.getFileName() != null && d.getFileName().toString().startsWith("junit")
                            && !own.startsWith(d);
                    return othersTemp ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    if (attrs.isRegularFile() && attrs.size() == size
                            && attrs.lastModifiedTime().toInstant().isAfter(since)) {
                        try {
                            if (sha256(file).equals(sha256)) {
                                found.add(file);
                            }
                        } catch (IOException e) {
                            // Gone or unreadable: another build's file, not ours.
                        }
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    return FileVisitResult.CONTINUE;
                }
            });
        }
        return found;
    }
}
