package ai.factory.config;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * Where the site master key lives. {@code local}: a PKCS12 keystore in the factory's home, whose password is
 * {@code keystorePassword} or, when none is set, a generated one in a file beside it. {@code pkcs11}: an HSM, reached
 * through {@code pkcs11}. Secrets (the keystore password, the PIN) are never printed.
 */
public record KeysConfig(Provider provider, Optional<String> keystorePassword, String masterKeyLabel,
                         Optional<Pkcs11Settings> pkcs11) {
    public static final String DEFAULT_LABEL = "factory-master";

    public enum Provider {
        LOCAL, PKCS11;

        static Provider parse(String value) {
            return switch (value.strip().toLowerCase(java.util.Locale.ROOT)) {
                case "local" -> LOCAL;
                case "pkcs11" -> PKCS11;
                default -> throw new IllegalArgumentException("not a key provider; use local or pkcs11");
            };
        }
    }

    public KeysConfig {
        requireNonNull(provider, "provider is null");
        requireNonNull(keystorePassword, "keystorePassword is null");
        requireNonNull(masterKeyLabel, "masterKeyLabel is null");
        requireNonNull(pkcs11, "pkcs11 is null");
        if (provider == Provider.PKCS11 && pkcs11.isEmpty()) {
            throw new IllegalArgumentException("keys.provider pkcs11 needs keys.pkcs11.library, keys.pkcs11.slot or "
                    + "keys.pkcs11.tokenLabel, and keys.pkcs11.pin");
        }
    }

    public static KeysConfig defaults() {
        return new KeysConfig(Provider.LOCAL, Optional.empty(), DEFAULT_LABEL, Optional.empty());
    }

    @Override
    public String toString() {
        return "KeysConfig[provider=%s, keystorePassword=%s, masterKeyLabel=%s, pkcs11=%s]".formatted(provider,
                keystorePassword.map(p -> "***").orElse("(generated)"), masterKeyLabel, pkcs11);
    }
}
