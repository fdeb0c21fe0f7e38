package ai.factory.security.keys;

import static java.util.Objects.requireNonNull;

import com.google.crypto.tink.Aead;
import org.jspecify.annotations.Nullable;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.Provider;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;

/**
 * Tink's {@link Aead} over a JCE AES key, so a master key held by a keystore (in software) or by an HSM (through
 * SunPKCS11, where the cipher runs inside the token and the key never leaves it) wraps Tink keysets. A ciphertext is
 * {@code nonce(12) || AES-256-GCM ciphertext || tag(16)}, with a fresh random nonce each time.
 *
 * <p>Operations on a token run one at a time, on the provider's monitor (as {@link MasterKeys} reads keys): SoftHSM
 * under SunPKCS11 answered two threads unwrapping at once (two deployments loading after a restart) with
 * {@code CKR_OPERATION_ACTIVE} and {@code CKR_GENERAL_ERROR}. A master key is used only to unwrap and wrap key
 * encryption keys, so the wait is short and rare.
 */
final class JceAead implements Aead {
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;

    private final Key key;
    private final @Nullable Provider provider;
    private final SecureRandom random = new SecureRandom();

    /** @param provider the provider that holds the key (SunPKCS11), or null for the JDK's own */
    JceAead(Key key, @Nullable Provider provider) {
        this.key = requireNonNull(key, "key is null");
        this.provider = provider;
    }

    @Override
    public byte[] encrypt(byte[] plaintext, byte[] associatedData) throws GeneralSecurityException {
        if (provider != null) {
            synchronized (provider) {
                return seal(plaintext, associatedData);
            }
        }
        return seal(plaintext, associatedData);
    }

    private byte[] seal(byte[] plaintext, byte[] associatedData) throws GeneralSecurityException {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        Cipher cipher = cipher();
        cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
        cipher.updateAAD(associatedData == null ? new byte[0] : associatedData);
        byte[] sealed = cipher.doFinal(plaintext);
        return ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed).array();
    }

    @Override
    public byte[] decrypt(byte[] ciphertext, byte[] associatedData) throws GeneralSecurityException {
        if (provider != null) {
            synchronized (provider) {
                return open(ciphertext, associatedData);
            }
        }
        return open(ciphertext, associatedData);
    }

    private byte[] open(byte[] ciphertext, byte[] associatedData) throws GeneralSecurityException {
        if (ciphertext.length < NONCE_BYTES + TAG_BITS / 8) {
            throw new GeneralSecurityException("ciphertext too short");
        }
        Cipher cipher = cipher();
        cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, Arrays.copyOf(ciphertext, NONCE_BYTES)));
        cipher.updateAAD(associatedData == null ? new byte[0] : associatedData);
        return cipher.doFinal(ciphertext, NONCE_BYTES, ciphertext.length - NONCE_BYTES);
    }

    private Cipher cipher() throws GeneralSecurityException {
        return provider == null ? Cipher.getInstance("AES/GCM/NoPadding") : Cipher.getInstance("AES/GCM/NoPadding", provider);
    }
}
