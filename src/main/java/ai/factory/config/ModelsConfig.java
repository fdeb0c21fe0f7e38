package ai.factory.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The model registry.
 *
 * @param importRoot the folder under which Bedrock model import and customization jobs may read {@code file://}
 *     sources (and customization jobs write their metrics); none refuses them, so an API caller can't make the server
 *     read or write arbitrary files
 * @param builtin whether the factory registers and deploys the models it ships with (the embedding model
 *     {@code builtin/all-minilm-l6-v2}) at start; a site that brings its own, or a test that needs none, turns it off
 * @param signaturePolicy whether models must be signed by a trusted signer: {@code off}, {@code warn} (checked,
 *     audited, loaded anyway) or {@code require} (refused at import and at load unless they verify)
 * @param trustedSigners PEM files of the public keys and certificate authorities whose signatures the site trusts
 * @param signingKey the site's own signing key: a PEM file, or {@code pkcs11:LABEL} for a key on the HSM token that
 *     {@code keys.pkcs11.*} names; none signs nothing
 * @param signingCertificate the signing key's certificate chain (PEM), carried in its signatures
 * @param signaturePolicyByClassification policies that replace the site's (and a project's) for the models of a
 *     data classification
 * @param trustedIdentities the certificate identities (subjects, or {@code email:}, {@code uri:}, {@code dns:}
 *     alternative names) whose signatures the site takes from its authorities; none: any signer they certified
 * @param transparencyLogKeys PEM files of the transparency logs' (Rekor's) public keys whose entries date keyless
 *     (Sigstore) signatures
 * @param trustedSignersByClassification PEM files of the signers trusted, in place of the site's and a project's,
 *     for the models of a data classification
 */
