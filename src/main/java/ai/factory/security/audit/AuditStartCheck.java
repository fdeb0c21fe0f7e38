package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/**
 * What the factory found about its audit chain when it started ({@link AuditVerifier#verifyAtStart}), and whether it
 * was told to start on a broken chain anyway. The readiness check {@code audit} and the sovereignty report show it.
 */
public record AuditStartCheck(AuditVerification result, boolean accepted, Instant at) {
    public AuditStartCheck {
        requireNonNull(result, "result is null");
        requireNonNull(at, "at is null");
        if (accepted && result.ok()) {
            throw new IllegalArgumentException("only a broken chain is accepted");
        }
    }

    public boolean ok() {
        return result.ok();
    }
}
