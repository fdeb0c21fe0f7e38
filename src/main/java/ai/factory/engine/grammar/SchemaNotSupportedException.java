package ai.factory.engine.grammar;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;

/**
 * A JSON schema that cannot become a grammar: it uses a keyword the converter does not express (or expresses
 * only as something the output could violate), it is malformed, or it can match nothing. The message starts with
 * the JSON Pointer of the offending keyword within the schema ({@code #/properties/when/format}), so the API
 * layer can prefix it with the request field the schema came from.
 */
public final class SchemaNotSupportedException extends FactoryException {
    private final String path;
    private final String keyword;

    /**
     * @param path JSON Pointer (as a URI fragment, {@code #/...}) of the keyword at fault
     * @param keyword the keyword at fault
     * @param reason what is wrong, and where it helps what to do instead
     */
    public SchemaNotSupportedException(String path, String keyword, String reason) {
        super(ErrorCode.INVALID_REQUEST, "%s: %s".formatted(requireNonNull(path, "path is null"),
                requireNonNull(reason, "reason is null")));
        this.path = path;
        this.keyword = requireNonNull(keyword, "keyword is null");
    }

    /** The JSON Pointer of the keyword at fault, e.g. {@code #/properties/when/format}. */
    public String path() {
        return path;
    }

    /** The keyword at fault, e.g. {@code format}. */
    public String keyword() {
        return keyword;
    }
}
