package ai.factory.engine;

/** How busy an engine is: sequences in its batch and requests waiting for a slot. */
public record EngineLoad(int active, int waiting, int slots, int queueCapacity) {}
