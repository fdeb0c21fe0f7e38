package ai.factory.serving;

import ai.factory.engine.Engine;
import ai.factory.models.ModelVersion;

/** Opens the engine that runs a model version; the one seam between serving and the engines. */
@FunctionalInterface
public interface EngineLoader {
    /**
     * Loads replica {@code replica} of the version, where {@code placement} says (CPU, or which layers on which GPUs),
     * or throws a FactoryException saying why it can't be served.
     */
    Engine load(ReplicaOf replica, ModelVersion version, DeploymentSpec spec, ReplicaPlacement placement);

    /**
     * Whether a deployment's replicas of {@code version} may load at the same time. Replicas that load on this machine load one after
     * another (each needs the model's decrypted file in memory while it loads); replicas that load on workers load
     * each on its own, so a deployment of N is ready after the slowest, not after the sum.
     */
    default boolean loadsTogether(ModelVersion version) {
        return false;
    }
}
