package ai.factory.security.signing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.Json;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Model signatures in the OpenSSF model-signing format, made and checked here with keys and certificates. */
public class ModelSigningTest {
    private static final Instant NOW = Instant.parse("2026-12-06T10:00:00Z");
    private static final ModelManifest MANIFEST = new ModelManifest("tiny", List.of(
            new ModelManifest.File("tiny.gguf", "a".repeat(64)), new ModelManifest.File("extra.json", "b".repeat(64))));

    public static KeyPair keys(String kind) throws Exception {
        if (kind.equals("Ed25519")) {
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        }
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec(kind));
        return g.generateKeyPair();
    }

    @ParameterizedTest
    @ValueSource(strings = {"secp256r1", "secp384r1", "Ed25519"})
    void aSignatureByATrustedKeyVerifiesAndAnyOtherDoesNot(String kind) throws Exception {
        KeyPair pair = keys(kind);
        assertThat(ModelSigning.publicKeyOf(pair.getPrivate())).isEqualTo(pair.getPublic());
        SignatureBundle bundle = ModelSigning.sign(MANIFEST, pair.getPrivate(), pair.getPublic(), List.of());
        SignatureBundle read = SignatureBundle.parse(bundle.json());
        assertThat(read.keyHint()).isEqualTo(ModelSigning.hint(pair.getPublic()));
        ModelSigning.Verified verified = new ModelSigning.Trust(List.of(keys("secp256r1").getPublic(),
                pair.getPublic()), List.of()).verify(read, NOW);
        assertThat(verified.signer()).isEqualTo("key sha256:" + ModelSigning.hint(pair.getPublic()));
        assertThat(verified.manifest()).isEqualTo(MANIFEST);
        assertThat(verified.manifest().files()).extracting(ModelManifest.File::name)
                .containsExactly("extra.json", "tiny.gguf");
        assertThatThrownBy(() -> new ModelSigning.Trust(List.of(keys(kind).getPublic()), List.of()).verify(read, NOW))
                .isInstanceOf(SignatureInvalidException.class).hasMessageContaining("a key the site does not trust");
    }

    @Test
    void theStatementIsTheModelSigningFormatsAndItsSubjectCoversEveryFile() throws Exception {
        var s = Json.mapper().readTree(MANIFEST.statement());
        assertThat(s.path("_type").asText()).isEqualTo("https://in-toto.io/Statement/v1");
        assertThat(s.path("predicateType").asText()).isEqualTo("https://model_signing/signature/v1.0");
        assertThat(s.at("/predicate/serialization/method").asText()).isEqualTo("files");
        assertThat(s.at("/predicate/resources/0/name").asText()).isEqualTo("extra.json");
        var sha = java.security.MessageDigest.getInstance("SHA-256");
        sha.update(java.util.HexFormat.of().parseHex("b".repeat(64)));
        sha.update(java.util.HexFormat.of().parseHex("a".repeat(64)));
        assertThat(s.at("/subject/0/digest/sha256").asText()).isEqualTo(java.util.HexFormat.of().formatHex(sha.digest()));
        // DSSE's pre-authentication encoding, as its specification writes it.
        assertThat(new String(SignatureBundle.pae("t/x", "hello".getBytes(StandardCharsets.UTF_8)),
                StandardCharsets.UTF_8)).isEqualTo("DSSEv1 3 t/x 5 hello");
        var bundle = Json.mapper().readTree(ModelSigning.sign(MANIFEST, keys("secp256r1").getPrivate(),
                keys("secp256r1").getPublic(), List.of()).json());
        assertThat(bundle.path("mediaType").asText()).isEqualTo("application/vnd.dev.sigstore.bundle.v0.3+json");
        assertThat(bundle.at("/dsseEnvelope/payloadType").asText()).isEqualTo("application/vnd.in-toto+json");
    }

    @Test
    void anEditedTruncatedOrForeignBundleIsRefusedSayingWhy() throws Exception {
        KeyPair pair = keys("secp256r1");
        ModelSigning.Trust trust = new ModelSigning.Trust(List.of(pair.getPublic()), List.of());
        byte[] json = ModelSigning.sign(MANIFEST, pair.getPrivate(), pair.getPublic(), List.of()).json();
        assertThatThrownBy(() -> SignatureBundle.parse(Arrays.copyOf(json, json.length / 2)))
                .isInstanceOf(SignatureInvalidException.class).hasMessageContaining("not valid JSON");
        // A statement edited after signing (one file's digest changed, the subject recomputed): the signature fails.
        ObjectNode edited = (ObjectNode) Json.mapper().readTree(json);
        ModelManifest other = new ModelManifest("tiny", List.of(new ModelManifest.File("tiny.gguf", "c".repeat(64)),
                new ModelManifest.File("extra.json", "b".repeat(64))));
        ((ObjectNode) edited.path("dsseEnvelope")).put("payload", Base64.getEncoder().encodeToString(other.statement()));
        assertThatThrownBy(() -> trust.verify(SignatureBundle.parse(Json.mapper().writeValueAsBytes(edited)), NOW))
                .isInstanceOf(SignatureInvalidException.class)
                .hasMessageContaining("the statement was changed after it was signed");
        // A statement whose subject is not what its files make, even if signed.
        ObjectNode lying = (ObjectNode) Json.mapper().readTree(MANIFEST.statement());
        ((ObjectNode) lying.path("subject").get(0).path("digest")).put("sha256", "0".repeat(64));
        assertThatThrownBy(() -> ModelManifest.parse(Json.mapper().writeValueAsBytes(lying)))
                .isInstanceOf(SignatureInvalidException.class).hasMessageContaining("inconsistent");
        assertThatThrownBy(() -> SignatureBundle.parse("{\"mediaType\": \"application/json\"}".getBytes(
                StandardCharsets.UTF_8))).hasMessageContaining("not a Sigstore bundle");
        assertThatThrownBy(() -> SignatureBundle.parse(("{\"mediaType\": \"" + SignatureBundle.MEDIA_TYPE
                + "\", \"messageSignature\": {}}").getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("no DSSE envelope");
        assertThat(ModelSigning.mismatch(MANIFEST, "tiny.gguf", "d".repeat(64), "key x"))
                .isEqualTo("file 'tiny.gguf' has SHA-256 " + "d".repeat(64) + ", and the signature by key x expects "
                        + "a".repeat(64));
        assertThat(ModelSigning.mismatch(MANIFEST, "other.gguf", "a".repeat(64), "key x"))
                .contains("'other.gguf' is not in the signature");
        assertThat(ModelSigning.mismatch(MANIFEST, "tiny.gguf", "a".repeat(64), "key x")).isNull();
        // The whole set: a file the model lacks is as wrong as one the signature lacks.
        assertThat(ModelSigning.mismatch(MANIFEST, java.util.Map.of("tiny.gguf", "a".repeat(64)), "key x"))
                .contains("lists file 'extra.json', which the model lacks");
        // A single file signed as the model-signing tools sign one ("."): whatever the file is called here.
        ModelManifest single = ModelManifest.ofFile("tiny", "a".repeat(64));
        assertThat(ModelSigning.mismatch(single, java.util.Map.of("renamed.gguf", "a".repeat(64)), "key x")).isNull();
        assertThat(ModelSigning.mismatch(single, java.util.Map.of("renamed.gguf", "e".repeat(64)), "key x"))
                .contains("has SHA-256 " + "e".repeat(64));
        assertThat(ModelSigning.mismatch(single, java.util.Map.of("a.onnx", "a".repeat(64), "b.json", "a".repeat(64)),
                "key x")).contains("is of one file, and the model has 2");
        // A statement that lists a file twice, or hashes other than file by file, is not taken.
        ObjectNode twice = (ObjectNode) Json.mapper().readTree(MANIFEST.statement());
        ((com.fasterxml.jackson.databind.node.ArrayNode) twice.at("/predicate/resources")).addObject()
                .put("algorithm", "sha256").put("digest", "f".repeat(64)).put("name", "tiny.gguf");
        assertThatThrownBy(() -> ModelManifest.parse(Json.mapper().writeValueAsBytes(twice)))
                .hasMessageContaining("lists file 'tiny.gguf' twice");
        ObjectNode shards = (ObjectNode) Json.mapper().readTree(MANIFEST.statement());
        ((ObjectNode) shards.at("/predicate/serialization")).put("method", "shards");
        assertThatThrownBy(() -> ModelManifest.parse(Json.mapper().writeValueAsBytes(shards)))
                .hasMessageContaining("'shards'");
        // A bundle that is not JSON is refused without repeating what it holds.
        assertThatThrownBy(() -> SignatureBundle.parse("SuperSecretPassw0rd".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("not valid JSON").hasMessageNotContaining("SuperSecret");
        assertThatThrownBy(() -> SignatureBundle.parse(new byte[SignatureBundle.MAX_BYTES + 1]))
                .hasMessageContaining("more than a bundle holds");
    }

    /** The self-signed certificate of a site CA with key {@code ca}, valid from 30 days ago for a year. */
    private static X509Certificate siteCa(KeyPair ca) throws Exception {
        return certificate("CN=Site CA", ca, "CN=Site CA", ca, NOW.minus(Duration.ofDays(30)),
                NOW.plus(Duration.ofDays(365)), true, null);
    }

    @Test
    void aCertificateFromATrustedAuthorityVerifiesWhileValidAndForCode() throws Exception {
        KeyPair ca = keys("secp256r1");
        X509Certificate caCert = siteCa(ca);
        KeyPair signer = keys("secp256r1");
        X509Certificate leaf = certificate("CN=ml-release", signer, "CN=Site CA", ca, NOW.minus(Duration.ofDays(1)),
                NOW.plus(Duration.ofDays(30)), false, KeyPurposeId.id_kp_codeSigning);
        ModelSigning.Trust trust = new ModelSigning.Trust(List.of(), List.of(caCert));
        SignatureBundle bundle = SignatureBundle.parse(ModelSigning.sign(MANIFEST, signer.getPrivate(),
                signer.getPublic(), List.of(leaf)).json());
        assertThat(bundle.certificates()).containsExactly(leaf);
        assertThat(trust.verify(bundle, NOW).signer()).contains("CN=ml-release", "issued by CN=Site CA");
        assertThatThrownBy(() -> trust.verify(bundle, NOW.plus(Duration.ofDays(60))))
                .isInstanceOf(SignatureInvalidException.class).hasMessageContaining("has expired");
        KeyPair otherCa = keys("secp256r1");
        X509Certificate otherCaCert = certificate("CN=Other CA", otherCa, "CN=Other CA", otherCa,
                NOW.minus(Duration.ofDays(30)), NOW.plus(Duration.ofDays(365)), true, null);
        assertThatThrownBy(() -> new ModelSigning.Trust(List.of(), List.of(otherCaCert)).verify(bundle, NOW))
                .isInstanceOf(SignatureInvalidException.class).hasMessageContaining("not issued by an authority");
        X509Certificate tlsOnly = certificate("CN=web", signer, "CN=Site CA", ca, NOW.minus(Duration.ofDays(1)),
                NOW.plus(Duration.ofDays(30)), false, KeyPurposeId.id_kp_serverAuth);
        SignatureBundle web = SignatureBundle.parse(ModelSigning.sign(MANIFEST, signer.getPrivate(),
                signer.getPublic(), List.of(tlsOnly)).json());
        assertThatThrownBy(() -> trust.verify(web, NOW)).hasMessageContaining("not for signing code");
        assertThatThrownBy(() -> new ModelSigning.Trust(List.of(signer.getPublic()), List.of()).verify(bundle, NOW))
                .hasMessageContaining("trusts no certificate authority");
        // An authority's certificate, even the trusted one itself, does not sign models.
        SignatureBundle byTheCa = SignatureBundle.parse(ModelSigning.sign(MANIFEST, ca.getPrivate(), ca.getPublic(),
                List.of(caCert)).json());
        assertThatThrownBy(() -> trust.verify(byTheCa, NOW)).hasMessageContaining("a certificate authority's");
        assertThat(Json.mapper().readTree(ModelSigning.sign(MANIFEST, signer.getPrivate(), signer.getPublic(),
                List.of(leaf)).json()).at("/verificationMaterial/x509CertificateChain/certificates/0/rawBytes")
                .asText()).isNotEmpty();
    }

    @Test
    void aTrustNarrowedToIdentitiesTakesOnlyCertificatesThatNameOne() throws Exception {
        KeyPair ca = keys("secp256r1");
        X509Certificate caCert = siteCa(ca);
        KeyPair signer = keys("secp256r1");
        var builder = new JcaX509v3CertificateBuilder(new X500Name("CN=Site CA"), BigInteger.valueOf(System.nanoTime()),
                Date.from(NOW.minus(Duration.ofDays(1))), Date.from(NOW.plus(Duration.ofDays(30))),
                new X500Name("CN=ml-release,O=Acme"), signer.getPublic());
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        builder.addExtension(Extension.subjectAlternativeName, false, new org.bouncycastle.asn1.x509.GeneralNames(
                new org.bouncycastle.asn1.x509.GeneralName[] {
                    new org.bouncycastle.asn1.x509.GeneralName(org.bouncycastle.asn1.x509.GeneralName.rfc822Name,
                            "release@acme.example"),
                    new org.bouncycastle.asn1.x509.GeneralName(
                            org.bouncycastle.asn1.x509.GeneralName.uniformResourceIdentifier,
                            "https://ci.acme.example/release")}));
        X509Certificate leaf = new JcaX509CertificateConverter().getCertificate(builder.build(
                new JcaContentSignerBuilder("SHA256withECDSA").build(ca.getPrivate())));
        SignatureBundle bundle = SignatureBundle.parse(ModelSigning.sign(MANIFEST, signer.getPrivate(),
                signer.getPublic(), List.of(leaf)).json());
        ModelSigning.Trust authority = new ModelSigning.Trust(List.of(), List.of(caCert));
        for (String identity : List.of("email:Release@acme.example", "uri:https://ci.acme.example/release",
                "CN=ml-release, O=Acme")) {
            assertThat(authority.withIdentities(List.of(identity)).verify(bundle, NOW).signer())
                    .as(identity).contains("CN=ml-release");
        }
        assertThatThrownBy(() -> authority.withIdentities(List.of("email:other@acme.example", "CN=ml-nightly,O=Acme"))
                .verify(bundle, NOW)).isInstanceOf(SignatureInvalidException.class)
                .hasMessageContaining("none of them an identity the site trusts")
                .hasMessageContaining("email:release@acme.example");
        assertThatThrownBy(() -> authority.withIdentities(List.of("not a name"))).isInstanceOf(
                IllegalArgumentException.class);
    }

    /** A Sigstore-style keyless signature: a certificate of ten minutes, an hour ago, and a log entry that dates it. */
    @Test
    void aKeylessCertificateIsJudgedWhenATrustedTransparencyLogRecordedItsSignature() throws Exception {
        KeyPair fulcio = keys("secp256r1");
        X509Certificate root = certificate("CN=sigstore,O=sigstore.dev", fulcio, "CN=sigstore,O=sigstore.dev", fulcio,
                NOW.minus(Duration.ofDays(300)), NOW.plus(Duration.ofDays(300)), true, null);
        KeyPair ephemeral = keys("secp256r1");
        Instant signedAt = NOW.minus(Duration.ofHours(1));
        var builder = new JcaX509v3CertificateBuilder(new X500Name("CN=sigstore,O=sigstore.dev"),
                BigInteger.valueOf(System.nanoTime()), Date.from(signedAt.minusSeconds(60)),
                Date.from(signedAt.plusSeconds(540)), new X500Name(""), ephemeral.getPublic());
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_codeSigning));
        builder.addExtension(Extension.subjectAlternativeName, true, new org.bouncycastle.asn1.x509.GeneralNames(
                new org.bouncycastle.asn1.x509.GeneralName(org.bouncycastle.asn1.x509.GeneralName.rfc822Name,
                        "release@acme.example")));
        builder.addExtension(new org.bouncycastle.asn1.ASN1ObjectIdentifier("1.3.6.1.4.1.57264.1.8"), false,
                new org.bouncycastle.asn1.DERUTF8String("https://accounts.acme.example"));
        X509Certificate leaf = new JcaX509CertificateConverter().getCertificate(builder.build(
                new JcaContentSignerBuilder("SHA256withECDSA").build(fulcio.getPrivate())));
        SignatureBundle signed = ModelSigning.sign(MANIFEST, ephemeral.getPrivate(), ephemeral.getPublic(),
                List.of(leaf));
        KeyPair rekor = keys("secp256r1");
        long integrated = signedAt.plusSeconds(5).getEpochSecond();
        SignatureBundle keyless = logged(signed, rekor, integrated, signed.statement(), leaf);

        ModelSigning.Trust fulcioOnly = new ModelSigning.Trust(List.of(), List.of(root));
        assertThatThrownBy(() -> fulcioOnly.verify(keyless, NOW)).isInstanceOf(SignatureInvalidException.class)
                .hasMessageContaining("has expired").hasMessageContaining("models.transparencyLogKeys");
        ModelSigning.Trust withLog = fulcioOnly.withTransparencyLogs(List.of(rekor.getPublic()));
        assertThat(withLog.verify(keyless, NOW).signer()).contains("certificate email:release@acme.example",
                "logged at " + Instant.ofEpochSecond(integrated));
        // Who, paired with the issuer that vouched for them; a site's own PKI names beside them.
        assertThat(withLog.withIdentities(List.of("CN=ml-release,O=Acme",
                "email:release@acme.example|issuer:https://accounts.acme.example")).verify(keyless, NOW).signer())
                .contains("release@acme.example");
        assertThatThrownBy(() -> withLog.withIdentities(List.of(
                "email:release@acme.example|issuer:https://token.other.example")).verify(keyless, NOW))
                .hasMessageContaining("from OIDC issuer https://accounts.acme.example");
        assertThatThrownBy(() -> withLog.withIdentities(List.of("issuer:https://accounts.acme.example")))
                .as("an issuer alone names nobody").isInstanceOf(IllegalArgumentException.class);
        // An entry of a log the site does not trust dates nothing: the certificate is judged now, and has expired.
        assertThatThrownBy(() -> fulcioOnly.withTransparencyLogs(List.of(keys("secp256r1").getPublic()))
                .verify(keyless, NOW)).hasMessageContaining("has expired")
                .hasMessageContaining("models.transparencyLogKeys");
        // The promise covers the time: an entry moved to when the certificate was valid no longer verifies.
        var moved = keyless.tlogEntries().getFirst();
        SignatureBundle backdated = new SignatureBundle(keyless.payloadType(), keyless.statement(),
                keyless.signature(), null, keyless.certificates(), List.of(new SignatureBundle.TlogEntry(
                        moved.logIndex(), moved.logKeyId(), moved.integratedTime() - 30, moved.signedEntryTimestamp(),
                        moved.canonicalizedBody())));
        assertThatThrownBy(() -> withLog.verify(backdated, NOW)).hasMessageContaining("does not verify");
        // A genuine entry, of another statement.
        SignatureBundle other = logged(signed, rekor, integrated, "another statement".getBytes(StandardCharsets.UTF_8),
                leaf);
        assertThatThrownBy(() -> withLog.verify(other, NOW)).hasMessageContaining("records another payload");
        // A genuine entry of this signature, under another certificate.
        SignatureBundle elsewhere = logged(signed, rekor, integrated, signed.statement(), root);
        assertThatThrownBy(() -> withLog.verify(elsewhere, NOW)).hasMessageContaining("under another certificate");
        // What a bundle carries survives its JSON.
        assertThat(withLog.verify(SignatureBundle.parse(keyless.json()), NOW).signer()).contains("logged at");
    }

    /** {@code bundle} with an entry of a log (key {@code log}) that records {@code payload} at {@code integrated}. */
    private static SignatureBundle logged(SignatureBundle bundle, KeyPair log, long integrated, byte[] payload,
                                          X509Certificate verifier) throws Exception {
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
        String body = "{\"apiVersion\":\"0.0.1\",\"kind\":\"dsse\",\"spec\":{\"payloadHash\":{\"algorithm\":"
                + "\"sha256\",\"value\":\"" + java.util.HexFormat.of().formatHex(sha.digest(payload)) + "\"},"
                + "\"signatures\":[{\"signature\":\"" + java.util.Base64.getEncoder().encodeToString(bundle.signature())
                + "\",\"verifier\":\"" + java.util.Base64.getEncoder().encodeToString(ai.factory.security.tls.Pem
                .certificates(List.of(verifier)).getBytes(StandardCharsets.US_ASCII)) + "\"}]}}";
        byte[] logId = java.security.MessageDigest.getInstance("SHA-256").digest(log.getPublic().getEncoded());
        String promised = "{\"body\":\"" + java.util.Base64.getEncoder().encodeToString(body.getBytes(
                StandardCharsets.UTF_8)) + "\",\"integratedTime\":" + integrated + ",\"logID\":\""
                + java.util.HexFormat.of().formatHex(logId) + "\",\"logIndex\":42}";
        java.security.Signature set = java.security.Signature.getInstance("SHA256withECDSA");
        set.initSign(log.getPrivate());
        set.update(promised.getBytes(StandardCharsets.UTF_8));
        return new SignatureBundle(bundle.payloadType(), bundle.statement(), bundle.signature(), null,
                bundle.certificates(), List.of(new SignatureBundle.TlogEntry(42, logId, integrated, set.sign(),
                        body.getBytes(StandardCharsets.UTF_8))));
    }

    public static X509Certificate certificate(String subject, KeyPair subjectKeys, String issuer, KeyPair issuerKeys,
                                       Instant from, Instant to, boolean ca, KeyPurposeId usage) throws Exception {
        var builder = new JcaX509v3CertificateBuilder(new X500Name(issuer), BigInteger.valueOf(System.nanoTime()),
                Date.from(from), Date.from(to), new X500Name(subject), subjectKeys.getPublic());
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        if (usage != null) {
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(usage));
        }
        return new JcaX509CertificateConverter().getCertificate(builder.build(
                new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKeys.getPrivate())));
    }
}
