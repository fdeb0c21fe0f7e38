package ai.factory.cluster;

import java.util.Locale;

/**
 * Where a node stands: {@code READY} takes work; {@code DRAINING} keeps what it runs and takes nothing new;
 * {@code REMOVED} is out of the cluster for good, its certificate refused from then on (a machine that should come
 * back joins again, with a new token, as a new node).
 */
public enum NodeState {
    READY, DRAINING, REMOVED;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
