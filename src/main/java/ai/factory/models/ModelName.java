package ai.factory.models;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import java.util.regex.Pattern;

/**
 * A model's name: {@code namespace/model}, e.g. {@code acme/llama-3.2-1b-instruct}, as on model hubs.
 * Letters, digits, {@code . _ -}; each part starts with a letter or digit.
 */
public record ModelName(String namespace, String model) {
    private static final Pattern PART = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

    public ModelName {
        requireNonNull(namespace, "namespace is null");
        requireNonNull(model, "model is null");
        if (!PART.matcher(namespace).matches() || !PART.matcher(model).matches()) {
            throw FactoryException.invalidParam("model", "invalid model name '" + namespace + "/" + model
                    + "'; use namespace/model with letters, digits, '.', '_' or '-' (e.g. acme/llama-3.2-1b)");
        }
    }

    public static ModelName parse(String text) {
        if (text == null) {
            throw FactoryException.invalidParam("model", "model name is missing");
        }
        int slash = text.indexOf('/');
        if (slash < 0 || slash != text.lastIndexOf('/')) {
            throw FactoryException.invalidParam("model", "invalid model name '" + text
                    + "'; use namespace/model (e.g. acme/llama-3.2-1b)");
        }
        return new ModelName(text.substring(0, slash), text.substring(slash + 1));
    }

    @Override
    public String toString() {
        return namespace + "/" + model;
    }
}
