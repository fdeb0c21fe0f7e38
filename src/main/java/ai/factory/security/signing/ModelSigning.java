package ai.factory.security.signing;

import static java.util.Objects.requireNonNull;

import ai.factory.security.tls.Pem;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Signing models and verifying their signatures, offline: ECDSA (P-256, P-384, P-521, with SHA-256, -384 and -512 as
 * the format pairs them) or Ed25519 keys, the key's own or one the site's PKI certified. A key in an HSM signs through
 * the JDK's PKCS#11 provider like any other {@link PrivateKey}.
 */
public final class ModelSigning {
    /** Extended key usage for code signing, which a signing certificate that restricts its usage must allow. */
    private static final String CODE_SIGNING = "1.3.6.1.5.5.7.3.3";
    private static final String ANY_USAGE = "2.5.29.37.0";

    private ModelSigning() {}

    /**
     * Signs a manifest.
     *
     * @param certificates the key's certificate and its chain, or empty to name the key by its hint
     * @throws IllegalArgumentException for a key of a kind the format does not sign with (RSA, say)
     */
    public static SignatureBundle sign(ModelManifest manifest, PrivateKey key, PublicKey publicKey,
                                       List<X509Certificate> certificates) {
        return sign(manifest, key, publicKey, certificates, null);
    }

    /**
     * Signs a manifest with a key that only {@code provider} can use (a key in an HSM, through its PKCS#11 provider),
     * or any provider when null.
     */
    public static SignatureBundle sign(ModelManifest manifest, PrivateKey key, PublicKey publicKey,
                                       List<X509Certificate> certificates, java.security.@Nullable Provider provider) {
        requireNonNull(manifest, "manifest is null");
        byte[] statement = manifest.statement();
        try {
            // The algorithm follows the public key: a token's private key need not say its curve.
            Signature signer = provider == null ? Signature.getInstance(algorithm(publicKey))
                    : Signature.getInstance(algorithm(publicKey), provider);
            signer.initSign(key);
            signer.update(SignatureBundle.pae(SignatureBundle.IN_TOTO, statement));
            return new SignatureBundle(SignatureBundle.IN_TOTO, statement, signer.sign(),
                    certificates.isEmpty() ? hint(publicKey) : null, certificates);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign with this key: " + e.getMessage(), e);
        }
    }

    /** The signature algorithm of a key: ECDSA with the curve's hash, or Ed25519. */
    static String algorithm(java.security.Key key) {
        return switch (key.getAlgorithm()) {
            case "EC" -> {
                int bits = key instanceof ECKey ec ? ec.getParams().getCurve().getField().getFieldSize() : 256;
                yield bits <= 256 ? "SHA256withECDSA" : bits <= 384 ? "SHA384withECDSA" : "SHA512withECDSA";
            }
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> throw new IllegalArgumentException("model signatures are made with ECDSA (P-256, P-384, "
                    + "P-521) or Ed25519 keys, not " + key.getAlgorithm());
        };
    }

    /**
     * The public half of a private key (ECDSA or Ed25519), for a signer who holds only the private key's file.
     *
     * @throws IllegalArgumentException for another kind of key
     */
    public static PublicKey publicKeyOf(PrivateKey key) {
        try {
            if (key instanceof java.security.interfaces.ECPrivateKey ec) {
                var spec = org.bouncycastle.jcajce.provider.asymmetric.util.EC5Util.convertSpec(ec.getParams());
                var q = spec.getG().multiply(ec.getS()).normalize();
                return java.security.KeyFactory.getInstance("EC").generatePublic(new java.security.spec.ECPublicKeySpec(
                        new java.security.spec.ECPoint(q.getAffineXCoord().toBigInteger(),
                                q.getAffineYCoord().toBigInteger()), ec.getParams()));
            }
            if (key.getAlgorithm().equals("Ed25519") || key.getAlgorithm().equals("EdDSA")) {
                var info = org.bouncycastle.asn1.pkcs.PrivateKeyInfo.getInstance(key.getEncoded());
                byte[] seed = org.bouncycastle.asn1.ASN1OctetString.getInstance(info.parsePrivateKey()).getOctets();
                var publicKey = new org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters(seed, 0)
                        .generatePublicKey();
                var spki = new org.bouncycastle.asn1.x509.SubjectPublicKeyInfo(new org.bouncycastle.asn1.x509
                        .AlgorithmIdentifier(org.bouncycastle.asn1.edec.EdECObjectIdentifiers.id_Ed25519),
                        publicKey.getEncoded());
                return java.security.KeyFactory.getInstance("Ed25519").generatePublic(
                        new java.security.spec.X509EncodedKeySpec(spki.getEncoded()));
            }
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalArgumentException("cannot derive the public key: " + e.getMessage(), e);
        }
        throw new IllegalArgumentException("model signatures are made with ECDSA (P-256, P-384, P-521) or Ed25519 "
                + "keys, not " + key.getAlgorithm());
    }

