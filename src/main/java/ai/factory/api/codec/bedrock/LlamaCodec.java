package ai.factory.api.codec.bedrock;

import ai.factory.FactoryException;
import ai.factory.api.codec.ApiFields;
import ai.factory.engine.SamplingParams;
import ai.factory.inference.Completion;
import ai.factory.inference.InferenceCall;
import ai.factory.inference.InferenceEvent;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Meta Llama's InvokeModel body as the factory's call: a prompt already written in the model's chat format (its
 * special tokens are read as such, and BOS is not doubled), Meta's defaults where the body leaves fields out.
 */
public final class LlamaCodec {
    /** Meta's defaults on Bedrock when the body leaves them out. */
    private static final int MAX_GEN_LEN = 512;
    private static final double TEMPERATURE = 0.5;
    private static final double TOP_P = 0.9;

    public static final ApiFields FIELDS = new ApiFields(Map.of("max_tokens", "max_gen_len", "prompt", "prompt"));

    private LlamaCodec() {}

    public static InferenceCall decode(String model, LlamaBody.Request r) {
        return FIELDS.apply(() -> {
            if (r.prompt() == null || r.prompt().isEmpty()) {
                throw FactoryException.invalidParam("prompt", "'prompt' must be a non-empty string");
            }
            if (r.images() != null && !r.images().isNull()) {
                throw FactoryException.invalidParam("images", "images are not supported");
            }
            int maxTokens = r.maxGenLen() == null ? MAX_GEN_LEN : r.maxGenLen();
            if (maxTokens < 1) {
                throw FactoryException.invalidParam("max_gen_len", "'max_gen_len' must be at least 1");
            }
            SamplingParams sampling = new SamplingParams(
                    (float) (r.temperature() == null ? TEMPERATURE : r.temperature()),
                    (float) (r.topP() == null ? TOP_P : r.topP()), 0, 0f, 1f, 0f, 0f, 64, null);
            return new InferenceCall(model, new InferenceCall.Prompt.Text(r.prompt(), true), InferenceCall.Tools.NONE,
                    InferenceCall.OutputFormat.TEXT, sampling, maxTokens, List.of(), false, false, 0, Map.of(),
                    r.maxGenLen() != null);
        });
    }

    public static LlamaBody.Response response(Completion c) {
        return new LlamaBody.Response(c.text(), c.end().promptTokens(), c.end().completionTokens(),
                stopReason(c.end().reason()), null);
    }

    private static String stopReason(InferenceEvent.Finish finish) {
        return finish == InferenceEvent.Finish.LENGTH ? "length" : "stop";
    }

    /** Writes a streamed answer as Meta's chunks, each one JSON document. */
    public static final class Stream implements Consumer<InferenceEvent> {
        private final Consumer<Object> out;
        private final int promptTokens;
        private final LongSupplier latencyMs;
        private int generated;

        public Stream(Consumer<Object> out, int promptTokens, LongSupplier latencyMs) {
            this.out = out;
            this.promptTokens = promptTokens;
            this.latencyMs = latencyMs;
        }

        @Override
        public void accept(InferenceEvent event) {
            switch (event) {
                case InferenceEvent.Text t -> {
                    generated++;
                    if (!t.text().isEmpty()) {
                        out.accept(new LlamaBody.Response(t.text(), generated == 1 ? promptTokens : null, generated, null, null));
                    }
                }
                case InferenceEvent.ToolCallDelta d -> throw new IllegalStateException("Llama bodies have no tools");
                case InferenceEvent.End end -> out.accept(new LlamaBody.Response("", null, end.completionTokens(),
                        stopReason(end.reason()), new LlamaBody.InvocationMetrics(end.promptTokens(),
                        end.completionTokens(), latencyMs.getAsLong())));
            }
        }
    }
}
