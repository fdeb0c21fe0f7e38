package ai.factory.models;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.config.ModelsConfig.SignaturePolicy;
import ai.factory.identity.Principal;
import ai.factory.security.signing.ModelManifest;
import ai.factory.security.signing.ModelSigning;
import ai.factory.security.signing.SignatureBundle;
import ai.factory.security.signing.SignatureInvalidException;
import ai.factory.security.signing.SigningKey;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The site's signature policy for models, applied at import and again at load: under {@code require} a version
 * whose files are not all in a signature by a signer the site trusts, with the digests they have, is refused before
 * any of its bytes reach an engine; under {@code warn} it is checked, logged and audited, and goes on; {@code off}
 * checks nothing (a signature given is still kept and verified when it can be). Every verification is reported to
 * the {@link Listener} (the audit trail). The models the factory ships (namespace {@code builtin}) are part of the
 * factory itself and not subject to the policy.
 */
public final class ModelSignatures {
    private static final Logger LOG = LoggerFactory.getLogger(ModelSignatures.class);

    /**
     * Hears every verification: the model, when ({@code import} or {@code load}), whether it passed, whether the
     * model was refused for it, what was found (the signer, or why not), and who imported it (null at load).
     */
    @FunctionalInterface
    public interface Listener {
        void verified(String model, String when, boolean passed, boolean refused, String detail,
                      @Nullable Principal by);
    }

    private final Jdbi jdbi;
    private final SignaturePolicy policy;
    private final ModelSigning.Trust trust;
    private final Clock clock;
    private final Listener listener;
    private final @Nullable SigningKey siteKey;
    private final java.util.Map<String, SignaturePolicy> byClassification;
    private final java.util.Map<String, ModelSigning.Trust> signersByClassification;

    public ModelSignatures(Jdbi jdbi, SignaturePolicy policy, ModelSigning.Trust trust, Clock clock,
                           Listener listener) {
        this(jdbi, policy, trust, clock, listener, null);
    }

    public ModelSignatures(Jdbi jdbi, SignaturePolicy policy, ModelSigning.Trust trust, Clock clock,
                           Listener listener, @Nullable SigningKey siteKey) {
        this(jdbi, policy, java.util.Map.of(), java.util.Map.of(), trust, clock, listener, siteKey);
    }

