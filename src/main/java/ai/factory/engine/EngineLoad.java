package ai.factory.engine;

/**
 * How busy an engine is: sequences in its batch and requests waiting for a slot.
 *
 * @param generatedTokens the tokens it generated since it was loaded (its rate is the engine's output speed)
 */
public record EngineLoad(int active, int waiting, int slots, int queueCapacity, long generatedTokens) {}
