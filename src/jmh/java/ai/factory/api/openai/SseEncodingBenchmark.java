package ai.factory.api.openai;

import ai.factory.api.SseStream;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.openai.ChatCodec;
import ai.factory.api.codec.openai.ChatCompletionRequest;
import ai.factory.engine.TokenEvent;
import ai.factory.inference.InferenceEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
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
 * One streamed token of {@code POST /v1/chat/completions}: the {@code chat.completion.chunk} the chat codec builds
 * for it and that chunk as the bytes of its SSE frame, through the same code the server runs per token.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class SseEncodingBenchmark {
    private final String id = "chatcmpl-3f2b9c7e51d84a0c9e6b1d2f4a7c8e90";
    private final long created = 1_764_000_000L;
    private final String model = "acme/llama-3.1-8b-instruct";
    private final TokenEvent.Token token = new TokenEvent.Token(1917, " world", Float.NaN, List.of());
    private final TokenEvent.Token withLogprobs = new TokenEvent.Token(1917, " world", -0.25f, List.of(
            new TokenEvent.TopLogprob(1917, " world", -0.25f), new TokenEvent.TopLogprob(2317, " there", -1.75f)));

    /** Stands in for the response's output stream, whose buffer the server's container reuses likewise. */
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
    private final ChatCodec.Stream plain = stream(false);
    private final ChatCodec.Stream logprobs = stream(true);

    private ChatCodec.Stream stream(boolean withLogprobs) {
        byte[] request = ("{\"model\": \"" + model + "\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], "
                + "\"stream\": true, \"logprobs\": " + withLogprobs + "}").getBytes(StandardCharsets.UTF_8);
        return new ChatCodec.Stream(id, created, model, ChatCodec.decode(WireJson.read(request, ChatCompletionRequest.class)),
                chunk -> {
                    try {
                        SseStream.writeFrame(out, chunk);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
    }

    /** A token's chunk, built and written as its frame: what the server does for each streamed token. */
    @Benchmark
    public int tokenFrame() throws IOException {
        out.reset();
        plain.accept(new InferenceEvent.Text(token.text(), token), 0);
        return out.size();
    }

    /** The same with {@code logprobs} and two {@code top_logprobs}. */
    @Benchmark
    public int tokenFrameWithLogprobs() throws IOException {
        out.reset();
        logprobs.accept(new InferenceEvent.Text(withLogprobs.text(), withLogprobs), 0);
        return out.size();
    }
}
