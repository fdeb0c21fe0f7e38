package ai.factory.api.openai;

import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.openai.ChatCodec;
import ai.factory.api.codec.openai.ChatCompletionRequest;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Reading a typical chat completion request body as {@code POST /v1/chat/completions} does: the JSON bytes bound to
 * the wire record, strictly, then decoded into the pipeline's call by {@link ChatCodec}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class ChatRequestParsingBenchmark {
    /** A system prompt, three turns, the common sampling fields, a stop string and streaming with usage. */
    private final byte[] body = """
            {"model": "acme/llama-3.1-8b-instruct",
             "messages": [
               {"role": "system", "content": "You are a careful assistant for the operations team. Answer briefly, \
            cite the runbook section when there is one, and say so when you do not know."},
               {"role": "user", "content": "The nightly export to the archive failed with 'disk quota exceeded'. \
            What should I check first?"},
               {"role": "assistant", "content": "Check the archive volume's usage and the export job's retention \
            setting; runbook section 4.2 covers both."},
               {"role": "user", "content": [{"type": "text", "text": "Usage is at 97%. Which old exports can I remove \
            safely, and how do I keep this from happening again?"}]}
             ],
             "temperature": 0.7, "top_p": 0.95, "max_tokens": 512, "stop": ["\\nUser:"], "seed": 42,
             "stream": true, "stream_options": {"include_usage": true}}
            """.getBytes(StandardCharsets.UTF_8);

    @Benchmark
    public ChatCodec.Decoded parse() {
        return ChatCodec.decode(WireJson.read(body, ChatCompletionRequest.class));
    }
}
