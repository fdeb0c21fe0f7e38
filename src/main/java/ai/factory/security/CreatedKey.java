package ai.factory.security;

import static java.util.Objects.requireNonNull;

/** A newly created key with its secret, which exists only in this value and is shown once. */
public record CreatedKey(ApiKey key, String secret) {
    public CreatedKey {
        requireNonNull(key, "key is null");
        requireNonNull(secret, "secret is null");
    }

    @Override
    public String toString() {
        return "CreatedKey[key=" + key + ", secret=(hidden)]";
    }
}
