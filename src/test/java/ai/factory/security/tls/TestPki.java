package ai.factory.security.tls;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PKCS8Generator;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.openssl.jcajce.JcePEMEncryptorBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A site's own PKI as a test stands one up: an RSA CA and a server certificate it issues for localhost and
 * 127.0.0.1, written as PEM files the way OpenSSL writes them (the key in the traditional {@code RSA PRIVATE KEY}
 * form unless asked for PKCS#8).
 */
public record TestPki(Path caCertificate, Path certificate, Path key, X509Certificate ca, X509Certificate server,
                      KeyPair serverKeys) {
    public static TestPki create(Path dir) {
        try {
            Files.createDirectories(dir);
            KeyPair caKeys = rsa();
            X500Name caName = new X500Name("CN=Example Site Root CA,O=Example");
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            Instant now = Instant.now();
            X509Certificate ca = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(caName,
                    BigInteger.valueOf(now.toEpochMilli()), Date.from(now.minus(Duration.ofHours(1))),
                    Date.from(now.plus(Duration.ofDays(365))), caName, caKeys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(caKeys.getPublic()))
                    .build(new JcaContentSignerBuilder("SHA256withRSA").build(caKeys.getPrivate())));
            KeyPair serverKeys = rsa();
            X509Certificate server = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(ca,
                    BigInteger.valueOf(now.toEpochMilli() + 1), Date.from(now.minus(Duration.ofHours(1))),
                    Date.from(now.plus(Duration.ofDays(90))), new X500Name("CN=factory.example,O=Example"),
                    serverKeys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
                    .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                            new GeneralName(GeneralName.dNSName, "localhost"),
                            new GeneralName(GeneralName.iPAddress, "127.0.0.1")}))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(serverKeys.getPublic()))
                    .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca))
                    .build(new JcaContentSignerBuilder("SHA256withRSA").build(caKeys.getPrivate())));
            TestPki pki = new TestPki(dir.resolve("site-ca.pem"), dir.resolve("factory.pem"), dir.resolve("factory.key"), ca,
                    server, serverKeys);
            Files.writeString(pki.caCertificate, pem(ca));
            Files.writeString(pki.certificate, pem(server) + pem(ca));
            Files.writeString(pki.key, pem(serverKeys.getPrivate()));
            return pki;
        } catch (GeneralSecurityException | org.bouncycastle.operator.OperatorCreationException e) {
            throw new IllegalStateException(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The server key as PKCS#8 ({@code BEGIN PRIVATE KEY}). */
    public String keyPkcs8() {
        return Pem.privateKey(serverKeys.getPrivate());
    }

    /** The server key encrypted under a passphrase, in OpenSSL's traditional encrypted form ({@code Proc-Type}). */
    public String keyEncryptedTraditional() {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(serverKeys.getPrivate(), new JcePEMEncryptorBuilder("AES-128-CBC")
                    .setProvider(new BouncyCastleProvider()).build("secret".toCharArray()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /** The server key as encrypted PKCS#8 ({@code BEGIN ENCRYPTED PRIVATE KEY}), as {@code openssl genpkey -aes256} writes. */
    public String keyEncryptedPkcs8() {
        try {
            StringWriter out = new StringWriter();
            try (JcaPEMWriter w = new JcaPEMWriter(out)) {
                w.writeObject(new JcaPKCS8Generator(serverKeys.getPrivate(), new JceOpenSSLPKCS8EncryptorBuilder(
                        PKCS8Generator.AES_256_CBC).setProvider(new BouncyCastleProvider())
                        .setPassword("secret".toCharArray()).build()));
            }
            return out.toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (org.bouncycastle.operator.OperatorCreationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An unrelated RSA key, in PEM: the wrong key for the server certificate. */
    public static String otherKey() {
        return pem(rsa().getPrivate());
    }

    /** An unrelated EC P-256 key, in PEM. */
    public static String otherEcKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(256);
            return Pem.privateKey(g.generateKeyPair().getPrivate());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public List<Path> trust() {
        return List.of(caCertificate);
    }

    static String pem(Object o) {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    private static KeyPair rsa() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
