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
}
