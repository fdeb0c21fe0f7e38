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
}
