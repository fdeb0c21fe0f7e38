package ai.factory.cluster;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.identity.Principal;
import ai.factory.storage.Sha256;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * The tokens a worker joins the cluster with: {@code fjt_ID_SECRET}, shown once when created, stored as the SHA-256
 * of the whole token. A token has an expiry and a number of uses; redeeming one takes a use, in one conditional
 * update, so that two workers racing for a token's last use cannot both have it.
 */
public final class JoinTokens {
    /** The longest a token may live: joining is a deliberate, short act. */
    public static final Duration MAX_LIFETIME = Duration.ofDays(30);
    public static final int MAX_USES = 10_000;
    private static final Pattern TOKEN = Pattern.compile("fjt_([0-9a-f]{12})_([A-Za-z0-9_-]{43})");

    private final Jdbi jdbi;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    public JoinTokens(Jdbi jdbi, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** A token just made: its secret, shown this once, and how it is listed. */
    public record Created(String secret, JoinToken token) {}

    /** Makes a token that {@code uses} workers may join with until {@code lifetime} has passed. */
    public Created create(Duration lifetime, int uses, Principal by) {
        requireNonNull(lifetime, "lifetime is null");
        requireNonNull(by, "by is null");
        if (lifetime.isNegative() || lifetime.isZero() || lifetime.compareTo(MAX_LIFETIME) > 0) {
            throw FactoryException.invalidParam("expires", "'expires' must be more than 0 and at most 30d");
        }
        if (uses < 1 || uses > MAX_USES) {
            throw FactoryException.invalidParam("uses", "'uses' must be between 1 and " + MAX_USES);
        }
        byte[] idBytes = new byte[6];
        random.nextBytes(idBytes);
        byte[] secretBytes = new byte[32];
        random.nextBytes(secretBytes);
        String id = HexFormat.of().formatHex(idBytes);
        String secret = "fjt_" + id + "_" + Base64.getUrlEncoder().withoutPadding().encodeToString(secretBytes);
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        JoinToken token = new JoinToken(id, now, now.plus(lifetime), uses, 0, false, by.id());
        jdbi.useHandle(h -> h.createUpdate("INSERT INTO join_tokens (id, secret_sha256, created_at, expires_at, "
                        + "uses_left, uses, revoked, created_by) VALUES (:id, :sha, :created, :expires, :left, 0, FALSE, :by)")
                .bind("id", id).bind("sha", Sha256.hex(secret.getBytes(StandardCharsets.US_ASCII)))
                .bind("created", Timestamp.from(now)).bind("expires", Timestamp.from(token.expiresAt()))
                .bind("left", uses).bind("by", by.id()).execute());
        return new Created(secret, token);
    }

    public List<JoinToken> list() {
        return jdbi.withHandle(h -> h.createQuery("SELECT id, created_at, expires_at, uses_left, uses, revoked, "
                        + "created_by FROM join_tokens ORDER BY created_at DESC")
                .map(JoinTokens::token).list());
    }

    public Optional<JoinToken> find(String id) {
        return jdbi.withHandle(h -> find(h, id));
    }

    private static Optional<JoinToken> find(Handle h, String id) {
        return h.createQuery("SELECT id, created_at, expires_at, uses_left, uses, revoked, created_by FROM join_tokens "
                + "WHERE id = :id").bind("id", id).map(JoinTokens::token).findFirst();
    }

    /** Revokes a token: nobody joins with it any more. Idempotent; NOT_FOUND for a token that never was. */
    public JoinToken revoke(String id) {
        int changed = jdbi.withHandle(h -> h.createUpdate("UPDATE join_tokens SET revoked = TRUE WHERE id = :id")
                .bind("id", id).execute());
        if (changed == 0) {
            throw new FactoryException(ErrorCode.NOT_FOUND, "join token " + id + " does not exist");
        }
        return find(id).orElseThrow();
    }

    /**
     * Takes one use of the token whose secret is {@code secret}: its id when it was valid, unexpired, unrevoked and
     * had a use left; otherwise why not (never saying whether a token with that id exists, to the caller: the reason
     * is for the audit trail).
     */
    public Redeemed redeem(String secret) {
        return jdbi.inTransaction(h -> redeem(h, secret));
    }

    /** {@link #redeem(String)} in the caller's transaction, so that the use is taken only if the rest commits. */
    public Redeemed redeem(Handle h, String secret) {
        Matcher m = TOKEN.matcher(secret == null ? "" : secret.strip());
        if (!m.matches()) {
            return new Redeemed(Optional.empty(), "not a join token");
        }
        String id = m.group(1);
        Optional<String> stored = h.createQuery("SELECT secret_sha256 FROM join_tokens WHERE id = :id")
                .bind("id", id).mapTo(String.class).findFirst();
        byte[] presented = Sha256.hex(secret.strip().getBytes(StandardCharsets.US_ASCII)).getBytes(StandardCharsets.US_ASCII);
        if (stored.isEmpty() || !MessageDigest.isEqual(stored.get().getBytes(StandardCharsets.US_ASCII), presented)) {
            return new Redeemed(Optional.empty(), "join token " + id + " is unknown or its secret is wrong");
        }
        Instant now = clock.instant();
        int taken = h.createUpdate("UPDATE join_tokens SET uses_left = uses_left - 1, "
                        + "uses = uses + 1 WHERE id = :id AND uses_left > 0 AND revoked = FALSE AND expires_at > :now")
                .bind("id", id).bind("now", Timestamp.from(now)).execute();
        if (taken == 1) {
            return new Redeemed(Optional.of(id), "");
        }
        JoinToken token = find(h, id).orElseThrow();
        String why = token.revoked() ? "revoked" : token.usesLeft() <= 0 ? "used up" : "expired at " + token.expiresAt();
        return new Redeemed(Optional.empty(), "join token " + id + " is " + why);
    }

    private static JoinToken token(java.sql.ResultSet rs, org.jdbi.v3.core.statement.StatementContext ctx)
            throws java.sql.SQLException {
        return new JoinToken(rs.getString(1), rs.getTimestamp(2).toInstant(), rs.getTimestamp(3).toInstant(),
                rs.getInt(4), rs.getInt(5), rs.getBoolean(6), rs.getString(7));
    }

    /** The outcome of {@link #redeem}: the token's id, or empty with the reason. */
    public record Redeemed(Optional<String> tokenId, String reason) {}
}
