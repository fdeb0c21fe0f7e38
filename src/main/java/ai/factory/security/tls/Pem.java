package ai.factory.security.tls;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;
import org.jspecify.annotations.Nullable;

/**
 * PEM files as sites and tools such as OpenSSL write them, read with Bouncy Castle's parser and turned into the
 * JDK's own key and certificate types (no security provider is registered). Every failure names the setting and the
 * file, so a start that cannot read them says which and why.
 */
public final class Pem {
    private Pem() {}

    /**
     * The certificates in {@code file}, in order (a server certificate, then its intermediates).
     *
     * @param setting the setting that named the file, for messages ({@code server.tls.certificate (FACTORY_TLS_CERTIFICATE)})
     */
    public static List<X509Certificate> certificates(Path file, String setting) {
        List<X509Certificate> certificates = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        for (Object o : objects(file, setting)) {
            if (o instanceof X509CertificateHolder holder) {
                try {
                    certificates.add(converter.getCertificate(holder));
                } catch (CertificateException e) {
                    throw invalid(setting, file, "holds a certificate the JDK cannot read: " + e.getMessage(), e);
                }
            }
        }
        if (certificates.isEmpty()) {
            throw invalid(setting, file, "holds no PEM certificate (a -----BEGIN CERTIFICATE----- block)", null);
        }
        return List.copyOf(certificates);
    }

    /**
     * The one private key in {@code file}: PKCS#8 ({@code BEGIN PRIVATE KEY}) or a traditional RSA or EC key
     * ({@code BEGIN RSA PRIVATE KEY}, {@code BEGIN EC PRIVATE KEY}); certificates and EC parameters beside it are
     * ignored. Encrypted keys are refused with how to decrypt them.
     */
    public static PrivateKey privateKey(Path file, String setting) {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        List<PrivateKey> keys = new ArrayList<>();
        for (Object o : objects(file, setting)) {
            try {
                switch (o) {
                    case PrivateKeyInfo info -> keys.add(converter.getPrivateKey(info));
                    case PEMKeyPair pair -> keys.add(converter.getPrivateKey(pair.getPrivateKeyInfo()));
                    case PKCS8EncryptedPrivateKeyInfo _, PEMEncryptedKeyPair _ -> throw invalid(setting, file,
                            "holds an encrypted private key; the factory reads an unencrypted one, readable by its "
                                    + "user only (openssl pkey -in " + file + " -out server.key; chmod 600 server.key)", null);
                    case X509CertificateHolder _, ASN1ObjectIdentifier _, X9ECParameters _ -> { }
                    default -> throw invalid(setting, file, "holds a PEM block that is not a private key ("
                            + o.getClass().getSimpleName() + ")", null);
                }
            } catch (org.bouncycastle.openssl.PEMException e) {
                throw invalid(setting, file, "holds a private key the JDK cannot read: " + e.getMessage(), e);
            }
        }
        if (keys.isEmpty()) {
            throw invalid(setting, file, "holds no PEM private key (a -----BEGIN PRIVATE KEY----- block, or "
                    + "BEGIN RSA/EC PRIVATE KEY)", null);
        }
        if (keys.size() > 1) {
            throw invalid(setting, file, "holds " + keys.size() + " private keys; give the certificate's one only", null);
        }
        return keys.getFirst();
    }

    /**
     * The public keys ({@code BEGIN PUBLIC KEY} blocks) and the certificates in {@code file}, in order; a file may
     * hold both. Other blocks are refused.
     */
    public static List<Object> publicKeysAndCertificates(Path file, String setting) {
        return publicKeysAndCertificates(objects(file, setting),
                (what, cause) -> invalid(setting, file, what, cause));
    }

