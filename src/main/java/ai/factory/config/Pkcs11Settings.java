package ai.factory.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * How to reach the HSM that holds the master key: its PKCS#11 library, the token (by slot id or by token label) and
 * the user PIN. The PIN is a secret: {@link #toString()} never prints it.
 */
public record Pkcs11Settings(Path library, OptionalLong slot, Optional<String> tokenLabel, String pin) {
    public Pkcs11Settings {
        requireNonNull(library, "library is null");
        requireNonNull(slot, "slot is null");
        requireNonNull(tokenLabel, "tokenLabel is null");
        requireNonNull(pin, "pin is null");
        if (slot.isPresent() == tokenLabel.isPresent()) {
            throw new IllegalArgumentException("keys.pkcs11: set exactly one of slot and tokenLabel");
        }
        if (pin.isEmpty()) {
            throw new IllegalArgumentException("keys.pkcs11.pin is required with keys.provider pkcs11");
        }
    }

    @Override
    public String toString() {
        return "Pkcs11Settings[library=%s, slot=%s, tokenLabel=%s, pin=***]".formatted(library, slot, tokenLabel);
    }
}
