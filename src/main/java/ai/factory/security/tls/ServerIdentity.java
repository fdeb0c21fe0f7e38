package ai.factory.security.tls;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * What the server presents in the TLS handshake: its private key and certificate chain, the server's certificate
 * first.
 */
public record ServerIdentity(PrivateKey key, List<X509Certificate> chain) {
    public ServerIdentity {
        requireNonNull(key, "key is null");
        chain = List.copyOf(requireNonNull(chain, "chain is null"));
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("a certificate chain needs the server's certificate");
        }
    }

    /**
     * The site's own certificate and key, read from PEM files and checked to belong together, so a wrong pair fails
     * the start rather than every handshake.
     */
    public static ServerIdentity fromPem(Path certificate, Path key) {
        String certificateSetting = "server.tls.certificate (FACTORY_TLS_CERTIFICATE)";
        String keySetting = "server.tls.key (FACTORY_TLS_KEY)";
        List<X509Certificate> chain = Pem.certificates(certificate, certificateSetting);
        PrivateKey privateKey = Pem.privateKey(key, keySetting);
        if (!matches(privateKey, chain.getFirst().getPublicKey())) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, keySetting + ": " + key + " is not the private key of "
                    + "the certificate in " + certificate + " (" + chain.getFirst().getSubjectX500Principal().getName()
                    + "); give the key the certificate was issued for");
        }
        return new ServerIdentity(privateKey, chain);
    }

    /** The server's own certificate. */
    public X509Certificate certificate() {
        return chain.getFirst();
    }

    /** A PKCS12 key store in memory holding the key and chain under {@code password}, as Jetty takes them. */
    public KeyStore keyStore(char[] password) {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("factory", key, password, chain.toArray(X509Certificate[]::new));
            return store;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot hold the server's key in a key store: " + e.getMessage(), e);
        }
    }

    /**
     * Whether {@code key} is the private half of {@code publicKey}: a signature made with one verifies with the other
     * (which works for every key type without knowing its encoding).
     */
    static boolean matches(PrivateKey key, PublicKey publicKey) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "Ed448", "EdDSA" -> "EdDSA";
            default -> throw new FactoryException(ErrorCode.INVALID_REQUEST, "server.tls.key (FACTORY_TLS_KEY): a "
                    + key.getAlgorithm() + " key cannot serve TLS here; use an RSA, EC or Ed25519 key");
        };
        try {
            byte[] challenge = new byte[32];
            new SecureRandom().nextBytes(challenge);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(challenge);
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(challenge);
            return verifier.verify(signer.sign());
        } catch (GeneralSecurityException e) {
            return false; // a public key of another type, say
        }
    }

    /** The SHA-256 fingerprint of a certificate as OpenSSL and browsers show it ({@code AB:CD:…}). */
    public static String fingerprint(X509Certificate certificate) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded());
            return HexFormat.ofDelimiter(":").withUpperCase().formatHex(digest).toUpperCase(Locale.ROOT);
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }
}
