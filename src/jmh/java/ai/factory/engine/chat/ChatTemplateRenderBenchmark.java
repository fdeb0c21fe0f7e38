package ai.factory.engine.chat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One render of a compiled chat template over a long conversation: a system prompt, {@code turns} question and answer
 * pairs, and a last question, with the generation prompt, as every chat request to a GGUF model renders its prompt.
 * The template is by default Meta's published Llama 3.1 Instruct template (system message extraction, tool handling,
 * date string). Templates are the test fixtures, read from {@value #FIXTURES} relative to the working directory (the
 * repository root), since the benchmarks' class path holds no test resources: {@code -p template=Qwen-Qwen3-0.6B}
 * renders another of them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class ChatTemplateRenderBenchmark {
    private static final String FIXTURES = "src/test/resources/chat-templates";
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2025-03-14T09:26:53Z"), ZoneOffset.UTC);

    /** A fixture's name: its file in {@value #FIXTURES} without {@code .jinja}. */
    @Param("meta-llama-Llama-3.1-8B-Instruct")
    String template;

    @Param("50")
    int turns;

    private ChatTemplate compiled;
    private List<ChatMessage> conversation;

    @Setup(Level.Trial)
    public void compile() throws IOException {
        Path file = Path.of(FIXTURES, template + ".jinja");
        if (!Files.isRegularFile(file)) {
            throw new IllegalStateException("no template at " + file.toAbsolutePath()
                    + "; run from the repository root, with -p template= naming a file there");
        }
        compiled = ChatTemplate.compile(Files.readString(file), CLOCK);
        List<ChatMessage> messages = new ArrayList<>(List.of(ChatMessage.system("You are a helpful assistant")));
        for (int i = 0; i < turns; i++) {
            messages.add(ChatMessage.user("Question " + i));
            messages.add(ChatMessage.assistant("Answer " + i));
        }
        messages.add(ChatMessage.user("Last question"));
        conversation = List.copyOf(messages);
    }

    @Benchmark
    public String render() {
        return compiled.render(conversation, true, "<|begin_of_text|>", "<|eot_id|>");
    }
}
