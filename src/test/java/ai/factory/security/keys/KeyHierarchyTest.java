package ai.factory.security.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.security.ApiKeys;
import ai.factory.security.MasterKey;
import ai.factory.identity.Principal;
import ai.factory.identity.Role;
import ai.factory.security.audit.AuditEvent;
import ai.factory.storage.BlobStore;
import ai.factory.storage.Database;
import ai.factory.storage.DataKey;
import ai.factory.storage.StagedBlob;
import ai.factory.storage.TestDatabases;
import com.google.crypto.tink.TinkProtoKeysetFormat;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The key hierarchy on both databases: rotation without re-encryption, crypto-shredding, keys bound to their owner. */
class KeyHierarchyTest {
    private static final Principal ADMIN = new Principal("p-admin", "admin", "default", Role.ADMIN);

    @TempDir
    Path dir;

    private record Blob(String owner, String sha256, byte[] content) {}

    private static Blob store(KeyHierarchy keys, BlobStore blobs, Jdbi jdbi, String owner, byte[] content) {
        keys.ensureKek(owner);
        try (StagedBlob staged = blobs.stage(owner, new ByteArrayInputStream(content), Long.MAX_VALUE)) {
            blobs.commit(staged, null);
            jdbi.useTransaction(h -> keys.storeDataKey(h, owner, staged.sha256(), staged.size(), staged.dataKey()));
            return new Blob(owner, staged.sha256(), content);
        }
    }

    private static byte[] read(KeyHierarchy keys, BlobStore blobs, Blob b) throws Exception {
        try (InputStream in = blobs.plaintext(b.owner(), b.sha256(), keys.dataKey(b.owner(), b.sha256()))) {
            return in.readAllBytes();
        }
    }

    private static Map<String, String> column(Jdbi jdbi, String sql) {
        return jdbi.withHandle(h -> h.createQuery(sql).map((rs, ctx) -> Map.entry(rs.getString(1), rs.getString(2)))
                .list()).stream().collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    }

