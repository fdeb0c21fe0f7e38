package ai.factory.api.codec.bedrock;

import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;
import java.util.List;

/**
 * The body of Bedrock's Converse and ConverseStream, as the Bedrock API reference defines it. Content blocks are
 * unions (exactly one member set); {@link ConverseCodec} reads them. The sampling fields this factory understands
 * beyond {@code inferenceConfig} come in {@code additionalModelRequestFields}, named as llama.cpp and vLLM name them.
 */
public record ConverseRequest(
        List<Message> messages,
        List<SystemBlock> system,
        InferenceConfig inferenceConfig,
        ToolConfig toolConfig,
        JsonNode additionalModelRequestFields,
        JsonNode guardrailConfig,
        JsonNode promptVariables,
        @Nullable ServiceTier serviceTier) {

    /** {@code serviceTier}: {@code {"type": "priority" | "default" | "flex"}}. */
    public record ServiceTier(@Nullable String type) {}

    public record Message(String role, List<ContentBlock> content) {}

    /** One member of the union is set: {@code text}, {@code toolUse}, {@code toolResult}, or a kind refused here. */
    public record ContentBlock(String text, ToolUse toolUse, ToolResult toolResult, JsonNode cachePoint,
                               JsonNode image, JsonNode document, JsonNode video, JsonNode reasoningContent,
                               JsonNode guardContent, JsonNode citationsContent) {}

    public record ToolUse(String toolUseId, String name, JsonNode input) {}

    /** A tool's result: its content blocks ({@code text} or {@code json}) and {@code success} or {@code error}. */
    public record ToolResult(String toolUseId, List<ToolResultContent> content, String status) {}

    public record ToolResultContent(String text, JsonNode json, JsonNode image, JsonNode document, JsonNode video) {}

    public record SystemBlock(String text, JsonNode cachePoint, JsonNode guardContent) {}

    public record InferenceConfig(@Nullable Integer maxTokens, @Nullable Double temperature, @Nullable Double topP,
                                  @Nullable List<String> stopSequences) {}

    /** {@code toolChoice} is {@code {"auto": {}}}, {@code {"any": {}}} or {@code {"tool": {"name": …}}}. */
    public record ToolConfig(List<Tool> tools, JsonNode toolChoice) {}

    public record Tool(ToolSpec toolSpec, JsonNode cachePoint) {}

    public record ToolSpec(String name, String description, InputSchema inputSchema) {}

    public record InputSchema(JsonNode json) {}
}
