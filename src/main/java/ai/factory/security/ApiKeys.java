package ai.factory.security;

import static java.util.Objects.requireNonNull;

import ai.factory.identity.Principal;
import ai.factory.identity.Role;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.storage.ReadCache;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jspecify.annotations.Nullable;

/**
 * Principals and their API keys. A bearer key's secret is 32 random bytes shown once; the database keeps
 * only its SHA-256, which is enough because the secret has full entropy (no password stretching needed).
 *
 * <p>An AWS-style access key (for SigV4) is an access key id ({@code AKIA} and 16 base-32 characters) with a
 * 40-character secret. SigV4 needs that secret itself to recompute signatures, so it is kept sealed under the
 * {@link SecretSealer} (the site's key-encryption key); the key is also a row of {@code api_keys}, listed and revoked like any other.
 */
public final class ApiKeys {
    private static final String SECRET_PREFIX = "fk_";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9 ._@-]{0,99}");
    private static final String ACCESS_KEY_PREFIX = "AKIA";
    private static final char[] BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".toCharArray();
    private static final Pattern ACCESS_KEY_ID = Pattern.compile("AKIA[A-Z2-7]{16}");

    private final Jdbi jdbi;
    private final Clock clock;
    private final SecretSealer sealer;
    private final SecureRandom random = new SecureRandom();
    /** The principal of each bearer key in use, by the SHA-256 of its secret. */
    private final ReadCache<String, Principal> bearers;
    /**
     * Each AWS access key in use with its opened secret, by access key id; no more exposed than the site key that
     * opens every one of them, which is in memory too.
     */
    private final ReadCache<String, AccessKeySecret> accessKeys;

    /** Keys as a database other nodes may share: what is read is read again after {@link ReadCache#SHARED_MAX_AGE}. */
    public ApiKeys(Jdbi jdbi, Clock clock, SecretSealer sealer) {
        this(jdbi, clock, sealer, ReadCache.SHARED_MAX_AGE);
    }

    /**
     * @param cacheMaxAge how long a key read for a request is taken as read ({@link ai.factory.storage.Database#readCacheMaxAge}); a
     *     revocation through this object takes effect at once whatever it is
     */
    public ApiKeys(Jdbi jdbi, Clock clock, SecretSealer sealer, Duration cacheMaxAge) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.sealer = requireNonNull(sealer, "sealer is null");
        this.bearers = new ReadCache<>(clock, cacheMaxAge);
        this.accessKeys = new ReadCache<>(clock, cacheMaxAge);
    }

    /** Creates a principal with one key. {@code createdBy} is the creating principal's id, or null at bootstrap. */
    public CreatedKey create(String name, String project, Role role, @Nullable String createdBy) {
        byte[] raw = new byte[32];
        random.nextBytes(raw);
        String secret = SECRET_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
        ApiKey key = insert(name, project, role, createdBy, hash(secret), secret.substring(0, 8), (h, keyId) -> {});
        return new CreatedKey(key, secret);
    }

    /** Creates a principal with one AWS-style access key for SigV4; the secret is returned only here. */
    public CreatedAccessKey createAccessKey(String name, String project, Role role, String createdBy) {
        StringBuilder id = new StringBuilder(ACCESS_KEY_PREFIX);
        for (int i = 0; i < 16; i++) {
            id.append(BASE32[random.nextInt(BASE32.length)]);
        }
        String accessKeyId = id.toString();
        byte[] raw = new byte[30];
        random.nextBytes(raw);
        String secret = Base64.getEncoder().encodeToString(raw);
        // The api_keys row needs a unique hash; no bearer secret exists, so it hashes a name no secret can take.
        ApiKey key = insert(name, project, role, createdBy, hash("aws:" + accessKeyId), accessKeyId.substring(0, 12),
                (h, keyId) -> h.createUpdate("INSERT INTO aws_access_keys (access_key_id, key_id, sealed_secret) "
                                + "VALUES (:akid, :kid, :sealed)")
                        .bind("akid", accessKeyId).bind("kid", keyId)
                        .bind("sealed", sealer.seal(secret, accessKeyId))
                        .execute());
        return new CreatedAccessKey(key, accessKeyId, secret);
    }

    /** The principal and secret of an access key id, if the key exists and is not revoked. */
    public Optional<AccessKeySecret> accessKey(String accessKeyId) {
        if (accessKeyId == null || !ACCESS_KEY_ID.matcher(accessKeyId).matches()) {
            return Optional.empty();
        }
        return accessKeys.get(accessKeyId, this::readAccessKey);
    }

    private Optional<AccessKeySecret> readAccessKey(String accessKeyId) {
        return jdbi.withHandle(h -> h.createQuery("SELECT a.sealed_secret, p.id AS pid, p.name, p.project, p.role "
                        + "FROM aws_access_keys a JOIN api_keys k ON k.id = a.key_id "
                        + "JOIN principals p ON p.id = k.principal_id "
                        + "WHERE a.access_key_id = :akid AND k.revoked_at IS NULL")
                .bind("akid", accessKeyId)
                .map((rs, ctx) -> new AccessKeySecret(accessKeyId, sealer.open(rs.getString("sealed_secret"), accessKeyId),
                        new Principal(rs.getString("pid"), rs.getString("name"), rs.getString("project"),
                                Role.parse(rs.getString("role")))))
                .findOne());
    }

    /**
     * Seals again, under this store's sealer, every AWS secret still sealed by {@code legacy} (the pre-hierarchy
     * {@code master.key}), in one transaction; returns how many. Secrets already sealed by this sealer are left alone,
     * so running it again does nothing.
     */
    public int resealLegacySecrets(SecretSealer legacy, java.util.function.Predicate<String> isCurrent) {
        requireNonNull(legacy, "legacy is null");
        return jdbi.inTransaction(h -> {
            var rows = h.createQuery("SELECT access_key_id, sealed_secret FROM aws_access_keys")
                    .map((rs, ctx) -> java.util.Map.entry(rs.getString(1), rs.getString(2))).list();
            int resealed = 0;
            for (var row : rows) {
                if (isCurrent.test(row.getValue())) {
                    continue;
                }
                String secret = legacy.open(row.getValue(), row.getKey());
                h.createUpdate("UPDATE aws_access_keys SET sealed_secret = :s WHERE access_key_id = :a")
                        .bind("s", sealer.seal(secret, row.getKey())).bind("a", row.getKey()).execute();
                resealed++;
            }
            return resealed;
        });
    }

    /** What else one key's creation writes in its transaction. */
    @FunctionalInterface
    private interface Extra {
        void insert(Handle handle, String keyId);
    }

    private ApiKey insert(String name, String project, Role role, @Nullable String createdBy, String secretHash,
                          String prefix,
                          Extra extra) {
        requireNonNull(role, "role is null");
        if (name == null || !NAME.matcher(name).matches()) {
            throw FactoryException.invalidParam("name",
                    "key name must be 1-100 letters, digits, spaces or . _ @ -, starting with a letter or digit");
        }
        String proj = project == null ? Principal.DEFAULT_PROJECT : project;
        if (!Principal.PROJECT_NAME.matcher(proj).matches()) {
            throw FactoryException.invalidParam("project",
                    "project must be 1-63 lowercase letters, digits or -, starting with a letter or digit");
        }
        Instant now = clock.instant();
        Principal principal = new Principal("p-" + UUID.randomUUID(), name, proj, role);
        ApiKey key = new ApiKey("key-" + UUID.randomUUID(), prefix, principal, now, null);
        jdbi.useTransaction(h -> {
            h.createUpdate("INSERT INTO principals (id, name, project, role, created_at, created_by) "
                            + "VALUES (:id, :name, :project, :role, :at, :by)")
                    .bind("id", principal.id()).bind("name", name).bind("project", proj)
                    .bind("role", role.id()).bind("at", Timestamp.from(now)).bind("by", createdBy)
                    .execute();
            h.createUpdate("INSERT INTO api_keys (id, principal_id, secret_hash, prefix, created_at) "
                            + "VALUES (:id, :pid, :hash, :prefix, :at)")
                    .bind("id", key.id()).bind("pid", principal.id()).bind("hash", secretHash)
                    .bind("prefix", key.prefix()).bind("at", Timestamp.from(now))
                    .execute();
            extra.insert(h, key.id());
        });
        return key;
    }

    /** The principal holding this secret, if the key exists and is not revoked. */
    public Optional<Principal> authenticate(String secret) {
        if (secret == null || !secret.startsWith(SECRET_PREFIX) || secret.length() > 200) {
            return Optional.empty();
        }
        return bearers.get(hash(secret), digest -> jdbi.withHandle(h -> h.createQuery(SELECT
                        + " WHERE k.secret_hash = :hash AND k.revoked_at IS NULL")
                .bind("hash", digest)
                .map((rs, ctx) -> key(rs))
                .findOne()
                .map(ApiKey::principal)));
    }

    public List<ApiKey> list() {
        return jdbi.withHandle(h -> h.createQuery(SELECT + " ORDER BY k.created_at, k.id")
                .map((rs, ctx) -> key(rs))
                .list());
    }

    /** A key by id, revoked or not. */
    public Optional<ApiKey> find(String keyId) {
        return jdbi.withHandle(h -> h.createQuery(SELECT + " WHERE k.id = :id").bind("id", keyId)
                .map((rs, ctx) -> key(rs)).findOne());
    }

    /**
     * Revokes a key; revoking twice is harmless. Unknown ids are NOT_FOUND. The key stops working in this process at
     * once (on other nodes sharing the database, within their cache's age).
     */
    public ApiKey revoke(String keyId) {
        Timestamp now = Timestamp.from(clock.instant());
        try {
            return jdbi.inTransaction(h -> {
                h.createUpdate("UPDATE api_keys SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL")
                        .bind("now", now).bind("id", keyId).execute();
                return h.createQuery(SELECT + " WHERE k.id = :id").bind("id", keyId)
                        .map((rs, ctx) -> key(rs))
                        .findOne()
                        .orElseThrow(() -> new FactoryException(ErrorCode.NOT_FOUND, "no API key with id '" + keyId
                                + "'"));
            });
        } finally {
            forgetKeys();
        }
    }

    /** Revokes every key of a project (when the project is deleted); returns how many were still active. */
    public int revokeProject(String project) {
        Timestamp now = Timestamp.from(clock.instant());
        try {
            return jdbi.withHandle(h -> h.createUpdate("UPDATE api_keys SET revoked_at = :now WHERE revoked_at IS NULL "
                            + "AND principal_id IN (SELECT id FROM principals WHERE project = :project)")
                    .bind("now", now).bind("project", project).execute());
        } finally {
            forgetKeys();
        }
    }

    /**
     * Forgets every key read for requests, after a revocation: revocations are rare, and the cache knows keys by the
     * hash of their secret, not by the id or project a revocation names.
     */
    private void forgetKeys() {
        bearers.invalidateAll();
        accessKeys.invalidateAll();
    }

    /** Whether any admin key that still works exists; bootstrap creates one when none does. */
    public boolean hasActiveAdmin() {
        return jdbi.withHandle(h -> h.createQuery("SELECT COUNT(*) FROM api_keys k JOIN principals p "
                        + "ON p.id = k.principal_id WHERE p.role = :role AND k.revoked_at IS NULL")
                .bind("role", Role.ADMIN.id())
                .mapTo(Long.class)
                .one()) > 0;
    }

    private static final String SELECT = "SELECT k.id, k.prefix, k.created_at, k.revoked_at, "
            + "p.id AS pid, p.name, p.project, p.role FROM api_keys k JOIN principals p ON p.id = k.principal_id";

    private static ApiKey key(ResultSet rs) throws SQLException {
        Principal p = new Principal(rs.getString("pid"), rs.getString("name"), rs.getString("project"),
                Role.parse(rs.getString("role")));
        Timestamp revoked = rs.getTimestamp("revoked_at");
        return new ApiKey(rs.getString("id"), rs.getString("prefix"), p, rs.getTimestamp("created_at").toInstant(),
                revoked == null ? null : revoked.toInstant());
    }

    private static String hash(String secret) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
