package ai.factory.api.codec.bedrock;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;
import java.util.List;

/** Bedrock's Converse answer and the payloads of ConverseStream's events. */
public record ConverseResponse(Output output, String stopReason, Usage usage, Metrics metrics) {
    public record Output(Message message) {}

    public record Message(String role, List<ContentBlock> content) {}

    /** A text block or a tool-use block. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ContentBlock(@Nullable String text, @Nullable ToolUse toolUse) {}

    public record ToolUse(String toolUseId, String name, JsonNode input) {}

    /**
     * Bedrock's {@code TokenUsage}, with its prompt-caching meaning: {@code inputTokens} counts the prompt tokens not
     * read from the cache and {@code cacheReadInputTokens} those read from it, so that the prompt is their sum and
     * {@code totalTokens} counts both and the output. Bedrock leaves the cache fields out when no cache was read;
     * so does this, leaving {@code cacheReadInputTokens} out at 0. {@code cacheWriteInputTokens} is never written:
     * it counts what a request's cache checkpoints wrote, and the engine keeps a slot's prefix without being asked.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Usage(int inputTokens, int outputTokens, int totalTokens, @Nullable Integer cacheReadInputTokens) {}

    public record Metrics(long latencyMs) {}

    /** ConverseStream's {@code messageStart}. */
    public record MessageStart(String role) {}

    /** ConverseStream's {@code contentBlockStart}: a tool-use block begins. */
    public record ContentBlockStart(Start start, int contentBlockIndex) {}

    public record Start(ToolUseStart toolUse) {}

    public record ToolUseStart(String toolUseId, String name) {}

    /** ConverseStream's {@code contentBlockDelta}: text, or a fragment of a tool call's input JSON. */
    public record ContentBlockDelta(Delta delta, int contentBlockIndex) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Delta(@Nullable String text, @Nullable ToolUseDelta toolUse) {}

    public record ToolUseDelta(String input) {}

    public record ContentBlockStop(int contentBlockIndex) {}

    public record MessageStop(String stopReason) {}

    public record Metadata(Usage usage, Metrics metrics) {}
}
