package ai.factory.api.codec.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;
import java.time.Instant;
import java.util.List;

/** {@code /api/v1/audit}: the trail, its verification, the key to verify with, and logged content. */
public final class AuditWire {
    private AuditWire() {}

    /** One audit record with its chain hashes; see docs/audit.md for each field. */
    public record Record(long seq, Instant at, String principalId, String principalName, String project, String action,
                         String resource, String decision, String outcome, int status, String client,
                         String requestId, long bytesIn, long bytesOut, long promptTokens, long completionTokens,
                         String detail, String prevHash, String hash) {
        public Record {
            requireNonNull(at, "at is null");
        }
    }

    /** Newest first. */
    public record RecordList(List<Record> records) {
        public RecordList {
            records = List.copyOf(requireNonNull(records, "records is null"));
        }
    }

    /** The first broken record, and how it is broken ({@code kind} as the verifier names it, in lower case). */
    public record Problem(String kind, long seq, String message) {
        public Problem {
            requireNonNull(kind, "kind is null");
        }
    }

    /**
     * {@code GET /api/v1/audit/verify}: {@code problem} is left out when the chain is whole.
     *
     * @param undigested records after the newest digest, not yet signed
     * @param cadence what the unsigned tail was judged by: the cadence the newest digest signs, else the site's
     * @param anchors how many anchors the chain was found to extend (the factory's home anchor among them)
     * @param warning the unsigned tail breaking the cadence, where only a warning was asked for
     * @param latestAnchor the newest digest as an anchor ({@code factory audit anchor}), when the chain verified
     */
    public record Verification(boolean ok, long records, long digests, long firstSeq, long lastSeq, long undigested,
                               @Nullable Instant lastDigestAt, long droppedSinceStart,
                               @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable Problem problem,
                               @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable Cadence cadence, int anchors,
                               @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable Problem warning,
                               @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable String latestAnchor) {}

    /**
     * How often digests are signed: every {@code every} records, and before a record is {@code interval} old
     * (ISO-8601, e.g. {@code PT5M}).
     */
    public record Cadence(int every, String interval) {}

    /**
     * What the factory found when it started: whether the chain verified ({@code problem} names the first broken
     * record if not), and whether it was told to start anyway ({@code factory up --accept-broken-audit}).
     */
    public record StartCheck(boolean ok, boolean accepted, Instant at,
                             @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable Problem problem) {}

    /**
     * {@code GET /api/v1/audit/anchor}: the newest signed digest as one line to keep elsewhere
     * ({@code fa1:<seq>:<digest hash>:<key id>:<signature>}), and its parts.
     */
    public record Anchor(String anchor, long seq, String digestHash, String keyId, Instant createdAt) {
        public Anchor {
            requireNonNull(anchor, "anchor is null");
        }
    }

    /**
     * {@code GET /api/v1/audit/chain}: the chain's newest digest (read first) and highest record, and for
     * {@code from}/{@code to} the records made in that time; for a verifier that reads the chain page by page.
     */
    public record ChainHead(long headSeq, @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable Digest lastDigest,
                            @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable Long rangeFirstSeq,
                            @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable Long rangeLastSeq) {}

    /**
     * One signed digest, every field it signs ({@code docs/audit.md}); {@code every} and {@code intervalMillis} are
     * 0 for a version 1 digest, {@code recordHashes} is left out unless asked for.
     */
    public record Digest(int version, long firstSeq, long lastSeq, long count, Instant firstAt, Instant lastAt,
                         String headHash, Instant createdAt, String keyId, String prevDigest, int every,
                         long intervalMillis, boolean closing, String recordsHash,
                         @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable String recordHashes, String signature,
                         String hash) {
        public Digest {
            requireNonNull(firstAt, "firstAt is null");
        }
    }

    /** In order of their last record. */
    public record DigestList(List<Digest> digests) {
        public DigestList {
            digests = List.copyOf(requireNonNull(digests, "digests is null"));
        }
    }

    /** The Ed25519 public key, as PEM, to verify the signed digests with offline. */
    public record PublicKey(String algorithm, String keyId, String pem) {
        public PublicKey {
            requireNonNull(pem, "pem is null");
        }
    }

    /** What a call of a project that logs content left: its request body and output, as the JSON it was stored as. */
    public record Content(String project, String sha256, String requestId, Instant at, JsonNode content) {
        public Content {
            requireNonNull(project, "project is null");
        }
    }
}
