package ai.factory.engine.chat;

import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;
import java.util.List;
import java.util.random.RandomGenerator;
import java.util.regex.Pattern;

/** What the marker-delimited formats share: finding markers, and reading a call object's fields. */
final class CallScanner {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    /** The calls read after a marker, and the index where the text after them resumes. */
    record Block(List<ToolCall> calls, int end) {}

    /** Reads the calls that follow a marker ending at {@code from}; null when they are malformed. */
    @FunctionalInterface
    interface BlockReader {
        @Nullable Block read(String text, int from, RandomGenerator ids);
    }

    private CallScanner() {}

    /**
     * Splits {@code text} at every {@code marker}, reading calls after each. A marker whose calls are malformed
     * stays in the content as text, and scanning goes on after it.
     */
    static ToolOutput parse(String text, String marker, BlockReader reader, RandomGenerator ids) {
        ToolOutputBuilder output = new ToolOutputBuilder();
        int position = 0;
        for (int at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, position)) {
            output.text(text.substring(position, at));
            Block block = reader.read(text, at + marker.length(), ids);
            if (block == null) {
                output.text(marker);
                position = at + marker.length();
            } else {
                output.calls(block.calls());
                position = block.end();
            }
        }
        return output.text(text.substring(position)).build();
    }

    /**
     * The first index where {@code marker} occurs, or where a suffix of {@code text} begins that is the start of
     * it; {@code text.length()} when neither.
     */
    static int possibleStart(String text, String marker) {
        int at = text.indexOf(marker);
        if (at >= 0) {
            return at;
        }
        for (int start = Math.max(0, text.length() - marker.length() + 1); start < text.length(); start++) {
            if (marker.startsWith(text.substring(start))) {
                return start;
            }
        }
        return text.length();
    }

    /**
     * The call an object such as {@code {"name": "f", "arguments": {...}}} describes, or null when it has no
     * valid name or its arguments are not an object (or JSON text of one).
     *
     * @param argumentsField the field holding the arguments ({@code arguments}, or Llama's {@code parameters})
     * @param id the id to give it when the object has no string {@code id}
     */
    static @Nullable ToolCall call(JsonNode object, String argumentsField, String id) {
        if (object == null || !object.isObject()) {
            return null;
        }
        JsonNode name = object.get("name");
        if (name == null || !name.isTextual() || !NAME.matcher(name.textValue()).matches()) {
            return null;
        }
        String arguments = ToolJson.objectText(object.get(argumentsField));
        if (arguments == null) {
            return null;
        }
        JsonNode ownId = object.get("id");
        return new ToolCall(ownId != null && ownId.isTextual() && !ownId.textValue().isBlank() ? ownId.textValue() : id,
                name.textValue(), arguments);
    }

    static boolean validName(String name) {
        return NAME.matcher(name).matches();
    }
}
