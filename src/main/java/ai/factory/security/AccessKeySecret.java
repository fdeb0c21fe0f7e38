package ai.factory.security;

import ai.factory.identity.Principal;

import static java.util.Objects.requireNonNull;

/** An active access key as SigV4 verification needs it: the secret in the clear and who holds it. */
public record AccessKeySecret(String accessKeyId, String secretAccessKey, Principal principal) {
    public AccessKeySecret {
        requireNonNull(accessKeyId, "accessKeyId is null");
        requireNonNull(secretAccessKey, "secretAccessKey is null");
        requireNonNull(principal, "principal is null");
    }

    @Override
    public String toString() {
        return "AccessKeySecret[accessKeyId=" + accessKeyId + ", principal=" + principal + ", secret=(hidden)]";
    }
}
