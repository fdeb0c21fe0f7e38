package ai.factory.engine.chat;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jspecify.annotations.Nullable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON that tool calling moves between model text, templates and APIs: reading a call's JSON out of the
 * middle of model output, normalizing arguments to compact object text, and turning JSON into the plain maps
 * and lists that templates take.
 */
final class ToolJson {
    static final ObjectMapper MAPPER = new ObjectMapper();

    /** A JSON value read from text, and the index just after it. */
    record Scanned(JsonNode value, int end) {}

    private ToolJson() {}

    /**
     * Reads one JSON object or array starting at {@code from} (after optional whitespace), or returns null when
     * there is none or it is broken or unfinished. What follows the value is left alone.
     */
    static @Nullable Scanned scan(String text, int from) {
        int start = skipWhitespace(text, from);
        if (start >= text.length() || (text.charAt(start) != '{' && text.charAt(start) != '[')) {
            return null;
        }
        try (JsonParser parser = MAPPER.createParser(text.substring(start))) {
            JsonNode value = parser.readValueAsTree();
            if (value == null) {
                return null;
            }
            return new Scanned(value, start + (int) parser.currentLocation().getCharOffset());
        } catch (IOException e) {
            return null;
        }
    }

    static int skipWhitespace(String text, int from) {
        int i = from;
        while (i < text.length() && Character.isWhitespace(text.charAt(i))) {
            i++;
        }
        return i;
    }

    /**
     * A call's arguments as compact JSON text of an object, or null when they are not an object. Models (and
     * some clients) send the object itself, or JSON text of it as a string; a missing value means no arguments.
     */
    static @Nullable String objectText(JsonNode arguments) {
        JsonNode object = arguments;
        if (object == null || object.isMissingNode() || object.isNull()) {
            return "{}";
        }
        if (object.isTextual()) {
            object = parse(object.textValue());
        }
        if (object == null || !object.isObject()) {
            return null;
        }
        return object.toString();
    }

    /** The JSON value of {@code text}, or null when it is not (exactly) JSON. */
    static @Nullable JsonNode parse(String text) {
        try {
            return MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    /**
     * What a template sees as a call's arguments: the object as a map when the text is a JSON object, as Hugging
     * Face templates expect ({@code arguments | tojson}, {@code arguments | items}); else the text itself.
     */
    static Object argumentsValue(String arguments) {
        JsonNode node = parse(arguments);
        return node != null && node.isObject() ? plainObject(node) : arguments;
    }

    /** A JSON value as plain Java: maps (in key order), lists, strings, longs, doubles, booleans, null. */
    static @Nullable Object plain(JsonNode node) {
        return switch (node.getNodeType()) {
            case OBJECT -> plainObject(node);
            case ARRAY -> {
                List<Object> list = new ArrayList<>();
                node.forEach(item -> list.add(plain(item)));
                yield list;
            }
            case STRING -> node.textValue();
            case NUMBER -> node.isIntegralNumber()
                    ? (node.canConvertToLong() ? (Object) node.longValue() : node.bigIntegerValue())
                    : (Object) node.doubleValue();
            case BOOLEAN -> node.booleanValue();
            case NULL, MISSING, BINARY, POJO -> null;
        };
    }

    /** A JSON object as a plain Java map, in key order (see {@link #plain}). */
    private static Map<String, Object> plainObject(JsonNode node) {
        Map<String, Object> map = new LinkedHashMap<>();
        node.properties().forEach(entry -> map.put(entry.getKey(), plain(entry.getValue())));
        return map;
    }
}
