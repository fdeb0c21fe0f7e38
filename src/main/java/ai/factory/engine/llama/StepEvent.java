package ai.factory.engine.llama;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;

/**
 * One engine step ({@code llama_decode}) in a JDK Flight Recording: how many sequences generated in it and how many
 * prompt tokens it took, and how long it lasted. Off unless a recording enables it (the {@code profile} and
 * {@code default} settings do), at no cost then; {@code jfr print --events ai.factory.EngineStep rec.jfr} lists them,
 * which shows what a stream's slow gaps were made of.
 */
@Name("ai.factory.EngineStep")
@Label("Engine step")
@Category({"Factory", "Engine"})
@Description("One llama_decode of a GGUF model's engine")
final class StepEvent extends Event {
    @Label("Model")
    String model = "";

    @Label("Generating sequences")
    int generating;

    @Label("Prompt tokens")
    int promptTokens;

    @Label("Prompt sequences")
    int promptSequences;
}
