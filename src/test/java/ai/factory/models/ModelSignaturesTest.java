package ai.factory.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.config.ModelsConfig.SignaturePolicy;
import ai.factory.security.signing.ModelManifest;
import ai.factory.security.signing.ModelSigning;
import ai.factory.security.signing.ModelSigningTest;
import ai.factory.security.signing.SigningKey;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;

/** The site's own signing key: trusted by the site that holds it, or refused at start when it would not be. */
class ModelSignaturesTest {
    private static final Instant NOW = Instant.parse("2026-12-06T12:00:00Z");
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    // Never connected: these checks happen before any database work.
    private static final Jdbi JDBI = Jdbi.create("jdbc:h2:mem:unused");

    private static KeyPair ec() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private static ModelSignatures with(ModelSigning.Trust trust, SigningKey key) {
        return new ModelSignatures(JDBI, SignaturePolicy.REQUIRE, trust, CLOCK, (m, w, p, r, d, by) -> { }, key);
    }

    @Test
    void aSiteKeyOfItsOwnIsTrustedWithoutBeingListed() throws Exception {
        KeyPair site = ec();
        SigningKey key = new SigningKey(site.getPrivate(), site.getPublic(), List.of(), null);
        ModelSignatures signatures = with(new ModelSigning.Trust(List.of(), List.of()), key);
        var signed = key.sign(ModelManifest.ofFile("acme/tuned", "ab".repeat(32)));
        assertThat(signatures.trust().verify(signed, NOW).signer()).isEqualTo(key.describe());
    }

    @Test
    void aSiteKeyUnderACertificateNeedsItsAuthorityTrustedOrTheFactoryDoesNotStart() throws Exception {
        KeyPair ca = ec();
        X509Certificate caCert = ModelSigningTest.certificate("CN=Site CA", ca, "CN=Site CA", ca,
                NOW.minus(Duration.ofDays(30)), NOW.plus(Duration.ofDays(365)), true, null);
        KeyPair site = ec();
        X509Certificate leaf = ModelSigningTest.certificate("CN=factory", site, "CN=Site CA", ca,
                NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(30)), false, KeyPurposeId.id_kp_codeSigning);
        SigningKey key = new SigningKey(site.getPrivate(), site.getPublic(), List.of(leaf), null);
        assertThatThrownBy(() -> with(new ModelSigning.Trust(List.of(), List.of()), key))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("would not trust its own signatures", "models.trustedSigners");
        assertThat(with(new ModelSigning.Trust(List.of(), List.of(caCert)), key).siteKey()).contains(key);
    }
}
