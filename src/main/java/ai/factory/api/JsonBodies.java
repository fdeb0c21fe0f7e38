package ai.factory.api;

import ai.factory.FactoryException;
import ai.factory.Json;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.util.Optional;

/** Reads JSON request bodies field by field so every mistake gets a message naming the field. */
public final class JsonBodies {
    private JsonBodies() {}

    /** The body as a JSON object; malformed JSON or a non-object body is a 400. */
    public static JsonNode object(Context ctx) {
        return object(ctx.body());
    }

    /** As {@link #object(Context)}, from the body's text. */
    public static JsonNode object(String body) {
        if (body.isBlank()) {
            throw new FactoryException(ai.factory.ErrorCode.INVALID_REQUEST, "the request body is empty; send a JSON object");
        }
        JsonNode node;
        try {
            node = Json.mapper().readTree(body);
        } catch (JacksonException e) {
            throw new FactoryException(ai.factory.ErrorCode.INVALID_REQUEST,
                    "the request body is not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new FactoryException(ai.factory.ErrorCode.INVALID_REQUEST, "the request body must be a JSON object");
        }
        return node;
    }

    public static String requiredString(JsonNode body, String field) {
        return optionalString(body, field).orElseThrow(() ->
                FactoryException.invalidParam(field, "'" + field + "' is required"));
    }

    public static Optional<String> optionalString(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isTextual()) {
            throw FactoryException.invalidParam(field, "'" + field + "' must be a string, not " + kind(v));
        }
        return Optional.of(v.asText());
    }

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

    public static boolean requiredBoolean(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            throw FactoryException.invalidParam(field, "'" + field + "' is required");
        }
        if (!v.isBoolean()) {
            throw FactoryException.invalidParam(field, "'" + field + "' must be true or false, not " + kind(v));
        }
        return v.booleanValue();
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
