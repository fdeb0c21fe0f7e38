package ai.factory.api.codec.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonInclude;
import org.jspecify.annotations.Nullable;
import java.time.Instant;
import java.util.List;

/** {@code /api/v1/keys}: API keys. A secret appears once, in the answer to its creation. */
public final class KeyWire {
    private KeyWire() {}

    /**
     * {@code POST /api/v1/keys}.
     *
     * @param project default: the caller's
     * @param role default: {@code invoker}
     * @param aws true for an AWS-style access key id and secret access key (SigV4)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL) // what the command line leaves out, it does not send as null
    public record CreateKey(String name, @Nullable String project, @Nullable String role, @Nullable Boolean aws) {
        public CreateKey {
            Required.field(name, "name");
        }

        public boolean awsKey() {
            return aws != null && aws;
        }
    }

    /** A key as listed: never its secret. */
    public record Key(String id, String name, String project, String role, String prefix, Instant createdAt,
                      @Nullable Instant revokedAt) {
        public Key {
            requireNonNull(id, "id is null");
        }
    }

    /**
     * A key just made, with its secret: {@code secret} for a bearer key, or {@code accessKeyId} and
     * {@code secretAccessKey} for an AWS one; the other kind's fields are left out, not null.
     */
    public record CreatedKey(String id, String name, String project, String role, String prefix, Instant createdAt,
                             @Nullable Instant revokedAt,
                             @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable String secret,
                             @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable String accessKeyId,
                             @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable String secretAccessKey) {
        public CreatedKey {
            requireNonNull(id, "id is null");
        }

        public static CreatedKey bearer(Key k, String secret) {
            return new CreatedKey(k.id(), k.name(), k.project(), k.role(), k.prefix(), k.createdAt(), k.revokedAt(),
                    requireNonNull(secret, "secret is null"), null, null);
        }

        public static CreatedKey aws(Key k, String accessKeyId, String secretAccessKey) {
            return new CreatedKey(k.id(), k.name(), k.project(), k.role(), k.prefix(), k.createdAt(), k.revokedAt(),
                    null, requireNonNull(accessKeyId, "accessKeyId is null"),
                    requireNonNull(secretAccessKey, "secretAccessKey is null"));
        }
    }

    public record KeyList(List<Key> keys) {
        public KeyList {
            keys = List.copyOf(requireNonNull(keys, "keys is null"));
        }
    }
}
