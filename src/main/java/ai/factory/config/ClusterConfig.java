package ai.factory.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.OptionalInt;

/**
 * The control plane's side of a multi-node factory.
 *
 * @param port the port of the mutual-TLS endpoint workers call once they joined (heartbeats); empty: this factory
 *     takes no workers
 * @param heartbeatDeadline how long a node may go without a heartbeat before it counts as down
 */
public record ClusterConfig(OptionalInt port, Duration heartbeatDeadline) {
    public static final ClusterConfig NONE = new ClusterConfig(OptionalInt.empty(), Duration.ofSeconds(10));

    public ClusterConfig {
        requireNonNull(port, "port is null");
        requireNonNull(heartbeatDeadline, "heartbeatDeadline is null");
        if (port.isPresent() && (port.getAsInt() < 0 || port.getAsInt() > 65_535)) {
            throw new IllegalArgumentException("cluster.port must be in 0..65535");
        }
        if (heartbeatDeadline.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("cluster.heartbeatDeadline must be at least 1s");
        }
    }

    /** How often a worker sends a heartbeat: three within the deadline. */
    public Duration heartbeatInterval() {
        return heartbeatDeadline.dividedBy(3);
    }
}