    /** A file's SHA-256, in hex, read as a stream. */
    public static String sha256(Path file) throws java.io.IOException {
        try (var in = java.nio.file.Files.newInputStream(file)) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) > 0; ) {
                sha.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** A public key's hint in a bundle: the hex SHA-256 of its PEM, as the model-signing tools write it. */
    public static String hint(PublicKey key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(Pem.publicKey(key).getBytes(StandardCharsets.US_ASCII)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** A signature that verified: who signed, and what they signed. */
    public record Verified(String signer, ModelManifest manifest) {}

    /**
     * The signers a site trusts: public keys, whose signatures verify with them, and certificate authorities, whose
     * certificates (valid now, allowed to sign code where they restrict their use) certify a signing key.
     */
    public static final class Trust {
        private final List<PublicKey> keys;
        private final Set<TrustAnchor> authorities;
        private final List<String> identities;
        private final List<PublicKey> logKeys;

        public Trust(List<PublicKey> keys, List<X509Certificate> authorities) {
            this.keys = List.copyOf(keys);
            Set<TrustAnchor> anchors = new LinkedHashSet<>();
            authorities.forEach(c -> anchors.add(new TrustAnchor(c, null)));
            this.authorities = anchors;
            this.identities = List.of();
            this.logKeys = List.of();
        }

        /** The keys and authorities in PEM files (each may hold public keys and CA certificates). */
        public static Trust load(List<Path> files, String setting) {
            List<Object> all = new ArrayList<>();
            for (Path f : files) {
                all.addAll(Pem.publicKeysAndCertificates(f, setting));
            }
            return of(all);
        }

        /** The keys and authorities in PEM text (public keys and CA certificates), given as {@code field}. */
        public static Trust parse(String pem, String field) {
            return of(Pem.publicKeysAndCertificates(pem, field));
        }

        private static Trust of(List<Object> keysAndCertificates) {
            List<PublicKey> keys = new ArrayList<>();
            List<X509Certificate> authorities = new ArrayList<>();
            for (Object o : keysAndCertificates) {
                if (o instanceof PublicKey k) {
                    keys.add(k);
                } else {
                    authorities.add((X509Certificate) o);
                }
            }
            return new Trust(keys, authorities);
        }

        /**
         * These signers in place of {@code base}'s, with {@code base}'s identities and transparency logs (a project's
         * or a classification's own signers, under the site's rules).
         */
        public Trust under(Trust base) {
            return new Trust(keys, authorities, base.identities, base.logKeys);
        }

        private Trust(List<PublicKey> keys, Set<TrustAnchor> authorities, List<String> identities,
                      List<PublicKey> logKeys) {
            this.keys = List.copyOf(keys);
            this.authorities = authorities;
            this.identities = List.copyOf(identities);
            this.logKeys = List.copyOf(logKeys);
        }

        /** This trust and one more key (the site's own signing key, say). */
        public Trust with(PublicKey key) {
            List<PublicKey> more = new ArrayList<>(keys);
            more.add(key);
            return new Trust(more, authorities, identities, logKeys);
        }

        /**
         * This trust, taking a certificate only when it names one of {@code identities}: its subject
         * ({@code CN=ml-release,O=Acme}, compared as a distinguished name) or a subject alternative name
         * ({@code email:release@acme.example}, {@code uri:https://ci.acme.example/release}, {@code dns:ci.acme.example}),
         * each optionally paired with the OIDC issuer a Sigstore certificate must name
         * ({@code uri:…|issuer:https://token.actions.githubusercontent.com}). None: any signer certificate a trusted
         * authority issued.
         *
         * @throws IllegalArgumentException for a subject that is not a distinguished name
         */
        public Trust withIdentities(List<String> identities) {
            identities.forEach(Identity::parse);
            return new Trust(keys, authorities, identities, logKeys);
        }

        /**
         * This trust, dating certificate signatures by the entries of these transparency logs (Rekor's public keys):
         * a keyless (Sigstore) certificate, valid minutes, is judged at the time a trusted log recorded the
         * signature.
         */
        public Trust withTransparencyLogs(List<PublicKey> logs) {
            return new Trust(keys, authorities, identities, logs);
        }

        /** The public keys trusted. */
        public List<PublicKey> keys() {
            return keys;
        }

        /** Whether it trusts certificate authorities. */
        public boolean hasAuthorities() {
            return !authorities.isEmpty();
        }

        public boolean isEmpty() {
            return keys.isEmpty() && authorities.isEmpty();
        }

        /** How many keys and authorities, for messages. */
        public String describe() {
            return keys.size() + " key(s) and " + authorities.size() + " certificate authority(ies)"
                    + (identities.isEmpty() ? "" : " for " + identities.size() + " identity(ies)")
                    + (logKeys.isEmpty() ? "" : ", " + logKeys.size() + " transparency log(s)");
        }

        /**
         * A distinguished name's attributes in canonical form, in any order: tools print a subject's attributes in
         * opposite orders (openssl's {@code -subj /CN=a/O=b} is {@code O=b,CN=a} in RFC 2253), and a site names one
         * as its tools show it.
         */
        private static List<String> rdns(javax.security.auth.x500.X500Principal name) {
            return java.util.Arrays.stream(name.getName(javax.security.auth.x500.X500Principal.CANONICAL)
                    .split("(?<!\\\\),")).sorted().toList();
        }

        /** A certificate's identities: its subject, and its e-mail, URI and DNS alternative names. */
        private static List<String> identitiesOf(X509Certificate leaf) {
            List<String> names = new ArrayList<>();
            names.add(leaf.getSubjectX500Principal().getName());
            try {
                var alternatives = leaf.getSubjectAlternativeNames();
                for (List<?> san : alternatives == null ? List.<List<?>>of() : alternatives) {
                    String kind = switch ((Integer) san.get(0)) {
                        case 1 -> "email:";
                        case 2 -> "dns:";
                        case 6 -> "uri:";
                        default -> null;
                    };
                    if (kind != null) {
                        names.add(kind + san.get(1));
                    }
                }
            } catch (java.security.cert.CertificateParsingException e) {
                throw new SignatureInvalidException("the signer's certificate cannot be read: " + e.getMessage());
            }
            return names;
        }

        /** A certificate's name for messages: its subject, or (a keyless one has none) its first alternative name. */
        private static String name(X509Certificate leaf) {
            String subject = leaf.getSubjectX500Principal().getName();
            if (!subject.isEmpty()) {
                return subject;
            }
            List<String> names = identitiesOf(leaf);
            return names.size() > 1 ? names.get(1) : "(no name)";
        }

        /** The OIDC issuer a Sigstore (Fulcio) certificate names in its extension, if it names one. */
        private static @Nullable String oidcIssuer(X509Certificate leaf) {
            byte[] v2 = leaf.getExtensionValue("1.3.6.1.4.1.57264.1.8");
            try {
                if (v2 != null) {
                    byte[] inner = org.bouncycastle.asn1.ASN1OctetString.getInstance(v2).getOctets();
                    return org.bouncycastle.asn1.ASN1UTF8String.getInstance(inner).getString();
                }
                byte[] v1 = leaf.getExtensionValue("1.3.6.1.4.1.57264.1.1");
                return v1 == null ? null : new String(org.bouncycastle.asn1.ASN1OctetString.getInstance(v1).getOctets(),
                        StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw new SignatureInvalidException("the signer's certificate names its OIDC issuer unreadably");
            }
        }

        /** An identity's two halves: who ({@code email:…}, {@code uri:…}, {@code dns:…} or a subject) and the issuer. */
        private record Identity(String who, @Nullable String issuer) {
            static final String ISSUER = "|issuer:";

            static Identity parse(String text) {
                int bar = text.toLowerCase(java.util.Locale.ROOT).indexOf(ISSUER);
                String who = (bar < 0 ? text : text.substring(0, bar)).strip();
                String issuer = bar < 0 ? null : text.substring(bar + ISSUER.length()).strip();
                if (who.isEmpty() || who.regionMatches(true, 0, "issuer:", 0, 7) || (issuer != null && issuer.isEmpty())) {
                    throw new IllegalArgumentException("'" + text + "' is not an identity: a subject (CN=…,O=…) or "
                            + "email:, uri:, dns: and a name, optionally followed by |issuer:URL");
                }
                if (!who.matches("(?i)(email|uri|dns):.+")) {
                    new javax.security.auth.x500.X500Principal(who); // refuses what is no distinguished name
                }
                return new Identity(who, issuer);
            }
        }

        /**
         * Whether the certificate names one of the identities: its subject or an alternative name, and, for an identity
         * paired with an issuer ({@code uri:…|issuer:https://…}), the OIDC issuer its Sigstore extension names.
         */
        private boolean trustedIdentity(X509Certificate leaf, List<String> names) {
            for (String text : identities) {
                Identity id = Identity.parse(text);
                int colon = id.who().indexOf(':');
                String kind = colon < 0 ? "" : id.who().substring(0, colon).toLowerCase(java.util.Locale.ROOT);
                boolean named;
                if (kind.equals("email") || kind.equals("uri") || kind.equals("dns")) {
                    String wanted = kind + ":" + id.who().substring(colon + 1);
                    boolean caseless = !kind.equals("uri");
                    named = names.stream().anyMatch(n -> caseless ? n.equalsIgnoreCase(wanted) : n.equals(wanted));
                } else {
                    named = rdns(new javax.security.auth.x500.X500Principal(id.who())).equals(
                            rdns(leaf.getSubjectX500Principal()));
                }
                if (named && (id.issuer() == null || id.issuer().equals(oidcIssuer(leaf)))) {
                    return true;
                }
            }
            return false;
        }

        /**
         * Verifies a bundle: its signature by a trusted key, or by a key whose certificate a trusted authority issued
         * and which is valid {@code at}; then its statement.
         *
         * @throws SignatureInvalidException saying why it does not verify (unsigned by anyone trusted, a certificate
         *     expired or from another authority, a signature that does not match, a statement that is not a model's)
         */
        public Verified verify(SignatureBundle bundle, Instant at) {
            if (!SignatureBundle.IN_TOTO.equals(bundle.payloadType())) {
                throw new SignatureInvalidException("the signature's payload is '" + bundle.payloadType()
                        + "', not an in-toto statement");
            }
            byte[] signed = SignatureBundle.pae(bundle.payloadType(), bundle.statement());
            String signer;
            if (!bundle.certificates().isEmpty()) {
                Instant when = at;
                String logged = "";
                var entry = TransparencyLog.logged(bundle, logKeys);
                if (entry.isPresent()) {
                    when = entry.get().at();
                    logged = ", logged at " + entry.get().at() + " as entry " + entry.get().index()
                            + " of transparency log " + entry.get().log().substring(0, 16) + "…";
                }
                X509Certificate leaf;
                try {
                    leaf = certified(bundle.certificates(), when);
                } catch (SignatureInvalidException e) {
                    if (logged.isEmpty() && !bundle.tlogEntries().isEmpty() && e.getMessage().contains("has expired")) {
                        throw new SignatureInvalidException(e.getMessage() + "; a short-lived (keyless) certificate is "
                                + "judged at the time a transparency log the site trusts recorded its signature: name "
                                + "the log's public key in models.transparencyLogKeys");
                    }
                    throw e;
                }
                if (!verifies(leaf.getPublicKey(), signed, bundle.signature())) {
                    throw new SignatureInvalidException("the signature does not match the statement under the key of "
                            + name(leaf));
                }
                signer = "certificate " + name(leaf) + " (issued by " + leaf.getIssuerX500Principal().getName() + ")"
                        + logged;
            } else {
                PublicKey key = null;
                boolean named = false;
                for (PublicKey k : keys) {
                    boolean hinted = bundle.keyHint() != null && bundle.keyHint().equals(hint(k));
                    named |= hinted;
                    if ((bundle.keyHint() == null || hinted) && verifies(k, signed, bundle.signature())) {
                        key = k;
                        break;
                    }
                }
                if (key == null && named) {
                    throw new SignatureInvalidException("the signature does not match what it signs under the trusted "
                            + "key sha256:" + bundle.keyHint() + ": the statement was changed after it was signed");
                }
                if (key == null) {
                    throw new SignatureInvalidException("signed by a key the site does not trust (key "
                            + (bundle.keyHint() == null ? "unnamed" : "sha256:" + bundle.keyHint()) + "; trusted: "
                            + describe() + ")");
                }
                signer = "key sha256:" + hint(key);
            }
            return new Verified(signer, ModelManifest.parse(bundle.statement()));
        }

        /** The leaf of a chain a trusted authority issued, valid at {@code at}; else why not. */
        private X509Certificate certified(List<X509Certificate> chain, Instant at) {
            if (authorities.isEmpty()) {
                throw new SignatureInvalidException("signed under a certificate, and the site trusts no certificate "
                        + "authority");
            }
            X509Certificate leaf = chain.getFirst();
            try {
                var path = CertificateFactory.getInstance("X.509").generateCertPath(chain);
                PKIXParameters params = new PKIXParameters(authorities);
                params.setRevocationEnabled(false); // offline: the site's CRLs are not reachable from here
                params.setDate(Date.from(at));
                CertPathValidator.getInstance("PKIX").validate(path, params);
            } catch (CertPathValidatorException e) {
                String why = e.getReason() == CertPathValidatorException.BasicReason.EXPIRED
                        ? "has expired (valid until " + leaf.getNotAfter().toInstant() + ")"
                        : e.getReason() == CertPathValidatorException.BasicReason.NOT_YET_VALID
                        ? "is not valid yet (from " + leaf.getNotBefore().toInstant() + ")"
                        : "was not issued by an authority the site trusts (" + e.getMessage() + ")";
                throw new SignatureInvalidException("the signer's certificate " + leaf.getSubjectX500Principal()
                        .getName() + " " + why);
            } catch (GeneralSecurityException e) {
                throw new SignatureInvalidException("the signer's certificate cannot be checked: " + e.getMessage());
            }
            if (leaf.getBasicConstraints() >= 0) {
                throw new SignatureInvalidException("the signer's certificate " + leaf.getSubjectX500Principal()
                        .getName() + " is a certificate authority's; models are signed under a signer's own");
            }
            boolean[] keyUsage = leaf.getKeyUsage();
            if (keyUsage != null && !keyUsage[0]) {
                throw new SignatureInvalidException("the signer's certificate " + leaf.getSubjectX500Principal()
                        .getName() + " does not allow digital signatures (its key usage)");
            }
            try {
                List<String> usages = leaf.getExtendedKeyUsage();
                if (usages != null && !usages.contains(CODE_SIGNING) && !usages.contains(ANY_USAGE)) {
                    throw new SignatureInvalidException("the signer's certificate " + leaf.getSubjectX500Principal()
                            .getName() + " is not for signing code (its extended key usage is " + usages + ")");
                }
            } catch (java.security.cert.CertificateParsingException e) {
                throw new SignatureInvalidException("the signer's certificate cannot be read: " + e.getMessage());
            }
            if (!identities.isEmpty()) {
                List<String> names = identitiesOf(leaf);
                if (!trustedIdentity(leaf, names)) {
                    String issuer = oidcIssuer(leaf);
                    throw new SignatureInvalidException("the signer's certificate names " + names
                            + (issuer == null ? "" : " from OIDC issuer " + issuer) + ", none of them an identity the "
                            + "site trusts (" + String.join("; ", identities) + ")");
                }
            }
            return leaf;
        }

        private static boolean verifies(PublicKey key, byte[] signed, byte[] signature) {
            try {
                Signature v = Signature.getInstance(algorithm(key));
                v.initVerify(key);
                v.update(signed);
                return v.verify(signature);
            } catch (GeneralSecurityException | IllegalArgumentException e) {
                return false;
            }
        }
    }

    /**
     * What a signature's statement says of a model's files against what they are: every file listed with its digest,
     * and nothing listed that the model lacks; null when they agree.
     */
    public static @Nullable String mismatch(ModelManifest manifest, java.util.Map<String, String> sha256ByFile,
                                            String signer) {
        for (var f : sha256ByFile.entrySet()) {
            String wrong = mismatch(manifest, f.getKey(), f.getValue(), signer);
            if (wrong != null) {
                return wrong;
            }
        }
        if (!(manifest.files().size() == 1 && manifest.files().getFirst().name().equals(ModelManifest.SINGLE_FILE))) {
            for (ModelManifest.File listed : manifest.files()) {
                if (!sha256ByFile.containsKey(listed.name())) {
                    return "the signature by " + signer + " lists file '" + listed.name() + "', which the model "
                            + "lacks (it has " + sha256ByFile.keySet() + ")";
                }
            }
        } else if (sha256ByFile.size() != 1) {
            return "the signature by " + signer + " is of one file, and the model has " + sha256ByFile.size();
        }
        return null;
    }

    /** What a signature's statement says of a file, against what the file is. */
    public static @Nullable String mismatch(ModelManifest manifest, String fileName, String actualSha256,
                                            String signer) {
        var stated = manifest.file(fileName);
        if (stated.isEmpty()) {
            return "file '" + fileName + "' is not in the signature by " + signer + " (it lists " + manifest.files()
                    .stream().map(ModelManifest.File::name).toList() + ")";
        }
        if (!stated.get().sha256().equals(actualSha256)) {
            return "file '" + fileName + "' has SHA-256 " + actualSha256 + ", and the signature by " + signer
                    + " expects " + stated.get().sha256();
        }
        return null;
    }
}
