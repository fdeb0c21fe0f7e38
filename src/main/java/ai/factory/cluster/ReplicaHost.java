package ai.factory.cluster;

import java.util.List;

/**
 * What runs a worker's replicas, as its heartbeats see it: how each stands now, and what the control plane's answer
 * assigns. {@link WorkerReplicas} loads real engines; a simulated fleet reports without loading.
 */
public interface ReplicaHost {
    /** How every replica this worker runs stands now. */
    List<Assignments.Reported> reports();

    /** How busy each ready replica is now, by assignment: reported with every heartbeat, never a reason to send one. */
    default java.util.Map<String, ai.factory.engine.EngineLoad> loads() {
        return java.util.Map.of();
    }

    /** Starts what {@code assigned} names and this worker does not run yet; stops what it no longer names. */
    void reconcile(List<ReplicaWork> assigned);

    /** Has {@code listener} run whenever a replica's state changes (it became ready, or failed). */
    default void onChange(Runnable listener) {
    }
}
