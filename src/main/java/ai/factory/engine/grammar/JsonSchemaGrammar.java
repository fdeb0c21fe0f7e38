package ai.factory.engine.grammar;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import com.fasterxml.jackson.databind.JsonNode;

/** JSON Schema to GBNF. */
final class JsonSchemaGrammar {
    private JsonSchemaGrammar() {}

    static String addTo(Gbnf gbnf, String name, JsonNode schema) {
        throw new FactoryException(ErrorCode.INVALID_REQUEST, "JSON schemas are not supported yet");
    }
}
