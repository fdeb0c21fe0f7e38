package ai.factory.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The control plane's side of a multi-node factory.
 *
 * @param port the port of the mutual-TLS endpoint workers call once they joined (heartbeats); empty: this factory
 *     takes no workers
 * @param heartbeatDeadline how long a node may go without a heartbeat before it counts as down
 * @param role whether this factory serves its deployments itself or places them on workers
 * @param site where the site's own material lives (master keystore, audit signing key, CAs, blobs), shared by every
 *     control-plane replica; empty: the home
 * @param advertise the host name or address workers reach this replica's cluster port at; empty: the server's host,
 *     or this machine's address when the server listens on all of them
 * @param placement how the control plane chooses among the workers with room for a replica
 */
public record ClusterConfig(OptionalInt port, Duration heartbeatDeadline, Role role, Optional<Path> site,
                            Optional<String> advertise, Placement placement) {
    public static final ClusterConfig NONE = new ClusterConfig(OptionalInt.empty(), Duration.ofSeconds(10), Role.ALL);

    /** What a factory process does. */
    public enum Role {
        /** Everything in one process: the API and the engines of its deployments. */
        ALL,
        /** The API, registry, keys and audit; text models' replicas run on the workers that joined. */
        CONTROL;

        public static Role parse(String value) {
            return switch (value.strip().toLowerCase(java.util.Locale.ROOT)) {
                case "all" -> ALL;
                case "control" -> CONTROL;
                default -> throw new IllegalArgumentException("cluster.role is all or control, not '" + value + "'");
            };
        }
    }

    /** How a control plane chooses among the workers with room for a replica. */
    public enum Placement {
        /** A deployment's replicas on different workers, then the worker with the fewest assignments. */
        SPREAD,
        /** The worker with the least memory left that still fits the replica: whole workers stay free. */
        BINPACK;

        public static Placement parse(String value) {
            return switch (value.strip().toLowerCase(java.util.Locale.ROOT)) {
                case "spread" -> SPREAD;
                case "binpack", "bin-pack" -> BINPACK;
                default -> throw new IllegalArgumentException("cluster.placement is spread or binpack, not '"
                        + value + "'");
            };
        }
    }

    public ClusterConfig(OptionalInt port, Duration heartbeatDeadline, Role role, Optional<Path> site,
                         Optional<String> advertise) {
        this(port, heartbeatDeadline, role, site, advertise, Placement.SPREAD);
    }

    public ClusterConfig(OptionalInt port, Duration heartbeatDeadline) {
        this(port, heartbeatDeadline, Role.ALL);
    }

    public ClusterConfig(OptionalInt port, Duration heartbeatDeadline, Role role) {
        this(port, heartbeatDeadline, role, Optional.empty(), Optional.empty());
    }

    public ClusterConfig {
        requireNonNull(site, "site is null");
        site = site.map(p -> p.toAbsolutePath().normalize());
        requireNonNull(advertise, "advertise is null");
        advertise = advertise.map(String::strip).filter(a -> !a.isEmpty());
        if (advertise.isPresent() && !advertise.get().matches("[A-Za-z0-9.:\\-\\[\\]]{1,253}")) {
            throw new IllegalArgumentException("cluster.advertise is a host name or an address, not '"
                    + advertise.get() + "'");
        }
        requireNonNull(port, "port is null");
        requireNonNull(role, "role is null");
        requireNonNull(placement, "placement is null");
        if (role == Role.CONTROL && port.isEmpty()) {
            throw new IllegalArgumentException("cluster.role control needs cluster.port: the workers that run its "
                    + "replicas call that port");
        }
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
