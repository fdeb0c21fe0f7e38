package ai.factory.models;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import java.util.OptionalInt;

/** A model and optionally one of its versions, written {@code namespace/model[:version]}; no version means the latest. */
public record ModelRef(ModelName name, OptionalInt version) {
    public ModelRef {
        requireNonNull(name, "name is null");
        requireNonNull(version, "version is null");
    }

    public static ModelRef parse(String text) {
        if (text == null) {
            throw FactoryException.invalidParam("model", "model is missing");
        }
        int colon = text.lastIndexOf(':');
        if (colon < 0) {
            return new ModelRef(ModelName.parse(text), OptionalInt.empty());
        }
        return new ModelRef(ModelName.parse(text.substring(0, colon)), OptionalInt.of(parseVersion(text.substring(colon + 1))));
    }

    public static int parseVersion(String text) {
        try {
            int v = Integer.parseInt(text);
            if (v > 0) {
                return v;
            }
        } catch (NumberFormatException ignored) {
            // falls through to the message below
        }
        throw FactoryException.invalidParam("version", "invalid model version '" + text + "'; versions are 1, 2, 3, …");
    }

    @Override
    public String toString() {
        return version.isPresent() ? name + ":" + version.getAsInt() : name.toString();
    }
}
