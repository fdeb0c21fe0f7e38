package ai.factory.serving;

import static java.util.Objects.requireNonNull;

/** Which replica a load is for: the deployment's id and the replica's index in it (0 to replicas − 1). */
public record ReplicaOf(String deployment, int index) {
    public ReplicaOf {
        requireNonNull(deployment, "deployment is null");
        if (index < 0) {
            throw new IllegalArgumentException("a replica's index is at least 0: " + index);
        }
    }
}
