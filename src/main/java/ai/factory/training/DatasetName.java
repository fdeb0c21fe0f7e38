package ai.factory.training;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import java.util.regex.Pattern;

/**
 * A dataset's name: {@code namespace/name}, e.g. {@code acme/support-chats}, as models are named. Letters, digits,
 * {@code . _ -}; each part starts with a letter or digit. Names are the site's: two projects cannot hold one name.
 */
public record DatasetName(String namespace, String name) {
    private static final Pattern PART = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

    public DatasetName {
        requireNonNull(namespace, "namespace is null");
        requireNonNull(name, "name is null");
        if (!PART.matcher(namespace).matches() || !PART.matcher(name).matches()) {
            throw FactoryException.invalidParam("dataset", "invalid dataset name '" + namespace + "/" + name
                    + "'; use namespace/name with letters, digits, '.', '_' or '-' (e.g. acme/support-chats)");
        }
    }

    public static DatasetName parse(String text) {
        if (text == null) {
            throw FactoryException.invalidParam("dataset", "dataset name is missing");
        }
        int slash = text.indexOf('/');
        if (slash < 0 || slash != text.lastIndexOf('/')) {
            throw FactoryException.invalidParam("dataset", "invalid dataset name '" + text
                    + "'; use namespace/name (e.g. acme/support-chats)");
        }
        return new DatasetName(text.substring(0, slash), text.substring(slash + 1));
    }

    @Override
    public String toString() {
        return namespace + "/" + name;
    }
}
