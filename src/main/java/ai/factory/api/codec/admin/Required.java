package ai.factory.api.codec.admin;

import ai.factory.FactoryException;

/** Required fields of request bodies: a missing one is a 400 naming it. */
final class Required {
    private Required() {}

    static <T> T field(T value, String name) {
        if (value == null) {
            throw FactoryException.invalidParam(name, "'" + name + "' is required");
        }
        return value;
    }
}