    /**
     * The public keys and certificates in PEM text (given through the API, say), as
     * {@link #publicKeysAndCertificates(Path, String)} reads a file's.
     *
     * @throws FactoryException INVALID_REQUEST on {@code field} for text that is not such PEM
     */
    public static List<Object> publicKeysAndCertificates(String pem, String field) {
        java.util.function.BiFunction<String, @Nullable Throwable, FactoryException> invalid = (what, cause) ->
                FactoryException.about(ErrorCode.INVALID_REQUEST, field, field + " " + what);
        List<Object> objects = new ArrayList<>();
        try (PEMParser parser = new PEMParser(new java.io.StringReader(pem))) {
            for (Object o; (o = parser.readObject()) != null; ) {
                objects.add(o);
            }
        } catch (IOException | RuntimeException e) {
            throw invalid.apply("is not valid PEM: " + e.getMessage(), e);
        }
        return publicKeysAndCertificates(objects, invalid);
    }

    private static List<Object> publicKeysAndCertificates(List<Object> objects,
            java.util.function.BiFunction<String, @Nullable Throwable, FactoryException> invalid) {
        JcaPEMKeyConverter keys = new JcaPEMKeyConverter();
        JcaX509CertificateConverter certificates = new JcaX509CertificateConverter();
        List<Object> out = new ArrayList<>();
        for (Object o : objects) {
            try {
                switch (o) {
                    case org.bouncycastle.asn1.x509.SubjectPublicKeyInfo info -> out.add(keys.getPublicKey(info));
                    case X509CertificateHolder holder -> out.add(certificates.getCertificate(holder));
                    default -> throw invalid.apply("holds a PEM block that is neither a public key nor a "
                            + "certificate (" + o.getClass().getSimpleName() + ")", null);
                }
            } catch (org.bouncycastle.openssl.PEMException | CertificateException e) {
                throw invalid.apply("holds a key or certificate the JDK cannot read: " + e.getMessage(), e);
            }
        }
        if (out.isEmpty()) {
            throw invalid.apply("holds no public key or certificate", null);
        }
        return out;
    }

    /** The key as a {@code PUBLIC KEY} (SubjectPublicKeyInfo) PEM block, lines of 64 characters, as OpenSSL writes it. */
    public static String publicKey(java.security.PublicKey key) {
        return block("PUBLIC KEY", key.getEncoded());
    }

    private static List<Object> objects(Path file, String setting) {
        List<Object> objects = new ArrayList<>();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser parser = new PEMParser(in)) {
            for (Object o; (o = parser.readObject()) != null; ) {
                objects.add(o);
            }
        } catch (NoSuchFileException e) {
            throw invalid(setting, file, "does not exist", e);
        } catch (AccessDeniedException e) {
            throw invalid(setting, file, "cannot be read by the factory's user (permission denied)", e);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw invalid(setting, file, "is not a PEM text file", e);
        } catch (IOException | RuntimeException e) {
            throw invalid(setting, file, "is not valid PEM: " + e.getMessage(), e);
        }
        return objects;
    }

    private static FactoryException invalid(String setting, Path file, String what, @Nullable Throwable cause) {
        return new FactoryException(ErrorCode.INVALID_REQUEST, setting + ": " + file + " " + what, cause);
    }

    /** One PEM block of {@code type} ({@code CERTIFICATE}, {@code PRIVATE KEY}) around {@code der}. */
    public static String block(String type, byte[] der) {
        StringWriter out = new StringWriter();
        try (PemWriter writer = new PemWriter(out)) {
            writer.writeObject(new PemObject(type, der));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /** The certificates as consecutive PEM blocks. */
    public static String certificates(List<X509Certificate> certificates) {
        StringBuilder out = new StringBuilder();
        for (X509Certificate c : certificates) {
            try {
                out.append(block("CERTIFICATE", c.getEncoded()));
            } catch (java.security.cert.CertificateEncodingException e) {
                throw new IllegalStateException(e);
            }
        }
        return out.toString();
    }

    /** The key as a PKCS#8 PEM block. */
    public static String privateKey(PrivateKey key) {
        return block("PRIVATE KEY", key.getEncoded());
    }
}
