package ai.factory.cluster;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * A machine that joined the factory as a worker.
 *
 * @param id the node's id, the common name of its client certificate
 * @param certificateSerial the serial of that certificate (hexadecimal)
 * @param certificateSha256 its SHA-256 fingerprint
 * @param address where the worker was seen from when it joined
 * @param inventory what the worker reported of its CPUs, memory and accelerators (JSON)
 * @param servingPort the port the worker serves its replicas on, at {@code address}; 0 until it reports one
 */
public record Node(String id, String name, NodeState state, String certificateSerial, String certificateSha256,
                   Instant certificateExpiresAt, String joinToken, String address, String version, String inventory,
                   Instant joinedAt, Instant lastSeenAt, @Nullable Instant removedAt, int servingPort) {
    public Node {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        requireNonNull(state, "state is null");
        requireNonNull(certificateSerial, "certificateSerial is null");
        requireNonNull(certificateSha256, "certificateSha256 is null");
        requireNonNull(certificateExpiresAt, "certificateExpiresAt is null");
        requireNonNull(joinToken, "joinToken is null");
        requireNonNull(address, "address is null");
        requireNonNull(version, "version is null");
        requireNonNull(inventory, "inventory is null");
        requireNonNull(joinedAt, "joinedAt is null");
        requireNonNull(lastSeenAt, "lastSeenAt is null");
    }
}
