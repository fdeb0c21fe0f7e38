package ai.factory.api.codec;

import ai.factory.FactoryException;
import java.util.Map;
import java.util.function.Supplier;

/**
 * An API's names for the factory's request fields. Errors raised below the codecs (sampling ranges, limits, the
 * pipeline's checks) name fields as the factory does ({@code top_p}); a codec passes them through its API's names so
 * that a Bedrock caller who sends {@code topP: 5} reads {@code inferenceConfig.topP}.
 */
public record ApiFields(Map<String, String> names) {
    public ApiFields {
        names = Map.copyOf(names);
    }

    /** Runs {@code work}, renaming the field of any invalid-request error it throws. */
    public <T> T apply(Supplier<T> work) {
        try {
            return work.get();
        } catch (FactoryException e) {
            throw rename(e);
        }
    }

    /** The error with its field, and the field's name in its message, in this API's words (its code kept). */
    public FactoryException rename(FactoryException e) {
        String to = e.param() == null ? null : names.get(e.param());
        if (to == null) {
            return e;
        }
        FactoryException renamed = FactoryException.about(e.code(), to, e.getMessage().replace("'" + e.param() + "'",
                "'" + to + "'"));
        return e.isDenial() ? renamed.asDenial() : renamed;
    }
}
