package ai.factory.training;

import ai.factory.FactoryException;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The JSON Lines formats a fine-tuning dataset may be written in, one record per line. A dataset holds one format,
 * detected from its first record ({@link DatasetParser}).
 *
 * <ul>
 * <li>{@link #BEDROCK_TEXT}: Amazon Bedrock's text records, {@code {"prompt": "…", "completion": "…"}}.</li>
 * <li>{@link #BEDROCK_CONVERSATION}: Amazon Bedrock's conversation records,
 * {@code {"schemaVersion": "bedrock-conversation-2024", "system": [{"text": "…"}], "messages": [{"role": "user",
 * "content": [{"text": "…"}]}, {"role": "assistant", "content": [{"text": "…"}]}]}}: {@code system} optional, turns
 * alternating user and assistant, from a user turn to an assistant turn.</li>
 * <li>{@link #OPENAI_CHAT}: OpenAI's chat fine-tuning records, {@code {"messages": [{"role": "system", "content":
 * "…"}, {"role": "user", "content": "…"}, {"role": "assistant", "content": "…"}]}}: system messages first, the last
 * message the assistant's.</li>
 * </ul>
 */
public enum DatasetFormat {
    BEDROCK_TEXT("bedrock-text", "Bedrock text"),
    BEDROCK_CONVERSATION("bedrock-conversation", "Bedrock conversation"),
    OPENAI_CHAT("openai-chat", "OpenAI chat");

    /** The {@code schemaVersion} every Bedrock conversation record carries. */
    public static final String BEDROCK_CONVERSATION_SCHEMA = "bedrock-conversation-2024";

    private final String id;
    private final String title;

    DatasetFormat(String id, String title) {
        this.id = id;
        this.title = title;
    }

    /** The name on the wire and in the database: {@code bedrock-text}, {@code bedrock-conversation}, {@code openai-chat}. */
    public String id() {
        return id;
    }

    /** The name in messages: {@code Bedrock text}, … */
    public String title() {
        return title;
    }

    public static DatasetFormat parse(String id) {
        for (DatasetFormat f : values()) {
            if (f.id.equals(id)) {
                return f;
            }
        }
        throw FactoryException.invalidParam("format", "unknown dataset format '" + id + "'; use one of "
                + Arrays.stream(values()).map(DatasetFormat::id).collect(Collectors.joining(", ")));
    }
}