    private static byte[] bytes(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void masterRotationRewrapsEveryKekAndEveryBlobStaysReadable(TestDatabases.Kind kind) throws Exception {
        try (Database db = TestDatabases.open(kind, dir)) {
            List<AuditEvent> audit = TestKeys.auditList();
            MasterKeys master = TestKeys.localMaster(dir);
            KeyHierarchy keys = TestKeys.hierarchy(db.jdbi(), master, audit);
            BlobStore blobs = new BlobStore(dir.resolve("blobs"));
            Blob a = store(keys, blobs, db.jdbi(), "alpha", bytes(2_500_000, 1));
            Blob b = store(keys, blobs, db.jdbi(), "beta", bytes(1000, 2));
            Map<String, String> keksBefore = column(db.jdbi(), "SELECT owner, wrapped_key FROM key_encryption_keys");
            Map<String, String> dataKeysBefore = column(db.jdbi(), "SELECT owner, wrapped_key FROM blob_keys");
            byte[] fileBefore = Files.readAllBytes(blobs.path(a.owner(), a.sha256()));

            KeyHierarchy.MasterRotation r = keys.rotateMaster(false, ADMIN);

            assertThat(r).isEqualTo(new KeyHierarchy.MasterRotation(1, 2, 2, List.of()));
            Map<String, String> keksAfter = column(db.jdbi(), "SELECT owner, wrapped_key FROM key_encryption_keys");
            assertThat(keksAfter.keySet()).containsExactlyInAnyOrder("alpha", "beta");
            keksAfter.forEach((owner, wrapped) -> assertThat(wrapped).as(owner).isNotEqualTo(keksBefore.get(owner)));
            assertThat(column(db.jdbi(), "SELECT owner, CAST(master_version AS VARCHAR(9)) FROM key_encryption_keys"))
                    .containsOnly(Map.entry("alpha", "2"), Map.entry("beta", "2"));
            assertThat(column(db.jdbi(), "SELECT owner, wrapped_key FROM blob_keys")).isEqualTo(dataKeysBefore);
            assertThat(Files.readAllBytes(blobs.path(a.owner(), a.sha256()))).as("no data re-encrypted").isEqualTo(fileBefore);

            // A fresh hierarchy (a restart) reads everything through the new master version.
            KeyHierarchy restarted = TestKeys.hierarchy(db.jdbi(), TestKeys.localMaster(dir), audit);
            assertThat(read(restarted, blobs, a)).isEqualTo(a.content());
            assertThat(read(restarted, blobs, b)).isEqualTo(b.content());
            assertThat(audit).extracting(AuditEvent::action).containsExactly("keys.rotateMaster");
            assertThat(audit.getFirst().detail()).contains("version 1 -> 2").contains("2 KEK(s) re-wrapped");
            assertThat(audit.getFirst().principalId()).isEqualTo(ADMIN.id());

            // Retiring the old versions: a copy of a KEK wrapped before (a database backup) no longer unwraps at all.
            KeyHierarchy.MasterRotation retire = restarted.rotateMaster(true, ADMIN);
            assertThat(retire.destroyedVersions()).containsExactly(1, 2);
            assertThat(TestKeys.localMaster(dir).versions()).containsExactly(3);
            for (int v : List.of(1, 2)) {
                assertThatThrownBy(() -> TestKeys.localMaster(dir).aead(v)).isInstanceOf(FactoryException.class);
            }
            assertThat(read(TestKeys.hierarchy(db.jdbi(), dir), blobs, a)).isEqualTo(a.content());
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void kekRotationRewrapsTheProjectsDataKeysAndNothingElse(TestDatabases.Kind kind) throws Exception {
        try (Database db = TestDatabases.open(kind, dir)) {
            List<AuditEvent> audit = TestKeys.auditList();
            KeyHierarchy keys = TestKeys.hierarchy(db.jdbi(), TestKeys.localMaster(dir), audit);
            BlobStore blobs = new BlobStore(dir.resolve("blobs"));
            Blob a1 = store(keys, blobs, db.jdbi(), "alpha", bytes(5000, 3));
            Blob a2 = store(keys, blobs, db.jdbi(), "alpha", bytes(6000, 4));
            Blob b = store(keys, blobs, db.jdbi(), "beta", bytes(7000, 5));
            Map<String, String> before = column(db.jdbi(), "SELECT sha256, wrapped_key FROM blob_keys");
            String betaKek = column(db.jdbi(), "SELECT owner, wrapped_key FROM key_encryption_keys").get("beta");
            byte[] fileBefore = Files.readAllBytes(blobs.path(a1.owner(), a1.sha256()));

            KeyHierarchy.KekRotation r = keys.rotateKek("alpha", ADMIN);

            assertThat(r).isEqualTo(new KeyHierarchy.KekRotation("alpha", 1, 2, 2));
            Map<String, String> after = column(db.jdbi(), "SELECT sha256, wrapped_key FROM blob_keys");
            assertThat(after.get(a1.sha256())).isNotEqualTo(before.get(a1.sha256()));
            assertThat(after.get(a2.sha256())).isNotEqualTo(before.get(a2.sha256()));
            assertThat(after.get(b.sha256())).isEqualTo(before.get(b.sha256()));
            assertThat(column(db.jdbi(), "SELECT owner, wrapped_key FROM key_encryption_keys").get("beta")).isEqualTo(betaKek);
            assertThat(Files.readAllBytes(blobs.path(a1.owner(), a1.sha256()))).isEqualTo(fileBefore);
            assertThat(keys.kek("alpha").orElseThrow().version()).isEqualTo(2);
            assertThat(keys.kek("alpha").orElseThrow().rotatedAt()).isAfterOrEqualTo(keys.kek("alpha").orElseThrow().createdAt());
            KeyHierarchy restarted = TestKeys.hierarchy(db.jdbi(), dir);
            for (Blob x : List.of(a1, a2, b)) {
                assertThat(read(keys, blobs, x)).isEqualTo(x.content());
                assertThat(read(restarted, blobs, x)).isEqualTo(x.content());
            }
            assertThat(audit).extracting(AuditEvent::action, AuditEvent::resource)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("keys.rotateProjectKey", "alpha"));
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void destroyingAProjectsKeysLeavesItsCiphertextUnreadableWithAnythingTheFactoryHolds(TestDatabases.Kind kind)
            throws Exception {
        try (Database db = TestDatabases.open(kind, dir)) {
            List<AuditEvent> audit = TestKeys.auditList();
            MasterKeys master = TestKeys.localMaster(dir);
            KeyHierarchy keys = TestKeys.hierarchy(db.jdbi(), master, audit);
            BlobStore blobs = new BlobStore(dir.resolve("blobs"));
            byte[] content = bytes(3_000_000, 6);
            Blob mine = store(keys, blobs, db.jdbi(), "alpha", content);
            Blob theirs = store(keys, blobs, db.jdbi(), "beta", content); // the same bytes in another project
            Path aside = Files.copy(blobs.path("alpha", mine.sha256()), dir.resolve("copied-aside"));
            String wrappedKekBefore = column(db.jdbi(), "SELECT owner, wrapped_key FROM key_encryption_keys").get("alpha");

            KeyHierarchy.Shredded shredded = keys.destroy("alpha", ADMIN);

            assertThat(shredded).isEqualTo(new KeyHierarchy.Shredded("alpha", true, 1));
            assertThat(keys.destroy("alpha", ADMIN)).as("idempotent").isEqualTo(new KeyHierarchy.Shredded("alpha", false, 0));
            assertThat(column(db.jdbi(), "SELECT owner, wrapped_key FROM key_encryption_keys")).doesNotContainKey("alpha");
            assertThat(column(db.jdbi(), "SELECT owner, sha256 FROM blob_keys")).doesNotContainKey("alpha");
            assertThatThrownBy(() -> keys.dataKey("alpha", mine.sha256()))
                    .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));

            // Put the ciphertext back where it was and try every data key the factory can still unwrap, under every
            // owner's binding: none decrypts it.
            Files.createDirectories(blobs.path("alpha", mine.sha256()).getParent());
            Files.copy(aside, blobs.path("alpha", mine.sha256()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            List<Map.Entry<String, String>> rows = db.jdbi().withHandle(h -> h.createQuery(
                    "SELECT owner, sha256 FROM blob_keys").map((rs, ctx) -> Map.entry(rs.getString(1), rs.getString(2))).list());
            assertThat(rows).isNotEmpty();
            List<String> decrypted = new ArrayList<>();
            for (Map.Entry<String, String> row : rows) {
                DataKey candidate = keys.dataKey(row.getKey(), row.getValue());
                try {
                    blobs.verify("alpha", mine.sha256(), candidate);
                    decrypted.add(row.toString());
                } catch (FactoryException expected) {
                    assertThat(expected).hasMessageContaining("not encrypted under this key");
                }
            }
            assertThat(decrypted).as("data keys that decrypt the destroyed project's blob").isEmpty();
            // Nor does the old wrapped KEK (from a backup, say) open without its master version, once that is retired.
            keys.rotateMaster(true, ADMIN);
            for (int v : TestKeys.localMaster(dir).versions()) {
                assertThatThrownBy(() -> TinkProtoKeysetFormat.parseEncryptedKeyset(Base64.getDecoder().decode(wrappedKekBefore),
                        TestKeys.localMaster(dir).aead(v), KeyHierarchy.kekContext("alpha", 1),
                        com.google.crypto.tink.RegistryConfiguration.get()))
                        .isInstanceOf(java.security.GeneralSecurityException.class);
            }
            // The other project's copy of the same bytes is untouched.
            assertThat(read(keys, blobs, theirs)).isEqualTo(content);
            assertThat(audit).extracting(AuditEvent::action).startsWith("keys.shred", "keys.shred");
            assertThat(audit.getFirst().detail()).isEqualTo("KEK destroyed, 1 data key(s) destroyed");
            assertThatThrownBy(() -> keys.destroy("_site", ADMIN)).hasMessageContaining("site's keys");
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void aDataKeyMovedToAnotherProjectOrAlteredDoesNotUnwrap(TestDatabases.Kind kind) {
        try (Database db = TestDatabases.open(kind, dir)) {
            KeyHierarchy keys = TestKeys.hierarchy(db.jdbi(), dir);
            BlobStore blobs = new BlobStore(dir.resolve("blobs"));
            Blob a = store(keys, blobs, db.jdbi(), "alpha", bytes(1000, 7));
            keys.ensureKek("beta");

            db.jdbi().useHandle(h -> h.execute("UPDATE blob_keys SET owner = 'beta' WHERE owner = 'alpha'"));
            assertThatThrownBy(() -> keys.dataKey("beta", a.sha256()))
                    .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL))
                    .hasMessageContaining("does not unwrap");

            db.jdbi().useHandle(h -> h.execute("UPDATE blob_keys SET owner = 'alpha' WHERE owner = 'beta'"));
            String wrapped = db.jdbi().withHandle(h -> h.createQuery("SELECT wrapped_key FROM blob_keys").mapTo(String.class).one());
            byte[] raw = Base64.getDecoder().decode(wrapped);
            raw[raw.length - 3] ^= 1;
            db.jdbi().useHandle(h -> h.createUpdate("UPDATE blob_keys SET wrapped_key = :w")
                    .bind("w", Base64.getEncoder().encodeToString(raw)).execute());
            assertThatThrownBy(() -> keys.dataKey("alpha", a.sha256())).hasMessageContaining("does not unwrap");
            assertThatThrownBy(() -> keys.rotateKek("../x", ADMIN)).hasMessageContaining("invalid key owner");
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void awsSecretsSealedByTheOldMasterKeyAreSealedAgainUnderTheSiteKey(TestDatabases.Kind kind) {
        try (Database db = TestDatabases.open(kind, dir)) {
            MasterKey legacy = MasterKey.loadOrCreate(dir.resolve("master.key"));
            ApiKeys before = new ApiKeys(db.jdbi(), Clock.systemUTC(), legacy);
            var created = before.createAccessKey("app", "default", Role.INVOKER, null);

            KeyHierarchy keys = TestKeys.hierarchy(db.jdbi(), dir);
            ApiKeys after = new ApiKeys(db.jdbi(), Clock.systemUTC(), keys);
            assertThatThrownBy(() -> after.accessKey(created.accessKeyId())).hasMessageContaining("master.key");

            assertThat(after.resealLegacySecrets(legacy, KeyHierarchy::isSealedHere)).isEqualTo(1);
            assertThat(after.resealLegacySecrets(legacy, KeyHierarchy::isSealedHere)).as("idempotent").isZero();
            assertThat(after.accessKey(created.accessKeyId()).orElseThrow().secretAccessKey())
                    .isEqualTo(created.secretAccessKey());
            String sealed = db.jdbi().withHandle(h -> h.createQuery("SELECT sealed_secret FROM aws_access_keys")
                    .mapTo(String.class).one());
            assertThat(sealed).startsWith("k1:").doesNotContain(created.secretAccessKey());
            var fresh = after.createAccessKey("app2", "default", Role.INVOKER, null);
            assertThat(TestKeys.hierarchy(db.jdbi(), dir).open(db.jdbi().withHandle(h -> h.createQuery(
                    "SELECT sealed_secret FROM aws_access_keys WHERE access_key_id = :a").bind("a", fresh.accessKeyId())
                    .mapTo(String.class).one()), fresh.accessKeyId())).isEqualTo(fresh.secretAccessKey());
            // Master rotation re-wraps the site KEK; sealed secrets stay readable.
            keys.rotateMaster(true, ADMIN);
            assertThat(new ApiKeys(db.jdbi(), Clock.systemUTC(), TestKeys.hierarchy(db.jdbi(), dir))
                    .accessKey(created.accessKeyId()).orElseThrow().secretAccessKey()).isEqualTo(created.secretAccessKey());
        }
    }

}
