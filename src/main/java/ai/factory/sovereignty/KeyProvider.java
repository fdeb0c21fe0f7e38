package ai.factory.sovereignty;

import static java.util.Objects.requireNonNull;

/**
 * A key the factory holds and what it protects, for the security officer's report.
 *
 * @param kind e.g. {@code local-file}; a KMS or HSM provider reports its own kind
 * @param location where the key lives (a file, a KMS key id); never the key itself
 */
public record KeyProvider(String name, String kind, String algorithm, String location, String protects) {
    public KeyProvider {
        requireNonNull(name, "name is null");
        requireNonNull(kind, "kind is null");
        requireNonNull(algorithm, "algorithm is null");
        requireNonNull(location, "location is null");
        requireNonNull(protects, "protects is null");
    }
}
