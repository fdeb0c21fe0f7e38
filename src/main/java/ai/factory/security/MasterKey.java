package ai.factory.security;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The master key of installs from before customer-held keys ({@code ai.factory.security.keys}): 32 random bytes in {@code $FACTORY_HOME/master.key} (mode 0600), created at first
 * start. It seals secrets the factory must be able to read back (AWS secret access keys, which SigV4 needs in
 * the clear to recompute a signature) with AES-256-GCM; the database holds only the sealed form.
 *
 * <p>A sealed value is {@code base64(nonce(12) || ciphertext || tag(16))}; the associated data binds it to
 * the row it belongs to, so a sealed secret copied onto another key id does not open.
 *
 * <p>New installs no longer create it: AWS secrets are sealed under the site's key-encryption key. An install that
 * has one keeps reading its sealed secrets through it once, at start, to seal them again under the new hierarchy
 * ({@link ApiKeys#resealLegacySecrets}).
 */
public final class MasterKey implements SecretSealer {
    private static final int KEY_BYTES = 32;
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;

    private final SecretKeySpec key;
    private final SecureRandom random = new SecureRandom();

    private MasterKey(byte[] key) {
        if (key.length != KEY_BYTES) {
            throw new IllegalArgumentException("a master key has " + KEY_BYTES + " bytes, not " + key.length);
        }
        this.key = new SecretKeySpec(key, "AES");
    }

    /** Reads the key file if there is one. */
    public static java.util.Optional<MasterKey> loadIfPresent(Path file) {
        return Files.exists(file) ? java.util.Optional.of(loadOrCreate(file)) : java.util.Optional.empty();
    }

    /** Reads the key file, creating it (0600, fresh random bytes) when there is none. */
    public static MasterKey loadOrCreate(Path file) {
        requireNonNull(file, "file is null");
        try {
            if (!Files.exists(file)) {
                byte[] fresh = new byte[KEY_BYTES];
                new SecureRandom().nextBytes(fresh);
                try {
                    Files.write(Files.createFile(file, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rw-------"))), fresh);
                } catch (FileAlreadyExistsException e) {
                    // Another start created it first; read theirs.
                }
            }
            return new MasterKey(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create the master key " + file, e);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("the master key file " + file + " is damaged: " + e.getMessage(), e);
        }
    }

    /** Encrypts {@code secret}, bound to {@code context} (e.g. the key id it belongs to). */
    @Override
    public String seal(String secret, String context) {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(context.getBytes(StandardCharsets.UTF_8));
            byte[] sealed = cipher.doFinal(secret.getBytes(StandardCharsets.UTF_8));
            return Base64.getEncoder().encodeToString(ByteBuffer.allocate(nonce.length + sealed.length)
                    .put(nonce).put(sealed).array());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is part of every JDK", e);
        }
    }

    /** Decrypts what {@link #seal} made for the same context; fails if it was altered or sealed elsewhere. */
    @Override
    public String open(String sealed, String context) {
        byte[] raw = Base64.getDecoder().decode(sealed);
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, raw, 0, NONCE_BYTES));
            cipher.updateAAD(context.getBytes(StandardCharsets.UTF_8));
            return new String(cipher.doFinal(raw, NONCE_BYTES, raw.length - NONCE_BYTES), StandardCharsets.UTF_8);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("a sealed secret does not open with this master key (altered, or "
                    + "sealed under another master key)", e);
        }
    }
}
