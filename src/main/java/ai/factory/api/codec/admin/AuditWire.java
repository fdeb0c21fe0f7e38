package ai.factory.api.codec.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
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

    /** {@code GET /api/v1/audit/verify}: {@code problem} is left out when the chain is whole. */
    public record Verification(boolean ok, long records, long digests, long firstSeq, long lastSeq, long undigested,
                               Instant lastDigestAt, long droppedSinceStart,
                               @JsonInclude(JsonInclude.Include.NON_NULL) Problem problem) {}

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