public record ModelsConfig(long maxUploadBytes, Optional<Path> importRoot, boolean builtin,
                           SignaturePolicy signaturePolicy, java.util.List<Path> trustedSigners,
                           Optional<String> signingKey, Optional<Path> signingCertificate,
                           java.util.Map<String, SignaturePolicy> signaturePolicyByClassification,
                           java.util.List<String> trustedIdentities, java.util.List<Path> transparencyLogKeys,
                           java.util.Map<String, java.util.List<Path>> trustedSignersByClassification) {
    /** The prefix of a {@link #signingKey} held in the HSM. */
    public static final String PKCS11_KEY = "pkcs11:";

    /** {@code restricted=require,public=warn}: a policy for each classification named. */
    public static java.util.Map<String, SignaturePolicy> parsePolicies(String text) {
        return byClassification(text, "POLICY", SignaturePolicy::parse);
    }

    /** {@code restricted=/etc/factory/release.pem|/etc/factory/ca.pem,public=…}: PEM files for each classification. */
    public static java.util.Map<String, java.util.List<Path>> parseSigners(String text) {
        return byClassification(text, "FILE[|FILE…]", files -> java.util.Arrays.stream(files.split("\\|"))
                .map(String::strip).filter(f -> !f.isEmpty()).map(f -> Path.of(f).toAbsolutePath().normalize())
                .toList());
    }

    /**
     * {@code CLASSIFICATION=VALUE,…}, each value read by {@code parse}.
     *
     * @throws IllegalArgumentException naming an item that is not {@code CLASSIFICATION=what}, or a classification
     *     named twice
     */
    private static <T> java.util.Map<String, T> byClassification(String text, String what,
                                                                 java.util.function.Function<String, T> parse) {
        java.util.Map<String, T> values = new java.util.LinkedHashMap<>();
        for (String item : text.split(",")) {
            if (item.isBlank()) {
                continue;
            }
            String[] kv = item.split("=", 2);
            if (kv.length != 2 || kv[0].isBlank() || kv[1].isBlank()) {
                throw new IllegalArgumentException("'" + item.strip() + "' is not CLASSIFICATION=" + what);
            }
            if (values.put(kv[0].strip(), parse.apply(kv[1])) != null) {
                throw new IllegalArgumentException("classification '" + kv[0].strip() + "' is named twice");
            }
        }
        return values;
    }

    /** What the factory does with models' signatures. */
    public enum SignaturePolicy {
        OFF, WARN, REQUIRE;

        public static SignaturePolicy parse(String value) {
            return switch (value.strip()) {
                case "off" -> OFF;
                case "warn" -> WARN;
                case "require" -> REQUIRE;
                default -> throw new IllegalArgumentException("is off, warn or require, not '" + value + "'");
            };
        }

        public String id() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** No site signing key. */
    public ModelsConfig(long maxUploadBytes, Optional<Path> importRoot, boolean builtin,
                        SignaturePolicy signaturePolicy, java.util.List<Path> trustedSigners) {
        this(maxUploadBytes, importRoot, builtin, signaturePolicy, trustedSigners, Optional.empty(), Optional.empty(),
                java.util.Map.of(), java.util.List.of(), java.util.List.of(), java.util.Map.of());
    }

    /** No signatures checked. */
    public ModelsConfig(long maxUploadBytes, Optional<Path> importRoot, boolean builtin) {
        this(maxUploadBytes, importRoot, builtin, SignaturePolicy.OFF, java.util.List.of());
    }

    public ModelsConfig {
        requireNonNull(signaturePolicy, "signaturePolicy is null");
        trustedSigners = java.util.List.copyOf(trustedSigners);
        signaturePolicyByClassification = java.util.Map.copyOf(signaturePolicyByClassification);
        trustedIdentities = java.util.List.copyOf(trustedIdentities);
        transparencyLogKeys = java.util.List.copyOf(transparencyLogKeys);
        trustedSignersByClassification = java.util.Map.copyOf(trustedSignersByClassification);
        for (String id : trustedIdentities) {
            String who = id.split("(?i)\\|issuer:", 2)[0].strip();
            boolean named = who.matches("(?i)(email|uri|dns):.+");
            if (!named && !who.isEmpty() && !who.regionMatches(true, 0, "issuer:", 0, 7)) {
                try {
                    new javax.security.auth.x500.X500Principal(who);
                    named = true;
                } catch (IllegalArgumentException e) {
                    named = false;
                }
            }
            if (!named || id.matches("(?i).*\\|issuer:\\s*")) {
                throw new IllegalArgumentException("models.trustedIdentities: '" + id + "' is not an identity: a "
                        + "subject (CN=…,O=…) or email:, uri:, dns: and a name, optionally followed by |issuer:URL");
            }
        }
        if (!transparencyLogKeys.isEmpty() && trustedIdentities.isEmpty()) {
            throw new IllegalArgumentException("models.transparencyLogKeys trusts keyless certificates, and "
                    + "models.trustedIdentities names nobody: anyone the authority certifies (any account of its "
                    + "identity providers) could sign; name the identities that may (uri:…|issuer:…, email:…)");
        }
        java.util.Set<String> ownSigners = trustedSignersByClassification.keySet();
        if (signaturePolicyByClassification.entrySet().stream().anyMatch(e -> e.getValue() == SignaturePolicy.REQUIRE
                && !ownSigners.contains(e.getKey())) && trustedSigners.isEmpty()
                && signingKey.isEmpty()) {
            throw new IllegalArgumentException("models.signaturePolicyByClassification requires signatures for a "
                    + "classification, and models.trustedSigners names no key or certificate authority: every such "
                    + "model would be refused; name the PEM files of the signers the site trusts");
        }
        if (signaturePolicy == SignaturePolicy.REQUIRE && trustedSigners.isEmpty() && signingKey.isEmpty()) {
            throw new IllegalArgumentException("models.signaturePolicy is require and models.trustedSigners names no "
                    + "key or certificate authority: every model would be refused; name the PEM files of the signers "
                    + "the site trusts");
        }
        if (maxUploadBytes < 1) {
            throw new IllegalArgumentException("models.maxUploadSize must be positive");
        }
        requireNonNull(importRoot, "importRoot is null");
        requireNonNull(signingKey, "signingKey is null");
        requireNonNull(signingCertificate, "signingCertificate is null");
        if (signingKey.isPresent() && signingKey.get().startsWith(PKCS11_KEY)
                && signingKey.get().length() == PKCS11_KEY.length()) {
            throw new IllegalArgumentException("models.signingKey pkcs11: names no key label (pkcs11:LABEL)");
        }
    }
}
