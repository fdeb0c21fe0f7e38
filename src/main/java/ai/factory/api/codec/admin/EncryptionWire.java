package ai.factory.api.codec.admin;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;

/** {@code /api/v1/encryption}: the master key and the key-encryption keys (never a key itself), and rotation. */
public final class EncryptionWire {
    private EncryptionWire() {}

    /** {@code POST /api/v1/encryption/rotate-master}; an empty body is allowed. */
    public record RotateMaster(Boolean destroyPrevious) {
        /** The fields this body may carry; any other is refused rather than ignored. */
        public static final List<String> FIELDS = List.of("destroyPrevious");

        public boolean destroy() {
            return destroyPrevious != null && destroyPrevious;
        }
    }

    public record MasterRotation(int previousVersion, int version, int keksRewrapped, List<Integer> destroyedVersions) {
        public MasterRotation {
            destroyedVersions = List.copyOf(requireNonNull(destroyedVersions, "destroyedVersions is null"));
        }
    }

    /** @param provider {@code local-file} or {@code pkcs11} */
    public record Master(String provider, String location, List<Integer> versions, int current) {
        public Master {
            requireNonNull(provider, "provider is null");
            versions = List.copyOf(requireNonNull(versions, "versions is null"));
        }
    }

    /** One project's key-encryption key: its versions and dates. */
    public record Kek(String project, int kekVersion, int masterKeyVersion, Instant createdAt, Instant rotatedAt,
                      long dataKeys) {
        public Kek {
            requireNonNull(project, "project is null");
        }
    }

    public record Status(Master master, List<Kek> keys) {
        public Status {
            requireNonNull(master, "master is null");
            keys = List.copyOf(requireNonNull(keys, "keys is null"));
        }
    }
}
