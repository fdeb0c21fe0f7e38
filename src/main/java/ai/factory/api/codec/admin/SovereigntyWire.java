package ai.factory.api.codec.admin;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/** {@code GET /api/v1/sovereignty/report}: the security officer's summary. */
public final class SovereigntyWire {
    private SovereigntyWire() {}

    /**
     * The report.
     *
     * @param projectKeys each owner's key-encryption key ({@code _site} is the site's own)
     * @param audit the chain's state, as {@code GET /api/v1/audit/verify} answers it
     * @param auditAtStart what the factory found about the chain when it started
     */
    public record Report(Instant generatedAt, Egress egress, DataClassification dataClassification,
                         List<KeyProvider> keyProviders, List<EncryptionWire.Kek> projectKeys,
                         AuditWire.Verification audit, AuditWire.StartCheck auditAtStart,
                         @org.jspecify.annotations.Nullable ModelSignatures modelSignatures,
                         @org.jspecify.annotations.Nullable Software software) {
        public Report {
            requireNonNull(egress, "egress is null");
            requireNonNull(dataClassification, "dataClassification is null");
            keyProviders = List.copyOf(requireNonNull(keyProviders, "keyProviders is null"));
            projectKeys = List.copyOf(requireNonNull(projectKeys, "projectKeys is null"));
            requireNonNull(audit, "audit is null");
        }
    }

    /**
     * The site's model-signature policy ({@code off}, {@code warn}, {@code require}), whom it trusts, and how many
     * model versions carry a verified signature and how many do not (the bundled models aside).
     */
    public record ModelSignatures(String policy, String trustedSigners, long signedVersions, long unsignedVersions,
                                  @org.jspecify.annotations.Nullable Map<String, String> projectPolicies,
                                  @org.jspecify.annotations.Nullable Map<String, String> classificationPolicies) {
        public ModelSignatures(String policy, String trustedSigners, long signedVersions, long unsignedVersions) {
            this(policy, trustedSigners, signedVersions, unsignedVersions, Map.of(), Map.of());
        }
    }

    /**
     * What the factory runs as: its version and commit, the SHA-256 of the SBOM its build made (null when the build
     * made none), and the llama.cpp natives it loads with their provenance (null when none).
     */
    public record Software(String factory, @org.jspecify.annotations.Nullable String sbomSha256,
                           @org.jspecify.annotations.Nullable String llamaNatives) {}

    /** @param allow the {@code egress.allow} rules; empty: every outbound connection is refused */
    public record Egress(List<String> allow, List<Attempts> attempts) {
        public Egress {
            allow = List.copyOf(requireNonNull(allow, "allow is null"));
            attempts = List.copyOf(requireNonNull(attempts, "attempts is null"));
        }
    }

    /** Outbound connection attempts to one destination with one decision and outcome. */
    public record Attempts(String destination, String decision, String outcome, long attempts, long bytesSent,
                           long bytesReceived, Instant lastAt) {
        public Attempts {
            requireNonNull(destination, "destination is null");
        }
    }

    /** @param models how many models carry each classification, by name in order */
    public record DataClassification(SortedMap<String, Long> models) {
        public DataClassification {
            models = Collections.unmodifiableSortedMap(new TreeMap<>(requireNonNull(models, "models is null")));
        }
    }

    /** A key in use: {@code kind} {@code local-file} or {@code pkcs11}, where it is and what it protects. */
    public record KeyProvider(String name, String kind, String algorithm, String location, String protects) {
        public KeyProvider {
            requireNonNull(name, "name is null");
        }
    }
}