    /**
     * @param byClassification policies that replace the site's (and a project's) for models of a classification
     * @param signersByClassification signers trusted in place of the site's (and a project's) for models of a
     *     classification
     * @param siteKey the site's own signing key, which signs what the factory makes and what an admin asks it to
     *     sign, and which the site trusts (by its key, when it carries no certificate), or null for none
     */
    public ModelSignatures(Jdbi jdbi, SignaturePolicy policy, java.util.Map<String, SignaturePolicy> byClassification,
                           java.util.Map<String, ModelSigning.Trust> signersByClassification, ModelSigning.Trust trust,
                           Clock clock, Listener listener, @Nullable SigningKey siteKey) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.policy = requireNonNull(policy, "policy is null");
        this.byClassification = java.util.Map.copyOf(byClassification);
        java.util.Map<String, ModelSigning.Trust> scoped = new java.util.HashMap<>();
        signersByClassification.forEach((c, t) -> scoped.put(c, t.under(trust)));
        this.signersByClassification = java.util.Map.copyOf(scoped);
        this.siteKey = siteKey;
        this.trust = siteKey == null || !siteKey.chain().isEmpty() ? requireNonNull(trust, "trust is null")
                : trust.with(siteKey.publicKey());
        if (siteKey != null) {
            // What the site signs must verify here, or fine-tuned models would be refused after hours of training.
            try {
                this.trust.verify(siteKey.sign(ModelManifest.ofFile("site-key-check", "0".repeat(64))),
                        clock.instant());
            } catch (SignatureInvalidException e) {
                throw new IllegalArgumentException("models.signingKey: the site would not trust its own signatures ("
                        + e.getMessage() + "); with models.signingCertificate, name the authority that issued it in "
                        + "models.trustedSigners, and its subject in models.trustedIdentities where that names any");
            }
        }
        this.clock = requireNonNull(clock, "clock is null");
        this.listener = requireNonNull(listener, "listener is null");
    }

    /** No policy, nobody trusted: signatures are kept as given and checked by no one. */
    public static ModelSignatures off(Jdbi jdbi, Clock clock) {
        return new ModelSignatures(jdbi, SignaturePolicy.OFF, new ModelSigning.Trust(List.of(), List.of()), clock,
                (m, w, p, r, d, by) -> { });
    }

    /** The site's policy, where neither a classification's nor a project's replaces it. */
    public SignaturePolicy policy() {
        return policy;
    }

    /**
     * What applies to a model of a project and classification: the policy, and whom it trusts (with the site's own
     * key, always).
     */
    public record Scope(SignaturePolicy policy, ModelSigning.Trust trust) {}

    /**
     * What applies to a model of {@code project} classified {@code classification}: the classification's policy and
     * signers, where the site sets them ({@code models.signaturePolicyByClassification},
     * {@code models.trustedSignersByClassification}), else the project's, where an admin set them, else the site's;
     * policy and signers each on their own. The site's trusted identities and transparency logs apply throughout.
     */
    public Scope scopeFor(String project, String classification) {
        Optional<ProjectRules> own = projectRules(project);
        SignaturePolicy p = byClassification.containsKey(classification) ? byClassification.get(classification)
                : own.map(ProjectRules::policy).filter(java.util.Objects::nonNull).orElse(policy);
        ModelSigning.Trust t = signersByClassification.containsKey(classification)
                ? signersByClassification.get(classification)
                : own.map(ProjectRules::signers).filter(java.util.Objects::nonNull)
                        .map(pem -> ModelSigning.Trust.parse(pem, "trustedSigners").under(trust)).orElse(null);
        if (t == null) {
            return new Scope(requireNonNull(p), trust);
        }
        return new Scope(requireNonNull(p), siteKey == null || !siteKey.chain().isEmpty() ? t
                : t.with(siteKey.publicKey()));
    }

    /**
     * Whether a classification has a signature policy or signers of its own, which replace a project's: choosing it
     * for a model is then classifying it, not a detail of an import.
     */
    public boolean hasOwnRules(String classification) {
        return byClassification.containsKey(classification) || signersByClassification.containsKey(classification);
    }

    /** The policy for a model of {@code project} classified {@code classification} (see {@link #scopeFor}). */
    public SignaturePolicy policyFor(String project, String classification) {
        return scopeFor(project, classification).policy();
    }

    /**
     * What an admin set for a project: its own policy and its own trusted signers (PEM: public keys and
     * certificate authorities), each null where the site's applies.
     */
    public record ProjectRules(@Nullable SignaturePolicy policy, @Nullable String signers) {}

    /** The rules an admin set for a project, if any. */
    public Optional<ProjectRules> projectRules(String project) {
        return jdbi.withHandle(h -> h.createQuery("SELECT policy, trusted_signers FROM model_signature_policies "
                        + "WHERE project = :p").bind("p", project)
                .map((rs, ctx) -> new ProjectRules(rs.getString("policy") == null ? null
                        : SignaturePolicy.parse(rs.getString("policy")), rs.getString("trusted_signers")))
                .findOne());
    }

    /** The policy an admin set for a project, if any. */
    public Optional<SignaturePolicy> projectPolicy(String project) {
        return projectRules(project).map(ProjectRules::policy);
    }

    /**
     * Sets a project's policy, or (null) lets the site's apply again; its own signers stay.
     *
     * @throws FactoryException INVALID_REQUEST on {@code signaturePolicy} for {@code require} while nobody would be
     *     trusted (every model of the project would be refused)
     */
    public void setProjectPolicy(String project, @Nullable SignaturePolicy projectPolicy, Principal by) {
        ProjectRules now = projectRules(project).orElse(new ProjectRules(null, null));
        if (projectPolicy == SignaturePolicy.REQUIRE && now.signers() == null && trust.isEmpty()) {
            throw FactoryException.invalidParam("signaturePolicy", "the site trusts no signer "
                    + "(models.trustedSigners), so under require every model of the project would be refused");
        }
        saveRules(project, new ProjectRules(projectPolicy, now.signers()), by);
    }

    /**
     * Gives a project signers of its own in place of the site's (PEM text of public keys and certificate
     * authorities), or (null) lets the site's apply again; its policy stays.
     *
     * @throws FactoryException INVALID_REQUEST on {@code trustedSigners} for text that is not such PEM
     */
    public void setProjectSigners(String project, @Nullable String pem, Principal by) {
        if (pem != null) {
            ModelSigning.Trust.parse(pem, "trustedSigners");
        }
        ProjectRules now = projectRules(project).orElse(new ProjectRules(null, null));
        saveRules(project, new ProjectRules(now.policy(), pem), by);
    }

    private void saveRules(String project, ProjectRules rules, Principal by) {
        jdbi.useTransaction(h -> {
            h.createUpdate("DELETE FROM model_signature_policies WHERE project = :p").bind("p", project).execute();
            if (rules.policy() != null || rules.signers() != null) {
                h.createUpdate("INSERT INTO model_signature_policies (project, policy, trusted_signers, updated_at, "
                                + "updated_by) VALUES (:p, :policy, :signers, :at, :by)").bind("p", project)
                        .bind("policy", rules.policy() == null ? null : rules.policy().id())
                        .bind("signers", rules.signers())
                        .bind("at", Timestamp.from(clock.instant())).bind("by", by.name()).execute();
            }
        });
    }

    /** Forgets what was set for a deleted project, so that one made later under the name starts anew. */
    public void forgetProject(String project) {
        jdbi.useHandle(h -> h.createUpdate("DELETE FROM model_signature_policies WHERE project = :p")
                .bind("p", project).execute());
    }

    /** Every project's own rules, by project. */
    public java.util.SortedMap<String, ProjectRules> projectPolicies() {
        java.util.SortedMap<String, ProjectRules> all = new java.util.TreeMap<>();
        jdbi.useHandle(h -> h.createQuery("SELECT project, policy, trusted_signers FROM model_signature_policies")
                .map((rs, ctx) -> java.util.Map.entry(rs.getString("project"), new ProjectRules(
                        rs.getString("policy") == null ? null : SignaturePolicy.parse(rs.getString("policy")),
                        rs.getString("trusted_signers"))))
                .forEach(e -> all.put(e.getKey(), e.getValue())));
        return all;
    }

    /** The policies that replace the site's for a classification. */
    public java.util.Map<String, SignaturePolicy> classificationPolicies() {
        return byClassification;
    }

    /**
     * Where the site stands, for the sovereignty report: the policy, whom it trusts, and how many model versions
     * carry a verified signature (the factory's bundled models aside).
     */
    public record Summary(String policy, String trustedSigners, long signedVersions, long unsignedVersions,
                          java.util.SortedMap<String, String> projectPolicies,
                          java.util.SortedMap<String, String> classificationPolicies) {}

    public Summary summary() {
        return jdbi.withHandle(h -> {
            long versions = h.createQuery("SELECT COUNT(*) FROM model_versions WHERE model_name NOT LIKE 'builtin/%'")
                    .mapTo(Long.class).one();
            long signed = h.createQuery("SELECT COUNT(*) FROM model_signatures WHERE signer <> '' "
                    + "AND model_name NOT LIKE 'builtin/%'").mapTo(Long.class).one();
            java.util.SortedMap<String, String> projects = new java.util.TreeMap<>();
            projectPolicies().forEach((p, v) -> projects.put(p, (v.policy() == null ? "the site's policy"
                    : v.policy().id()) + (v.signers() == null ? "" : ", trusting its own signers ("
                    + ModelSigning.Trust.parse(v.signers(), "trustedSigners").describe() + ")")));
            java.util.SortedMap<String, String> classes = new java.util.TreeMap<>();
            byClassification.forEach((c, v) -> classes.put(c, v.id()));
            signersByClassification.forEach((c, t) -> classes.merge(c, "trusting its own signers (" + t.describe()
                    + ")", (a, b) -> a + ", " + b));
            return new Summary(policy.id(), trust.describe(), signed, versions - signed, projects, classes);
        });
    }

    /** Whether a version without a signature may be registered here (anything but {@code require}). */
    public boolean registersUnsigned(String project, String classification) {
        return policyFor(project, classification) != SignaturePolicy.REQUIRE;
    }

    /** The site's signing key, if it has one. */
    public Optional<SigningKey> siteKey() {
        return Optional.ofNullable(siteKey);
    }

    /** The site's trust: the signers in {@code models.trustedSigners}, and the site's own key. */
    public ModelSigning.Trust trust() {
        return trust;
    }

    /** What the factory makes (fine-tuned models) can be registered: the policy lets it, or the site signs it. */
    public boolean registersOwnOutputs(String project, String classification) {
        return registersUnsigned(project, classification) || siteKey != null;
    }

    /** A version's signature as kept: who signed it, as verified at import, and when. */
    public record Stored(String signer, Instant verifiedAt, byte[] bundle) {}

    /** What the import found: the bundle to keep and its signer, or nothing (unsigned, or refused under warn). */
    record Checked(byte @Nullable [] bundle, @Nullable String signer) {
        static final Checked NONE = new Checked(null, null);
    }


    /**
     * Checks a new version's files against the signature it came with, under the policy and signers of its scope;
     * with {@code siteSigns}, a version without a signature (one the factory made) is signed first with the site's
     * key, when it has one.
     *
     * @param files the files' names and their SHA-256, as staged
     * @throws FactoryException INVALID_REQUEST on {@code signature} under {@code require}: no signature, one no
     *     trusted signer made, or one that does not list a file with the digest it has (naming the file, both digests
     *     and the signer)
     */
    Checked checkImport(ModelName name, List<ModelFile> files, byte @Nullable [] bundle, boolean siteSigns,
                        Scope scope, Principal by) {
        SignaturePolicy policy = scope.policy();
        if (bundle == null && siteSigns && siteKey != null && !ModelRegistry.isBuiltin(name)) {
            bundle = siteKey.signFiles(name.toString(), digests(files)).json();
        }
        if (ModelRegistry.isBuiltin(name)) {
            return bundle == null ? Checked.NONE : new Checked(bundle, "(bundled with the factory)");
        }
        String model = name.toString();
        if (policy == SignaturePolicy.OFF) {
            // Kept as given, checked by no one (signer unknown), so that a site that turns the policy on later can.
            return bundle == null ? Checked.NONE : new Checked(bundle, "");
        }
        if (bundle == null) {
            return unsigned(model, policy, by);
        }
        try {
            String signer = verify(bundle, files, clock.instant(), scope.trust());
            listener.verified(model, "import", true, false, "signed by " + signer, by);
            return new Checked(bundle, signer);
        } catch (SignatureInvalidException e) {
            listener.verified(model, "import", false, policy == SignaturePolicy.REQUIRE, e.getMessage(), by);
            if (policy == SignaturePolicy.REQUIRE) {
                throw refused(model, e.getMessage());
            }
            LOG.warn("model {}: its signature does not verify ({}); imported anyway, as its signature policy is {}",
                    model, e.getMessage(), policy.id());
            return Checked.NONE;
        }
    }

    private Checked unsigned(String model, SignaturePolicy policy, Principal by) {
        listener.verified(model, "import", false, policy == SignaturePolicy.REQUIRE, "unsigned", by);
        if (policy == SignaturePolicy.REQUIRE) {
            throw refused(model, "it has no signature, and its signature policy is require: sign it (factory models "
                    + "sign) and import it with its signature");
        }
        LOG.warn("model {} is not signed; imported anyway, as its signature policy is warn", model);
        return Checked.NONE;
    }

    /**
     * The signer of a bundle that verifies against the site's trust (a certificate valid at {@code at}) and lists
     * exactly the version's files, each with its digest.
     */
    private static String verify(byte[] bundle, List<ModelFile> files, Instant at, ModelSigning.Trust trust) {
        ModelSigning.Verified verified = trust.verify(SignatureBundle.parse(bundle), at);
        String wrong = ModelSigning.mismatch(verified.manifest(), digests(files), verified.signer());
        if (wrong != null) {
            throw new SignatureInvalidException(wrong);
        }
        return verified.signer();
    }

    private static java.util.Map<String, String> digests(List<ModelFile> files) {
        java.util.Map<String, String> digests = new java.util.LinkedHashMap<>();
        files.forEach(f -> digests.put(f.path(), f.sha256()));
        return digests;
    }

    /**
     * Signs a registered version with the site's key: the files' digests the registry recorded when it stored them,
     * which are what every load checks. Replaces the signature the version had.
     *
     * @throws FactoryException CONFLICT when the site has no signing key
     */
    public Stored signWithSiteKey(ModelVersion version, Scope scope, Principal by) {
        if (siteKey == null) {
            throw new FactoryException(ErrorCode.CONFLICT, "the site has no signing key (models.signingKey); sign "
                    + "with a key of your own: factory models sign " + version.ref() + " --key KEY.pem");
        }
        return attach(version, siteKey.signFiles(version.model().toString(), digests(version.files())).json(), scope,
                by);
    }

    /**
     * Gives a registered version a signature made elsewhere (over the digests the registry shows for its files),
     * after verifying it against the signers its scope trusts ({@link #scopeFor}) and those digests, whatever the
     * policy. Replaces the signature the version had.
     *
     * @throws FactoryException INVALID_REQUEST on {@code signature} when it does not verify, saying why
     */
    public Stored attach(ModelVersion version, byte[] bundle, Scope scope, Principal by) {
        if (ModelRegistry.isBuiltin(version.model())) {
            throw FactoryException.invalidParam("model", "the models bundled with the factory are the factory's own; "
                    + "they are not signed here");
        }
        String model = version.ref().toString();
        if (scope.trust().isEmpty()) {
            throw FactoryException.invalidParam("signature", "the site trusts no signer (models.trustedSigners), so "
                    + "no signature can be verified; name the signer's public key or authority there");
        }
        String signer;
        try {
            signer = verify(bundle, version.files(), clock.instant(), scope.trust());
        } catch (SignatureInvalidException e) {
            listener.verified(model, "signing", false, true, e.getMessage(), by);
            throw refused(model, e.getMessage());
        }
        listener.verified(model, "signing", true, false, "signed by " + signer, by);
        Instant now = clock.instant();
        jdbi.useTransaction(h -> {
            // The version may have been deleted meanwhile: no signature for a version that is not there.
            boolean exists = h.createQuery("SELECT COUNT(*) FROM model_versions WHERE model_name = :n AND version = :v")
                    .bind("n", version.model().toString()).bind("v", version.version()).mapTo(Long.class).one() > 0;
            if (!exists) {
                throw new FactoryException(ErrorCode.NOT_FOUND, "model " + model + " does not exist");
            }
            delete(h, version.model(), version.version());
            store(h, version.model(), version.version(), new Checked(bundle, signer));
        });
        return new Stored(signer, now, bundle);
    }

    private static FactoryException refused(String model, String why) {
        return FactoryException.about(ErrorCode.INVALID_REQUEST, "signature", "model " + model + " is refused: "
                + why);
    }

    /** Keeps the signature a version was imported with (inside the import's transaction). */
    void store(Handle h, ModelName name, int version, Checked checked) {
        if (checked.bundle() == null) {
            return;
        }
        h.createUpdate("INSERT INTO model_signatures (model_name, version, bundle, signer, verified_at) "
                        + "VALUES (:n, :v, :b, :s, :at)")
                .bind("n", name.toString()).bind("v", version)
                .bind("b", java.util.Base64.getEncoder().encodeToString(checked.bundle()))
                .bind("s", checked.signer() == null ? "" : checked.signer())
                .bind("at", Timestamp.from(clock.instant())).execute();
    }

    /** Forgets the signature of a deleted version (inside the deletion's transaction). */
    static void delete(Handle h, ModelName name, int version) {
        h.createUpdate("DELETE FROM model_signatures WHERE model_name = :n AND version = :v")
                .bind("n", name.toString()).bind("v", version).execute();
    }

    /** The signature a version was imported with, if any. */
    public Optional<Stored> find(ModelName name, int version) {
        return jdbi.withHandle(h -> h.createQuery("SELECT bundle, signer, verified_at FROM model_signatures "
                        + "WHERE model_name = :n AND version = :v").bind("n", name.toString()).bind("v", version)
                .map((rs, ctx) -> new Stored(rs.getString("signer"), rs.getTimestamp("verified_at").toInstant(),
                        java.util.Base64.getDecoder().decode(rs.getString("bundle")))).findOne());
    }

    /**
     * Checks a version before it is loaded (or its data key released to a worker): its kept signature must still
     * verify against the signers trusted now and list its files with the digests recorded for them.
     *
     * @throws FactoryException FORBIDDEN under {@code require} when it does not, saying why
     */
    public void checkLoad(ModelVersion version, String project, String classification) {
        Scope scope = scopeFor(project, classification);
        SignaturePolicy policy = scope.policy();
        if (policy == SignaturePolicy.OFF || ModelRegistry.isBuiltin(version.model())) {
            return;
        }
        String model = version.ref().toString();
        Optional<Stored> stored = find(version.model(), version.version());
        if (stored.isEmpty()) {
            unsignedAtLoad(model, policy);
            return;
        }
        try {
            // A certificate is judged at the time it was verified at import: a signer's certificate that expired
            // since does not unsign what it signed while valid (the trust in its authority is checked now).
            String signer = verify(stored.get().bundle(), version.files(), stored.get().verifiedAt(), scope.trust());
            listener.verified(model, "load", true, false, "signed by " + signer, null);
        } catch (SignatureInvalidException e) {
            listener.verified(model, "load", false, policy == SignaturePolicy.REQUIRE, e.getMessage(), null);
            if (policy == SignaturePolicy.REQUIRE) {
                throw new FactoryException(ErrorCode.FORBIDDEN, "model " + model + " is not loaded: " + e.getMessage());
            }
            LOG.warn("model {}: its signature does not verify ({}); loaded anyway, as its signature policy is warn",
                    model, e.getMessage());
        }
    }

    private void unsignedAtLoad(String model, SignaturePolicy policy) {
        listener.verified(model, "load", false, policy == SignaturePolicy.REQUIRE, "unsigned", null);
        if (policy == SignaturePolicy.REQUIRE) {
            throw new FactoryException(ErrorCode.FORBIDDEN, "model " + model + " is not loaded: it has no signature, "
                    + "and its signature policy is require");
        }
        LOG.warn("model {} is not signed; loaded anyway, as its signature policy is warn", model);
    }
}
