package ai.factory.engine;

import ai.factory.FactoryException;
import java.util.Locale;

/**
 * How urgently a call wants its answer. {@code INTERACTIVE} (the default) is someone waiting for text;
 * {@code BATCH} is work that can wait (evaluations, bulk summaries), which is served once interactive calls are.
 */
public enum Priority {
    INTERACTIVE,
    BATCH;

    /** The name as the API and configuration write it: {@code interactive}, {@code batch}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The priority named {@code id}.
     *
     * @throws FactoryException INVALID_REQUEST on {@code field} for any other name
     */
    public static Priority parse(String id, String field) {
        for (Priority p : values()) {
            if (p.id().equals(id)) {
                return p;
            }
        }
        throw FactoryException.invalidParam(field, "'" + field + "' is 'interactive' or 'batch', not '" + id + "'");
    }
}
