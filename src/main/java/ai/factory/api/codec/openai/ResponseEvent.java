package ai.factory.api.codec.openai;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import org.jspecify.annotations.Nullable;
import java.util.List;

/**
 * The events of a streamed Responses API answer, each sent as an SSE frame named by its {@code type}, numbered by
 * {@code sequence_number} from 0.
 */
public sealed interface ResponseEvent {
    String type();

    int sequenceNumber();

    /** {@code response.created}, {@code response.in_progress}, {@code response.completed}, {@code response.incomplete}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Lifecycle(String type, int sequenceNumber, ResponseObject response) implements ResponseEvent {}

    /** {@code response.output_item.added} and {@code .done}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record OutputItem(String type, int sequenceNumber, int outputIndex, ResponseObject.OutputItem item)
            implements ResponseEvent {}

    /** {@code response.content_part.added} and {@code .done}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record ContentPart(String type, int sequenceNumber, String itemId, int outputIndex, int contentIndex,
                       ResponseObject.ContentPart part) implements ResponseEvent {}

    /** {@code response.output_text.delta}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record TextDelta(String type, int sequenceNumber, @Nullable String itemId, int outputIndex, int contentIndex,
                     String delta,
                     List<Object> logprobs) implements ResponseEvent {}

    /** {@code response.output_text.done}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record TextDone(String type, int sequenceNumber, String itemId, int outputIndex, int contentIndex, String text,
                    List<Object> logprobs) implements ResponseEvent {}

    /** {@code response.function_call_arguments.delta}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record ArgumentsDelta(String type, int sequenceNumber, String itemId, int outputIndex, String delta)
            implements ResponseEvent {}

    /** {@code response.function_call_arguments.done}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record ArgumentsDone(String type, int sequenceNumber, String itemId, int outputIndex, String arguments)
            implements ResponseEvent {}

    /** {@code error}: the stream failed after it began; nothing follows. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Error(String type, int sequenceNumber, @Nullable String code, @Nullable String message,
                 @Nullable String param) implements ResponseEvent {}
}
