package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;

/**
 * The site's audit signing key: an Ed25519 key pair (the JDK's own), the private half in
 * {@code $FACTORY_HOME/audit.key} (PKCS#8 PEM followed by the public key's PEM, mode 0600), the public half in {@code audit.pub} (X.509 PEM) so
 * the trail can be verified offline anywhere with only the public key.
 */
public final class AuditKey {
    private static final String ALGORITHM = "Ed25519";

    private final PrivateKey privateKey;
    private final PublicKey publicKey;

    private AuditKey(PrivateKey privateKey, PublicKey publicKey) {
        this.privateKey = requireNonNull(privateKey, "privateKey is null");
        this.publicKey = requireNonNull(publicKey, "publicKey is null");
    }

    /** A fresh key held in memory only (tests, and forging checks). */
    public static AuditKey generate() {
        try {
            KeyPair pair = KeyPairGenerator.getInstance(ALGORITHM).generateKeyPair();
            return new AuditKey(pair.getPrivate(), pair.getPublic());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 is part of every JDK since 15", e);
        }
    }

    /** Reads the key files, creating them at first start. */
    public static AuditKey loadOrCreate(Path privateFile, Path publicFile) {
        requireNonNull(privateFile, "privateFile is null");
        requireNonNull(publicFile, "publicFile is null");
        try {
            if (!Files.exists(privateFile)) {
                AuditKey fresh = generate();
                try {
                    Files.writeString(Files.createFile(privateFile, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rw-------"))), pem("PRIVATE KEY",
                            fresh.privateKey.getEncoded()) + fresh.publicKeyPem(), StandardCharsets.US_ASCII);
                } catch (FileAlreadyExistsException e) {
                    // Another start created it first; read theirs.
                }
            }
            String both = Files.readString(privateFile);
            KeyFactory keys = KeyFactory.getInstance(ALGORITHM);
            AuditKey key = new AuditKey(keys.generatePrivate(new PKCS8EncodedKeySpec(unpem(block(both, "PRIVATE KEY")))),
                    keys.generatePublic(new X509EncodedKeySpec(unpem(block(both, "PUBLIC KEY")))));
            if (!Files.exists(publicFile) || !Files.readString(publicFile).equals(key.publicKeyPem())) {
                Path tmp = Files.createTempFile(publicFile.toAbsolutePath().getParent(), "audit", ".pub.tmp");
                Files.writeString(tmp, key.publicKeyPem());
                Files.move(tmp, publicFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            return key;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create the audit key " + privateFile, e);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalStateException("the audit key file " + privateFile + " is damaged: " + e.getMessage(), e);
        }
    }

    /** Reads a public key written by {@link #publicKeyPem}. */
    public static PublicKey parsePublicKey(String pemText) {
        try {
            return KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(unpem(block(pemText,
                    "PUBLIC KEY"))));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("not an Ed25519 public key in PEM form: " + e.getMessage(), e);
        }
    }

    public PublicKey publicKey() {
        return publicKey;
    }

    public String publicKeyPem() {
        return pem("PUBLIC KEY", publicKey.getEncoded());
    }

    /** The first 16 hex digits of the SHA-256 of the encoded public key. */
    public String keyId() {
        return keyId(publicKey);
    }

    public static String keyId(PublicKey key) {
        return HexFormat.of().formatHex(AuditHashing.sha256(key.getEncoded())).substring(0, 16);
    }

    /** Signs a digest (its signature field is ignored and replaced). */
    public AuditDigest sign(AuditDigest digest) {
        AuditDigest unsigned = digest.withSignature("");
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initSign(privateKey);
            s.update(AuditHashing.digestPayload(unsigned));
            return unsigned.withSignature(Base64.getEncoder().encodeToString(s.sign()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign with the audit key", e);
        }
    }

    /** Whether {@code digest}'s signature was made by the private half of {@code key}. */
    public static boolean verify(PublicKey key, AuditDigest digest) {
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initVerify(key);
            s.update(AuditHashing.digestPayload(digest.withSignature("")));
            return s.verify(Base64.getDecoder().decode(digest.signature()));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der) + "\n-----END " + type + "-----\n";
    }

    private static String block(String text, String type) {
        String begin = "-----BEGIN " + type + "-----";
        String end = "-----END " + type + "-----";
        int b = text.indexOf(begin);
        int e = text.indexOf(end);
        if (b < 0 || e < b) {
            throw new IllegalArgumentException("no " + type + " block");
        }
        return text.substring(b + begin.length(), e);
    }

    private static byte[] unpem(String text) {
        String body = text.replaceAll("-----(BEGIN|END) [A-Z ]+-----", "").replaceAll("\\s", "");
        return Base64.getDecoder().decode(body);
    }
}
