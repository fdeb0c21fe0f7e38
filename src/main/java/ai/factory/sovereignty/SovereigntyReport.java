package ai.factory.sovereignty;

import static java.util.Objects.requireNonNull;

import ai.factory.config.EgressPolicy;
import ai.factory.models.Model;
import ai.factory.models.ModelRegistry;
import ai.factory.security.audit.AuditLog;
import ai.factory.security.audit.AuditStartCheck;
import ai.factory.security.audit.AuditStore;
import ai.factory.security.audit.AuditVerification;
import ai.factory.security.audit.AuditVerifier;
import ai.factory.security.keys.KeyHierarchy;
import java.time.Clock;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The security officer's summary: every outbound connection attempt by destination and outcome (from the egress
 * ledger in the audit chain), the data classification of the models held, the keys in use and what they
 * protect, each project's key-encryption key (version, master version, when created and last rotated, data keys
 * it wraps; {@code _site} is the site's own), whether the audit chain verifies, and what the factory found about the
 * chain when it started (a break it was told to start on anyway stays in the report).
 *
 * <p>{@code classify} says a model's classification (the factory passes the one set at import or by an admin); a
 * model without one counts as {@link #UNCLASSIFIED}.
 */
public final class SovereigntyReport {
    public static final String UNCLASSIFIED = "unclassified";

    private final AuditLog audit;
    private final AuditVerifier verifier;
    private final Egress egress;
    private final ModelRegistry registry;
    private final Function<Model, String> classify;
    private final Supplier<List<KeyProvider>> keys;
    private final Supplier<List<KeyHierarchy.KekInfo>> keks;
    private final Clock clock;
    private final AuditStartCheck auditAtStart;
    private final Software software;

    /**
     * What the factory runs as: its version and commit, its build's SBOM digest, and the llama.cpp natives it loads
     * (null when none), with where they came from.
     */
    public record Software(String factory, @org.jspecify.annotations.Nullable String sbomSha256,
                           @org.jspecify.annotations.Nullable String llamaNatives) {}

    public SovereigntyReport(AuditLog audit, AuditVerifier verifier, AuditStartCheck auditAtStart, Egress egress,
                             ModelRegistry registry, Function<Model, String> classify, Supplier<List<KeyProvider>> keys,
                             Supplier<List<KeyHierarchy.KekInfo>> keks, Software software, Clock clock) {
        this.software = requireNonNull(software, "software is null");
        this.audit = requireNonNull(audit, "audit is null");
        this.verifier = requireNonNull(verifier, "verifier is null");
        this.egress = requireNonNull(egress, "egress is null");
        this.registry = requireNonNull(registry, "registry is null");
        this.classify = requireNonNull(classify, "classify is null");
        this.keys = requireNonNull(keys, "keys is null");
        this.keks = requireNonNull(keks, "keks is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.auditAtStart = requireNonNull(auditAtStart, "auditAtStart is null");
    }

    /**
     * The report as of now.
     *
     * @param modelsByClassification how many models carry each classification, by classification name
     * @param auditDropped audit events dropped since the start (the writer's queue was full)
     * @param auditAtStart what the factory found about the chain when it started
     * @param modelSignatures the signature policy and how many model versions carry a verified signature
     */
    public record Report(Instant generatedAt, List<String> egressAllow, List<AuditStore.ResourceCount> egressAttempts,
                         SortedMap<String, Long> modelsByClassification, List<KeyProvider> keyProviders,
                         List<KeyHierarchy.KekInfo> projectKeys, AuditVerification audit, long auditDropped,
                         AuditStartCheck auditAtStart, ai.factory.models.ModelSignatures.Summary modelSignatures,
                         Software software) {
        public Report {
            requireNonNull(generatedAt, "generatedAt is null");
            egressAllow = List.copyOf(egressAllow);
            egressAttempts = List.copyOf(egressAttempts);
            modelsByClassification = Collections.unmodifiableSortedMap(new TreeMap<>(modelsByClassification));
            keyProviders = List.copyOf(keyProviders);
            projectKeys = List.copyOf(projectKeys);
            requireNonNull(audit, "audit is null");
            requireNonNull(auditAtStart, "auditAtStart is null");
        }
    }

    public Report build() {
        SortedMap<String, Long> byClass = new TreeMap<>();
        for (Model m : registry.list()) {
            byClass.merge(Optional.ofNullable(classify.apply(m)).orElse(UNCLASSIFIED), 1L, Long::sum);
        }
        return new Report(clock.instant(), egress.policy().rules().stream().map(EgressPolicy.Rule::toString).toList(),
                audit.store().countByResource(Egress.ACTION), byClass, keys.get(), keks.get(),
                verifier.verify(Optional.empty(), Optional.empty()), audit.droppedCount(), auditAtStart,
                registry.signatures().summary(), software);
    }

    /**
     * The audit chain's state as {@code factory audit verify --json} prints it (the fields of the API's
     * {@code GET /api/v1/audit/verify} answer).
     */
    private static Map<String, Object> problem(AuditVerification.Problem p) {
        return Map.of("kind", p.kind().name().toLowerCase(java.util.Locale.ROOT), "seq", p.seq(), "message",
                p.message());
    }

    public static Map<String, Object> status(AuditVerification v, long dropped) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("ok", v.ok());
        out.put("records", v.records());
        out.put("digests", v.digests());
        out.put("firstSeq", v.firstSeq());
        out.put("lastSeq", v.lastSeq());
        out.put("undigested", v.undigested());
        out.put("lastDigestAt", v.lastDigestAt().orElse(null));
        out.put("droppedSinceStart", dropped);
        v.problem().ifPresent(p -> out.put("problem", problem(p)));
        v.cadence().ifPresent(c -> out.put("cadence", Map.of("every", c.every(), "interval", c.interval().toString())));
        out.put("anchors", v.anchors());
        v.warning().ifPresent(p -> out.put("warning", problem(p)));
        v.latest().ifPresent(a -> out.put("latestAnchor", a.text()));
        return out;
    }
}
