package ai.factory.security.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.FactoryException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1BitString;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A site's PEM files: the forms OpenSSL writes, and what is wrong with the ones that cannot serve, said plainly. */
class PemTest {
    @TempDir
    static Path dir;

    static TestPki pki;

    @BeforeAll
    static void pki() {
        pki = TestPki.create(dir.resolve("pki"));
    }

    @Test
    void readsTraditionalAndPkcs8KeysAndTheChainInOrder() throws Exception {
        ServerIdentity traditional = ServerIdentity.fromPem(pki.certificate(), pki.key());
        assertThat(Files.readString(pki.key())).startsWith("-----BEGIN RSA PRIVATE KEY-----");
        assertThat(traditional.chain()).containsExactly(pki.server(), pki.ca());
        assertThat(traditional.key().getEncoded()).isEqualTo(pki.serverKeys().getPrivate().getEncoded());

        Path pkcs8 = Files.writeString(dir.resolve("pkcs8.key"), pki.keyPkcs8());
        assertThat(ServerIdentity.fromPem(pki.certificate(), pkcs8).key().getEncoded())
                .isEqualTo(pki.serverKeys().getPrivate().getEncoded());

        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(256);
        KeyPair ec = generator.generateKeyPair();
        Path traditionalEc = Files.writeString(dir.resolve("ec.key"), opensslEcKey(ec));
        assertThat(((java.security.interfaces.ECPrivateKey) Pem.privateKey(traditionalEc, "test")).getS())
                .isEqualTo(((java.security.interfaces.ECPrivateKey) ec.getPrivate()).getS());

        Path both = Files.writeString(dir.resolve("both.pem"), Files.readString(pki.certificate()) + pki.keyPkcs8());
        assertThat(ServerIdentity.fromPem(both, both).certificate()).isEqualTo(pki.server());
    }

    /**
     * An EC key as {@code openssl ecparam -genkey} writes it: SEC 1's ECPrivateKey with the named curve and the public
     * key inside, in an {@code EC PRIVATE KEY} block.
     */
    private static String opensslEcKey(KeyPair pair) {
        PrivateKeyInfo info = PrivateKeyInfo.getInstance(pair.getPrivate().getEncoded());
        try {
            ECPrivateKey inner = ECPrivateKey.getInstance(info.parsePrivateKey());
            ASN1ObjectIdentifier curve = (ASN1ObjectIdentifier) info.getPrivateKeyAlgorithm().getParameters();
            ASN1BitString publicKey = SubjectPublicKeyInfo.getInstance(pair.getPublic().getEncoded()).getPublicKeyData();
            return Pem.block("EC PRIVATE KEY", new ECPrivateKey(256, inner.getKey(), publicKey, curve).getEncoded());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void namesTheSettingAndFileOfWhatCannotServe() throws Exception {
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "this is not a certificate\n");
        assertThatThrownBy(() -> ServerIdentity.fromPem(garbage, pki.key())).isInstanceOf(FactoryException.class)
                .hasMessage("server.tls.certificate (FACTORY_TLS_CERTIFICATE): " + garbage
                        + " holds no PEM certificate (a -----BEGIN CERTIFICATE----- block)");

        Path broken = Files.writeString(dir.resolve("broken.pem"), "-----BEGIN CERTIFICATE-----\n!!!notbase64\n"
                + "-----END CERTIFICATE-----\n");
        assertThatThrownBy(() -> ServerIdentity.fromPem(broken, pki.key())).isInstanceOf(FactoryException.class)
                .hasMessageStartingWith("server.tls.certificate (FACTORY_TLS_CERTIFICATE): " + broken + " ");

        Path binary = Files.write(dir.resolve("binary.der"), pki.server().getEncoded());
        assertThatThrownBy(() -> ServerIdentity.fromPem(binary, pki.key())).isInstanceOf(FactoryException.class)
                .hasMessageStartingWith("server.tls.certificate (FACTORY_TLS_CERTIFICATE): " + binary + " ");

        Path missing = dir.resolve("missing.key");
        assertThatThrownBy(() -> ServerIdentity.fromPem(pki.certificate(), missing)).isInstanceOf(FactoryException.class)
                .hasMessage("server.tls.key (FACTORY_TLS_KEY): " + missing + " does not exist");

        Path certificateAsKey = pki.caCertificate();
        assertThatThrownBy(() -> ServerIdentity.fromPem(pki.certificate(), certificateAsKey))
                .isInstanceOf(FactoryException.class)
                .hasMessageStartingWith("server.tls.key (FACTORY_TLS_KEY): " + certificateAsKey + " holds no PEM private key");

        Path other = Files.writeString(dir.resolve("other.key"), TestPki.otherKey());
        assertThatThrownBy(() -> ServerIdentity.fromPem(pki.certificate(), other)).isInstanceOf(FactoryException.class)
                .hasMessageStartingWith("server.tls.key (FACTORY_TLS_KEY): " + other + " is not the private key of the "
                        + "certificate in " + pki.certificate());

        for (String form : new String[] {pki.keyEncryptedTraditional(), pki.keyEncryptedPkcs8()}) {
            Path encrypted = Files.writeString(dir.resolve("encrypted.key"), form);
            assertThatThrownBy(() -> ServerIdentity.fromPem(pki.certificate(), encrypted)).isInstanceOf(FactoryException.class)
                    .hasMessageContaining(encrypted + " holds an encrypted private key").hasMessageContaining("openssl pkey");
        }
    }
}
