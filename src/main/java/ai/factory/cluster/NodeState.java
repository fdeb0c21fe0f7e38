package ai.factory.cluster;

import java.util.Locale;

/**
 * Where a node stands: {@code READY} takes work; {@code DRAINING} (an admin drained it) keeps what it runs, takes
 * nothing new, and its replicas move; {@code LEAVING} is the same, asked by the worker itself as it stops (an upgrade,
 * a reboot), and ends by itself when the worker starts again; {@code REMOVED} is out of the cluster for good, its
 * certificate refused from then on (a machine that should come back joins again, with a new token, as a new node).
 */
public enum NodeState {
    READY, DRAINING, LEAVING, REMOVED;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether the node's replicas move elsewhere (drained, or leaving). */
    public boolean emptying() {
        return this == DRAINING || this == LEAVING;
    }
}
