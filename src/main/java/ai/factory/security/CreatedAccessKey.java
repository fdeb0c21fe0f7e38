package ai.factory.security;

import static java.util.Objects.requireNonNull;

/** A newly created AWS-style access key with its secret, which is shown once. */
public record CreatedAccessKey(ApiKey key, String accessKeyId, String secretAccessKey) {
    public CreatedAccessKey {
        requireNonNull(key, "key is null");
        requireNonNull(accessKeyId, "accessKeyId is null");
        requireNonNull(secretAccessKey, "secretAccessKey is null");
    }

    @Override
    public String toString() {
        return "CreatedAccessKey[key=" + key + ", accessKeyId=" + accessKeyId + ", secretAccessKey=(hidden)]";
    }
}
