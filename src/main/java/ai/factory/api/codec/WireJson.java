package ai.factory.api.codec;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.Json;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import org.jspecify.annotations.Nullable;
import java.io.IOException;
import java.util.Collection;
import java.util.Map;

/**
 * Reads request bodies into the APIs' wire records, strictly: a value of the wrong JSON type is an error naming the
 * field by its path in the body ({@code messages[2].content}), never coerced (no {@code "1"} for 1, no 1.5 for an
 * integer, no number for a string or a boolean); unknown fields are ignored, as the APIs' own servers ignore the
 * fields newer SDKs send; the body must be valid UTF-8 and one JSON document.
 */
public final class WireJson {
    private static final ObjectMapper STRICT = strict();

    private WireJson() {}

    private static ObjectMapper strict() {
        ObjectMapper mapper = ((JsonMapper) Json.mapper()).rebuild()
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .build();
        for (LogicalType type : new LogicalType[] {LogicalType.Textual, LogicalType.Boolean, LogicalType.Integer,
                LogicalType.Float}) {
            mapper.coercionConfigFor(type)
                    .setCoercion(CoercionInputShape.Integer, type == LogicalType.Integer || type == LogicalType.Float
                            ? CoercionAction.TryConvert : CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Float, type == LogicalType.Float ? CoercionAction.TryConvert
                            : CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Boolean, type == LogicalType.Boolean ? CoercionAction.TryConvert
                            : CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.String, type == LogicalType.Textual ? CoercionAction.TryConvert
                            : CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.EmptyString, type == LogicalType.Textual ? CoercionAction.TryConvert
                            : CoercionAction.Fail);
        }
        return mapper;
    }

    /**
     * The body as {@code type}.
     *
     * @throws FactoryException INVALID_REQUEST for an empty body, invalid JSON or UTF-8, a body that is not an object,
     *     or a field of the wrong type (naming it); a record's own validation failure as it threw it
     */
    public static <T> T read(byte[] body, Class<T> type) {
        return bind(tree(body), type);
    }

    /** The body as a JSON object, for a caller that looks at a field (the model) before binding the rest. */
    public static JsonNode tree(byte[] body) {
        if (blank(body)) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "the request body is empty; send a JSON object");
        }
        JsonNode tree;
        try {
            tree = STRICT.readTree(body);
        } catch (JacksonException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "the request body is not valid JSON: "
                    + e.getOriginalMessage());
        } catch (IOException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "the request body could not be read: " + e.getMessage());
        }
        if (tree == null || !tree.isObject()) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "the request body must be a JSON object");
        }
        return tree;
    }

    private static boolean blank(byte[] body) {
        for (byte b : body) {
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                return false;
            }
        }
        return true;
    }

    /** A JSON object as {@code type}, with {@link #read}'s rules. */
    public static <T> T bind(JsonNode tree, Class<T> type) {
        try {
            return STRICT.treeToValue(tree, type);
        } catch (ValueInstantiationException e) {
            if (e.getCause() instanceof FactoryException f) {
                throw f;
            }
            throw invalid(e);
        } catch (MismatchedInputException e) {
            throw mismatch(e);
        } catch (JsonMappingException e) {
            throw invalid(e);
        } catch (JacksonException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "the request body is not valid JSON: "
                    + e.getOriginalMessage());
        }
    }

    /** A field's path in the body as the API's documentation writes it: {@code messages[0].content}. */
    static String path(JsonMappingException e) {
        StringBuilder out = new StringBuilder();
        for (JsonMappingException.Reference ref : e.getPath()) {
            if (ref.getFieldName() != null) {
                if (!out.isEmpty()) {
                    out.append('.');
                }
                out.append(ref.getFieldName());
            } else if (ref.getIndex() >= 0) {
                out.append('[').append(ref.getIndex()).append(']');
            }
        }
        return out.toString();
    }

    private static FactoryException mismatch(MismatchedInputException e) {
        String path = path(e);
        if (path.isEmpty()) {
            return new FactoryException(ErrorCode.INVALID_REQUEST, "the request body must be a JSON object");
        }
        String expected = kind(e.getTargetType());
        String actual = e.getProcessor() instanceof JsonParser p ? kind(p.currentToken()) : null;
        String message = "'" + path + "' must be " + expected + (actual == null ? "" : ", not " + actual);
        return FactoryException.invalidParam(path, message);
    }

    private static FactoryException invalid(JsonMappingException e) {
        String path = path(e);
        String message = "the request body does not fit: " + e.getOriginalMessage();
        return path.isEmpty() ? new FactoryException(ErrorCode.INVALID_REQUEST, message)
                : FactoryException.invalidParam(path, "'" + path + "': " + e.getOriginalMessage());
    }

    /** How a JSON value is called in error messages ("a string", "an array"). */
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

    private static String kind(Class<?> type) {
        if (type == null) {
            return "of another type";
        }
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "an integer";
        }
        if (Number.class.isAssignableFrom(type) || type == double.class || type == float.class) {
            return "a number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (type == String.class) {
            return "a string";
        }
        if (Collection.class.isAssignableFrom(type) || type.isArray()) {
            return "an array";
        }
        if (Map.class.isAssignableFrom(type) || type.isRecord()) {
            return "an object";
        }
        return "of another type";
    }

    private static @Nullable String kind(JsonToken token) {
        if (token == null) {
            return null;
        }
        return switch (token) {
            case START_ARRAY, END_ARRAY -> "an array";
            case START_OBJECT, END_OBJECT, FIELD_NAME -> "an object";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            case VALUE_EMBEDDED_OBJECT, NOT_AVAILABLE -> null;
        };
    }
}
