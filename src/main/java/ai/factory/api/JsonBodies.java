package ai.factory.api;

import ai.factory.FactoryException;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.Optional;

/**
 * What is left of reading JSON bodies by hand: the sampling fields of OpenAI's text requests, and how a JSON value is
 * called in error messages. Request bodies bind to wire records through {@link ai.factory.api.codec.WireJson}.
 */
public final class JsonBodies {
    private JsonBodies() {}

    public static Optional<Integer> optionalInt(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw FactoryException.invalidParam(field, "'" + field + "' must be an integer, not " + kind(v));
        }
        return Optional.of(v.intValue());
    }

    /** How a JSON value is called in error messages. */
    public static String kind(JsonNode v) {
        return switch (v.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT, POJO -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL, MISSING -> "null";
            case BINARY -> "binary data";
        };
    }
}
