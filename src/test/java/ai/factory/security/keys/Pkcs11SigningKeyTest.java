package ai.factory.security.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.FactoryException;
import ai.factory.cli.FactoryCliTest;
import ai.factory.config.Pkcs11Settings;
import ai.factory.security.signing.ModelManifest;
import ai.factory.security.signing.ModelSigning;
import ai.factory.security.signing.ModelSigningTest;
import ai.factory.security.signing.SignatureBundle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.Provider;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Model signatures made by a key in a real SoftHSM2 token, through SunPKCS11: from the Java API and from
 * {@code factory models sign --pkcs11-…} in a process of its own, verified with the key's public half.
 */
@ai.factory.ServerTest
class Pkcs11SigningKeyTest {
    @TempDir Path dir;

    /** A key pair stored on the test token under {@code label}, with a self-signed certificate holding its public key. */
    private static KeyPair onToken(String label) throws Exception {
        Pkcs11Settings settings = TestHsm.byLabel();
        KeyPair pair = ModelSigningTest.keys("secp256r1");
        Instant now = Instant.now();
        X509Certificate self = ModelSigningTest.certificate("CN=" + label, pair, "CN=" + label, pair,
                now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(30)), false, null);
        long slot = Pkcs11Slots.findByLabel(settings.library(), TestHsm.TOKEN_LABEL);
        Provider provider = java.security.Security.getProvider("SunPKCS11").configure("--name=test-import\nlibrary="
                + settings.library() + "\nslot=" + slot + "\n");
        KeyStore store = KeyStore.getInstance("PKCS11", provider);
        store.load(null, TestHsm.PIN.toCharArray());
        store.setKeyEntry(label, pair.getPrivate(), null, new Certificate[] {self});
        return pair;
    }

    @Test
    void aKeyInTheHsmSignsModelsThatItsPublicKeyVerifies() throws Exception {
        String label = "model-signer-" + UUID.randomUUID();
        KeyPair pair = onToken(label);
        Pkcs11SigningKey hsm = Pkcs11SigningKey.open(TestHsm.byLabel(), label);
        assertThat(hsm.publicKey()).isEqualTo(pair.getPublic());
        ModelManifest manifest = new ModelManifest("tiny", List.of(new ModelManifest.File("tiny.gguf",
                "a".repeat(64))));
        SignatureBundle bundle = ModelSigning.sign(manifest, hsm.key(), hsm.publicKey(), List.of(), hsm.provider());
        assertThat(new ModelSigning.Trust(List.of(pair.getPublic()), List.of())
                .verify(SignatureBundle.parse(bundle.json()), Instant.now()).manifest()).isEqualTo(manifest);
        assertThatThrownBy(() -> Pkcs11SigningKey.open(TestHsm.byLabel(), "no-such-key"))
                .isInstanceOf(FactoryException.class).hasMessageContaining("no private key labelled 'no-such-key'");

        // The command line, as an operator runs it: the PIN from the environment, never an argument.
        Path model = Files.write(dir.resolve("tiny.gguf"), new byte[] {1, 2, 3});
        Path pub = Files.writeString(dir.resolve("signer.pub"), ai.factory.security.tls.Pem.publicKey(pair.getPublic()));
        FactoryCliTest.Run signed = FactoryCliTest.cliProcess(Map.of("FACTORY_PKCS11_PIN", TestHsm.PIN,
                "SOFTHSM2_CONF", TestHsm.conf().toString()), "models", "sign", model.toString(),
                "--pkcs11-library", TestHsm.byLabel().library().toString(), "--pkcs11-token", TestHsm.TOKEN_LABEL,
                "--pkcs11-key", label);
        assertThat(signed.exit()).as(signed.err()).isZero();
        FactoryCliTest.Run verified = FactoryCliTest.cli("models", "verify", model.toString(), "--public-key",
                pub.toString());
        assertThat(verified.exit()).as(verified.err()).isZero();
        assertThat(verified.out()).contains("Verified 1 file(s) of tiny");
        FactoryCliTest.Run noPin = FactoryCliTest.cliProcess(Map.of("SOFTHSM2_CONF", TestHsm.conf().toString()),
                "models", "sign", model.toString(), "--pkcs11-library", TestHsm.byLabel().library().toString(),
                "--pkcs11-token", TestHsm.TOKEN_LABEL, "--pkcs11-key", label);
        assertThat(noPin.exit()).isNotZero();
        assertThat(noPin.err()).contains("FACTORY_PKCS11_PIN");
    }

    /**
     * The site's signing key in the HSM (models.signingKey pkcs11:LABEL), the master key in the local keystore: the
     * factory signs a registered version inside the token, and the signature verifies with the key's public half.
     */
    @Test
    void aFactorySignsRegisteredModelsWithItsSiteKeyInTheHsm() throws Exception {
        String label = "site-signer-" + UUID.randomUUID();
        KeyPair pair = onToken(label);
        Path pub = Files.writeString(dir.resolve("site.pub"), ai.factory.security.tls.Pem.publicKey(pair.getPublic()));
        Map<ai.factory.config.Setting, String> settings = Map.of(
                ai.factory.config.Setting.PKCS11_LIBRARY, TestHsm.module().toString(),
                ai.factory.config.Setting.PKCS11_TOKEN_LABEL, TestHsm.TOKEN_LABEL,
                ai.factory.config.Setting.PKCS11_PIN, TestHsm.PIN,
                ai.factory.config.Setting.SIGNING_KEY, "pkcs11:" + label,
                ai.factory.config.Setting.SIGNATURE_POLICY, "require");
        try (ai.factory.TestFactory factory = ai.factory.TestFactory.start(dir.resolve("home"), settings)) {
            // Under require with only the site's key trusted, a model is imported signed by it (signed here with
            // the token's key through the command line's offline signing, then registered).
            Path model = Files.copy(ai.factory.TestModels.tinyLlama(), dir.resolve("tiny.gguf"));
            FactoryCliTest.Run offline = FactoryCliTest.cliProcess(Map.of("FACTORY_PKCS11_PIN", TestHsm.PIN,
                    "SOFTHSM2_CONF", TestHsm.conf().toString()), "models", "sign", model.toString(),
                    "--pkcs11-library", TestHsm.module().toString(), "--pkcs11-token", TestHsm.TOKEN_LABEL,
                    "--pkcs11-key", label);
            assertThat(offline.exit()).as(offline.err()).isZero();
            var imported = factory.post("/api/v1/models/acme/tiny/versions", factory.adminKey(), "{\"path\": \""
                    + model + "\"}");
            assertThat(imported.statusCode()).as(imported.body()).isEqualTo(201);
            // Signed again where it lies, by the factory, inside the token.
            var signed = factory.post("/api/v1/models/acme/tiny/versions/1/signature", factory.adminKey(), "{}");
            assertThat(signed.statusCode()).as(signed.body()).isEqualTo(200);
            Path bundle = Files.writeString(dir.resolve("tiny.site.sig"), factory.get(
                    "/api/v1/models/acme/tiny/versions/1/signature", factory.adminKey()).body());
            FactoryCliTest.Run verified = FactoryCliTest.cli("models", "verify", model.toString(), "--bundle",
                    bundle.toString(), "--public-key", pub.toString());
            assertThat(verified.exit()).as(verified.err()).isZero();
            assertThat(verified.out()).contains("signed by key sha256:" + ModelSigning.hint(pair.getPublic()));
        }
    }
}
