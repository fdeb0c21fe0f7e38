package ai.factory.security.keys;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.PausePoints;
import ai.factory.identity.Principal;
import ai.factory.security.SecretSealer;
import ai.factory.security.audit.AuditEvent;
import ai.factory.storage.BlobOwner;
import ai.factory.storage.BlobSweep;
import ai.factory.storage.DataKey;
import ai.factory.storage.Sql;
import com.google.crypto.tink.Aead;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.RegistryConfiguration;
import com.google.crypto.tink.TinkProtoKeysetFormat;
import com.google.crypto.tink.aead.AeadConfig;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The key hierarchy: site master key ({@link MasterKeys}, outside the database) → one key-encryption key (KEK) per
 * owner (a project, or {@link BlobOwner#SITE}) → one data key per blob. KEKs are Tink AES-256-GCM keysets and data
 * keys Tink streaming keysets; both are stored only wrapped (encrypted Tink keysets), each bound by its associated
 * data to where it belongs (a data key to its owner and digest, a KEK to its owner and version), so a wrapped key
 * copied onto another row does not unwrap.
 *
 * <p>Rotation re-wraps keys and never re-encrypts data: rotating the master re-wraps every KEK under a new master
 * version; rotating an owner's KEK re-wraps that owner's data keys under a fresh KEK, and the old one is gone.
 * Destroying an owner's keys (a project's deletion) deletes its KEK and data key rows, so its blob files can't be
 * decrypted with anything the factory holds. Each rotation and destruction leaves an audit record.
 *
 * <p>Unwrapped KEKs are cached in memory by owner and version. Changes to KEK rows happen in transactions that lock
 * the rows ({@code SELECT … FOR UPDATE}), so a data key is always wrapped under the KEK version that is current when
 * its row is written, whatever rotation runs at the same time.
 */
public final class KeyHierarchy implements SecretSealer {
    private static final Logger LOG = LoggerFactory.getLogger(KeyHierarchy.class);
    /** Marks a secret sealed under the site KEK (the legacy master.key sealed without a prefix). */
    private static final String SEALED_PREFIX = "k1:";

    static {
        try {
            AeadConfig.register();
        } catch (GeneralSecurityException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Jdbi jdbi;
    private final MasterKeys master;
    private final Consumer<AuditEvent> audit;
    private final Clock clock;
    private final Map<String, Kek> keks = new ConcurrentHashMap<>();

    /** An unwrapped KEK, and the wrapped form it came from: a row with another (a KEK made anew) is not this one. */
    private record Kek(int version, String wrapped, Aead aead) {}

    public KeyHierarchy(Jdbi jdbi, MasterKeys master, Consumer<AuditEvent> audit, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.master = requireNonNull(master, "master is null");
        this.audit = requireNonNull(audit, "audit is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    public MasterKeys master() {
        return master;
    }

    /** A KEK as the reports show it: never the key. */
    public record KekInfo(String owner, int version, int masterVersion, Instant createdAt, Instant rotatedAt,
                          long dataKeys) {}

    /** Creates the owner's KEK if it has none (in its own transaction). Idempotent. */
    public void ensureKek(String owner) {
        BlobOwner.require(owner);
        if (hasKek(owner)) {
            return;
        }
        // A new KEK is wrapped under the current master version: a master rotation must not switch versions (and
        // destroy the old ones) between that choice and the KEK's commit, where its re-wrap would not see the row.
        synchronized (master) {
            for (int attempt = 0; ; attempt++) {
                try {
                    jdbi.useTransaction(h -> kekRow(h, owner, true));
                    return;
                } catch (UnableToExecuteStatementException e) {
                    // Another transaction created it first: it is there now.
                    if (attempt >= 2 || !Sql.isUniqueViolation(e)) {
                        throw e;
                    }
                }
            }
        }
    }

    /** Whether the owner has a KEK now (read without locking). */
    public boolean hasKek(String owner) {
        return jdbi.withHandle(h -> h.createQuery("SELECT COUNT(*) FROM key_encryption_keys WHERE owner = :o")
                .bind("o", owner).mapTo(Long.class).one() > 0);
    }

    /**
     * Records a blob's data key, wrapped under its owner's current KEK, in the caller's transaction; does nothing when
     * the owner already has a key for this digest (the caller then keeps the blob already stored). The owner's KEK
     * must exist ({@link #ensureKek}).
     *
     * @return whether the key was recorded
     */
    public boolean storeDataKey(Handle h, String owner, String sha256, long size, DataKey key) {
        Kek kek = kekRow(h, owner, false);
        if (hasDataKey(h, owner, sha256)) {
            return false;
        }
        h.createUpdate("INSERT INTO blob_keys (owner, sha256, size_bytes, wrapped_key, kek_version, created_at) "
                        + "VALUES (:o, :s, :size, :w, :v, :at)")
                .bind("o", owner).bind("s", sha256).bind("size", size)
                .bind("w", wrap(key.keyset(), kek.aead(), dataKeyContext(owner, sha256)))
                .bind("v", kek.version()).bind("at", Timestamp.from(clock.instant())).execute();
        return true;
    }

    public boolean hasDataKey(Handle h, String owner, String sha256) {
        return h.createQuery("SELECT COUNT(*) FROM blob_keys WHERE owner = :o AND sha256 = :s")
                .bind("o", owner).bind("s", sha256).mapTo(Long.class).one() > 0;
    }

    public boolean hasDataKey(String owner, String sha256) {
        return jdbi.withHandle(h -> hasDataKey(h, owner, sha256));
    }

    /** Deletes a blob's data key in the caller's transaction; the blob can't be read afterwards. */
    /** Every blob whose data key is recorded, for the start-up sweep ({@link BlobSweep}). */
    public java.util.Set<BlobSweep.Blob> dataKeyBlobs() {
        return jdbi.withHandle(h -> h.createQuery("SELECT owner, sha256 FROM blob_keys")
                .map((rs, ctx) -> new BlobSweep.Blob(rs.getString(1), rs.getString(2))).set());
    }

    public void deleteDataKey(String owner, String sha256) {
        jdbi.useTransaction(h -> deleteDataKey(h, owner, sha256));
    }

    public void deleteDataKey(Handle h, String owner, String sha256) {
        h.createUpdate("DELETE FROM blob_keys WHERE owner = :o AND sha256 = :s").bind("o", owner).bind("s", sha256)
                .execute();
    }

    /**
     * The unwrapped data key of the owner's blob {@code sha256}.
     *
     * @throws FactoryException NOT_FOUND when the owner holds no key for it (never stored, or destroyed), INTERNAL
     *     when the stored key does not unwrap (altered, or moved from another owner's row)
     */
    public DataKey dataKey(String owner, String sha256) {
        BlobOwner.require(owner);
        try {
            return readDataKey(owner, sha256);
        } catch (KekMoved e) {
            // A rotation committed between reading the data key's row and the KEK's: both are current now.
            return readDataKey(owner, sha256);
        }
    }

    /** The data key's row named a KEK version other than the one read right after it. */
    private static final class KekMoved extends FactoryException {
        KekMoved(String message) {
            super(ErrorCode.INTERNAL, message);
        }
    }

    private DataKey readDataKey(String owner, String sha256) {
        return jdbi.withHandle(h -> {
            Optional<Map.Entry<String, Integer>> row = h.createQuery(
                            "SELECT wrapped_key, kek_version FROM blob_keys WHERE owner = :o AND sha256 = :s")
                    .bind("o", owner).bind("s", sha256)
                    .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getInt(2))).findOne();
            if (row.isEmpty()) {
                throw new FactoryException(ErrorCode.NOT_FOUND, "no data key for blob " + sha256 + " of " + owner
                        + " (never stored, or destroyed with its project's keys)");
            }
            Kek kek = kekRow(h, owner, false);
            if (kek.version() != row.get().getValue()) {
                throw new KekMoved("the data key of blob " + sha256 + " of " + owner
                        + " is wrapped by KEK version " + row.get().getValue() + " but the KEK is at version " + kek.version());
            }
            return DataKey.of(unwrap(row.get().getKey(), kek.aead(), dataKeyContext(owner, sha256),
                    "the data key of blob " + sha256 + " of " + owner));
        });
    }

    /** What a master rotation did. */
    public record MasterRotation(int previousVersion, int version, int keksRewrapped, List<Integer> destroyedVersions) {}

    /**
     * Creates a new master key version and re-wraps every KEK under it, in one transaction. With
     * {@code destroyPrevious}, every earlier master version is then destroyed, so copies of the old wrapped KEKs
     * (database backups, free pages, write-ahead logs) can no longer be unwrapped either.
     */
    public MasterRotation rotateMaster(boolean destroyPrevious, Principal by) {
        synchronized (master) {
            int previous = master.current();
            int next = master.rotate();
            PausePoints.reach("keys.rotateMaster", "master");
            Aead nextAead = master.aead(next);
            int rewrapped = rewrapUnder(next, nextAead);
            if (destroyPrevious) {
                // A KEK another factory sharing the database created under the old version while the re-wrap ran
                // was invisible to it; wrap such late rows too before their version goes.
                for (int round = 0; round < 3 && countUnder(next) > 0; round++) {
                    rewrapped += rewrapUnder(next, nextAead);
                }
                if (countUnder(next) > 0) {
                    throw new FactoryException(ErrorCode.CONFLICT, "key-encryption keys keep appearing under earlier "
                            + "master versions; the new version " + next + " is current, and nothing was destroyed: "
                            + "run the rotation with --destroy-previous again");
                }
            }
            List<Integer> destroyed = destroyPrevious
                    ? master.versions().stream().filter(v -> v < next).toList() : List.of();
            destroyed.forEach(master::destroy);
            record(by, "keys.rotateMaster", "master key", "version " + previous + " -> " + next + ", " + rewrapped
                    + " KEK(s) re-wrapped" + (destroyed.isEmpty() ? "" : ", destroyed versions " + destroyed));
            LOG.info("master key rotated to version {} by {}: {} KEK(s) re-wrapped{}", next, by.id(), rewrapped,
                    destroyed.isEmpty() ? "" : "; destroyed versions " + destroyed);
            return new MasterRotation(previous, next, rewrapped, destroyed);
        }
    }

    /**
     * Completes a master rotation that was cut off (the process died after the new version was made current, before
     * every KEK was re-wrapped under it): the KEKs still under earlier versions are re-wrapped now, so a later
     * {@code --destroy-previous} finds them under the current one. Run at start; returns how many were re-wrapped.
     */
    public int finishInterruptedRotation(Principal by) {
        synchronized (master) {
            int current = master.current();
            if (countUnder(current) == 0) {
                return 0;
            }
            int rewrapped = rewrapUnder(current, master.aead(current));
            record(by, "keys.rotateMaster", "master key", "completed an interrupted rotation to version " + current
                    + ": " + rewrapped + " KEK(s) re-wrapped");
            LOG.warn("a master key rotation to version {} was cut off; {} KEK(s) re-wrapped under it now", current,
                    rewrapped);
            return rewrapped;
        }
    }

    /** Re-wraps, in one transaction, every KEK wrapped under a master version other than {@code next}. */
    private int rewrapUnder(int next, Aead nextAead) {
        return jdbi.inTransaction(h -> {
            List<KekRow> rows = h.createQuery("SELECT owner, version, wrapped_key, master_version "
                            + "FROM key_encryption_keys WHERE master_version <> :m ORDER BY owner FOR UPDATE")
                    .bind("m", next)
                    .map((rs, ctx) -> new KekRow(rs.getString(1), rs.getInt(2), rs.getString(3), rs.getInt(4)))
                    .list();
            for (KekRow r : rows) {
                KeysetHandle kek = unwrap(r.wrapped(), master.aead(r.masterVersion()), kekContext(r.owner(), r.version()),
                        "the KEK of " + r.owner());
                h.createUpdate("UPDATE key_encryption_keys SET wrapped_key = :w, master_version = :m WHERE owner = :o")
                        .bind("w", wrap(kek, nextAead, kekContext(r.owner(), r.version()))).bind("m", next)
                        .bind("o", r.owner()).execute();
            }
            return rows.size();
        });
    }

    private long countUnder(int next) {
        return jdbi.withHandle(h -> h.createQuery("SELECT COUNT(*) FROM key_encryption_keys WHERE master_version <> :m")
                .bind("m", next).mapTo(Long.class).one());
    }

    /** What a KEK rotation did. */
    public record KekRotation(String owner, int previousVersion, int version, int dataKeysRewrapped) {}

    /** Replaces the owner's KEK with a fresh one and re-wraps its data keys under it, in one transaction. */
    public KekRotation rotateKek(String owner, Principal by) {
        BlobOwner.require(owner);
        ensureKek(owner);
        KekRotation done = jdbi.inTransaction(h -> {
            Kek old = kekRow(h, owner, false);
            KeysetHandle fresh = newKek();
            int next = old.version() + 1;
            int currentMaster = master.current();
            List<Map.Entry<String, String>> rows = h.createQuery(
                            "SELECT sha256, wrapped_key FROM blob_keys WHERE owner = :o ORDER BY sha256")
                    .bind("o", owner).map((rs, ctx) -> Map.entry(rs.getString(1), rs.getString(2))).list();
            Aead freshAead = aead(fresh);
            for (Map.Entry<String, String> r : rows) {
                KeysetHandle dataKey = unwrap(r.getValue(), old.aead(), dataKeyContext(owner, r.getKey()),
                        "the data key of blob " + r.getKey() + " of " + owner);
                h.createUpdate("UPDATE blob_keys SET wrapped_key = :w, kek_version = :v WHERE owner = :o AND sha256 = :s")
                        .bind("w", wrap(dataKey, freshAead, dataKeyContext(owner, r.getKey()))).bind("v", next)
                        .bind("o", owner).bind("s", r.getKey()).execute();
            }
            h.createUpdate("UPDATE key_encryption_keys SET version = :v, wrapped_key = :w, master_version = :m, "
                            + "rotated_at = :at WHERE owner = :o")
                    .bind("v", next).bind("w", wrap(fresh, master.aead(currentMaster), kekContext(owner, next)))
                    .bind("m", currentMaster).bind("at", Timestamp.from(clock.instant())).bind("o", owner).execute();
            PausePoints.reach("keys.rotateKek", owner);
            return new KekRotation(owner, old.version(), next, rows.size());
        });
        keks.remove(owner);
        record(by, "keys.rotateProjectKey", owner, "KEK version " + done.previousVersion() + " -> " + done.version()
                + ", " + done.dataKeysRewrapped() + " data key(s) re-wrapped");
        LOG.info("KEK of {} rotated to version {} by {}: {} data key(s) re-wrapped", owner, done.version(), by.id(),
                done.dataKeysRewrapped());
        return done;
    }

    /** What destroying an owner's keys removed. */
    public record Shredded(String owner, boolean kekDestroyed, int dataKeysDestroyed) {}

    /**
     * Crypto-shredding: deletes the owner's KEK and every data key it wrapped, in one transaction. Idempotent. The
     * site's own keys can't be destroyed this way.
     */
    public Shredded destroy(String owner, Principal by) {
        BlobOwner.require(owner);
        if (BlobOwner.SITE.equals(owner)) {
            throw new FactoryException(ErrorCode.CONFLICT, "the site's keys can't be destroyed");
        }
        Shredded done = jdbi.inTransaction(h -> {
            int dataKeys = h.createUpdate("DELETE FROM blob_keys WHERE owner = :o").bind("o", owner).execute();
            int kek = h.createUpdate("DELETE FROM key_encryption_keys WHERE owner = :o").bind("o", owner).execute();
            return new Shredded(owner, kek > 0, dataKeys);
        });
        keks.remove(owner);
        record(by, "keys.shred", owner, (done.kekDestroyed() ? "KEK destroyed" : "no KEK") + ", "
                + done.dataKeysDestroyed() + " data key(s) destroyed");
        LOG.info("keys of {} destroyed by {}: KEK {}, {} data key(s)", owner, by.id(),
                done.kekDestroyed() ? "destroyed" : "absent", done.dataKeysDestroyed());
        return done;
    }

    /** Every KEK, by owner. */
    public List<KekInfo> keks() {
        return jdbi.withHandle(h -> h.createQuery("SELECT k.owner, k.version, k.master_version, k.created_at, "
                        + "k.rotated_at, (SELECT COUNT(*) FROM blob_keys b WHERE b.owner = k.owner) AS data_keys "
                        + "FROM key_encryption_keys k ORDER BY k.owner")
                .map((rs, ctx) -> new KekInfo(rs.getString("owner"), rs.getInt("version"), rs.getInt("master_version"),
                        rs.getTimestamp("created_at").toInstant(), rs.getTimestamp("rotated_at").toInstant(),
                        rs.getLong("data_keys")))
                .list());
    }

    public Optional<KekInfo> kek(String owner) {
        return keks().stream().filter(k -> k.owner().equals(owner)).findFirst();
    }

    /** Seals under the site KEK, bound to {@code context}. */
    @Override
    public String seal(String secret, String context) {
        if (!keks.containsKey(BlobOwner.SITE)) {
            ensureKek(BlobOwner.SITE);
        }
        Kek kek = siteKek();
        try {
            return SEALED_PREFIX + Base64.getEncoder().encodeToString(kek.aead().encrypt(
                    secret.getBytes(StandardCharsets.UTF_8), secretContext(context)));
        } catch (GeneralSecurityException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot seal a secret: " + e.getMessage(), e);
        }
    }

    @Override
    public String open(String sealed, String context) {
        if (!isSealedHere(sealed)) {
            throw new IllegalStateException("a secret is sealed by the old master.key; start the factory with that file "
                    + "in its home once so it is sealed again under the site key");
        }
        Kek kek = siteKek();
        try {
            return new String(kek.aead().decrypt(Base64.getDecoder().decode(sealed.substring(SEALED_PREFIX.length())),
                    secretContext(context)), StandardCharsets.UTF_8);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalStateException("a sealed secret does not open under the site key (altered, or sealed "
                    + "for another key id)", e);
        }
    }

    /** Whether {@code sealed} was sealed by {@link #seal} rather than by the legacy master.key. */
    public static boolean isSealedHere(String sealed) {
        return sealed != null && sealed.startsWith(SEALED_PREFIX);
    }

    /** The site KEK: never rotated on its own (master rotation re-wraps it, leaving the key itself), so a cached copy stays right. */
    private Kek siteKek() {
        Kek cached = keks.get(BlobOwner.SITE);
        return cached != null ? cached : jdbi.withHandle(h -> kekRow(h, BlobOwner.SITE, false));
    }

    private record KekRow(String owner, int version, String wrapped, int masterVersion) {}

    /**
     * The owner's current KEK, read in {@code h} (its row locked when {@code h} is in a transaction); with {@code create}, a fresh one is inserted
     * when there is none, else its absence is NOT_FOUND.
     */
    private Kek kekRow(Handle h, String owner, boolean create) {
        Optional<KekRow> row = h.createQuery("SELECT owner, version, wrapped_key, master_version FROM key_encryption_keys "
                        + "WHERE owner = :o" + (h.isInTransaction() ? " FOR UPDATE" : ""))
                .bind("o", owner)
                .map((rs, ctx) -> new KekRow(rs.getString(1), rs.getInt(2), rs.getString(3), rs.getInt(4)))
                .findOne();
        if (row.isEmpty()) {
            // Destroyed (perhaps by another node sharing the database): drop any copy this process still holds.
            keks.remove(owner);
            if (!create) {
                throw new FactoryException(ErrorCode.NOT_FOUND, "no key-encryption key for " + owner
                        + " (its keys were destroyed with the project, or never created)");
            }
            KeysetHandle fresh = newKek();
            int masterVersion = master.current();
            Timestamp now = Timestamp.from(clock.instant());
            String wrapped = wrap(fresh, master.aead(masterVersion), kekContext(owner, 1));
            h.createUpdate("INSERT INTO key_encryption_keys (owner, version, wrapped_key, master_version, created_at, "
                            + "rotated_at) VALUES (:o, 1, :w, :m, :at, :at)")
                    .bind("o", owner).bind("w", wrapped).bind("m", masterVersion).bind("at", now).execute();
            Kek kek = new Kek(1, wrapped, aead(fresh));
            keks.put(owner, kek);
            LOG.info("created the key-encryption key of {}", owner);
            return kek;
        }
        KekRow r = row.get();
        Kek cached = keks.get(owner);
        if (cached != null && cached.version() == r.version() && cached.wrapped().equals(r.wrapped())) {
            return cached;
        }
        Kek kek = new Kek(r.version(), r.wrapped(), aead(unwrap(r.wrapped(), master.aead(r.masterVersion()),
                kekContext(owner, r.version()), "the KEK of " + owner)));
        keks.put(owner, kek);
        return kek;
    }

    private static KeysetHandle newKek() {
        try {
            return KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM, RegistryConfiguration.get());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM is part of Tink", e);
        }
    }

    private static Aead aead(KeysetHandle keyset) {
        try {
            return keyset.getPrimitive(RegistryConfiguration.get(), Aead.class);
        } catch (GeneralSecurityException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "a KEK is not an AEAD key: " + e.getMessage(), e);
        }
    }

    private static String wrap(KeysetHandle keyset, Aead wrapping, byte[] context) {
        try {
            return Base64.getEncoder().encodeToString(TinkProtoKeysetFormat.serializeEncryptedKeyset(keyset, wrapping, context,
                    RegistryConfiguration.get()));
        } catch (GeneralSecurityException e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "cannot wrap a key: " + e.getMessage(), e);
        }
    }

    private static KeysetHandle unwrap(String wrapped, Aead wrapping, byte[] context, String what) {
        try {
            return TinkProtoKeysetFormat.parseEncryptedKeyset(Base64.getDecoder().decode(wrapped), wrapping, context,
                    RegistryConfiguration.get());
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new FactoryException(ErrorCode.INTERNAL, what + " does not unwrap: it was altered, moved from "
                    + "another row, or wrapped by another key (" + e.getMessage() + ")", e);
        }
    }

    static byte[] dataKeyContext(String owner, String sha256) {
        return ("factory-data-key:" + owner + ":" + sha256).getBytes(StandardCharsets.UTF_8);
    }

    static byte[] kekContext(String owner, int version) {
        return ("factory-kek:" + owner + ":" + version).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] secretContext(String context) {
        return ("factory-secret:" + context).getBytes(StandardCharsets.UTF_8);
    }

    private void record(Principal by, String action, String resource, String detail) {
        audit.accept(new AuditEvent(clock.instant(), by.id(), by.name(), by.project(), action, resource,
                AuditEvent.ALLOW, AuditEvent.SUCCESS, 0, "factory", UUID.randomUUID().toString(), 0, 0, 0, 0, detail));
    }
}
