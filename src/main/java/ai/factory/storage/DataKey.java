package ai.factory.storage;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.RegistryConfiguration;
import com.google.crypto.tink.StreamingAead;
import com.google.crypto.tink.streamingaead.PredefinedStreamingAeadParameters;
import com.google.crypto.tink.streamingaead.StreamingAeadConfig;
import java.security.GeneralSecurityException;

/**
 * The key one blob is encrypted under: a Tink streaming-AEAD keyset of {@code AES256_GCM_HKDF_1MB} (AES-256-GCM over
 * 1 MiB segments, each segment's key derived with HKDF-SHA256 from the data key and a random salt in the blob's
 * header). Segments are authenticated one by one, so a blob of any size is written and read through a small buffer,
 * and a reader may start at any offset. The key is only ever kept in memory; what is stored is the key wrapped by a
 * key-encryption key (see {@code ai.factory.security.keys}).
 */
public final class DataKey {
    static {
        try {
            StreamingAeadConfig.register();
        } catch (GeneralSecurityException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final KeysetHandle keyset;
    private final StreamingAead streamingAead;

    private DataKey(KeysetHandle keyset) {
        this.keyset = requireNonNull(keyset, "keyset is null");
        try {
            this.streamingAead = keyset.getPrimitive(RegistryConfiguration.get(), StreamingAead.class);
        } catch (GeneralSecurityException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "a data key is not a streaming AEAD key: " + e.getMessage(), e);
        }
    }

    /** A fresh random key. */
    public static DataKey generate() {
        try {
            return new DataKey(KeysetHandle.generateNew(PredefinedStreamingAeadParameters.AES256_GCM_HKDF_1MB,
                    RegistryConfiguration.get()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM-HKDF is part of Tink", e);
        }
    }

    /** A key unwrapped from its stored form. */
    public static DataKey of(KeysetHandle keyset) {
        return new DataKey(keyset);
    }

    /**
     * The key itself, unwrapped, to hand to a cluster node over mutual TLS for a replica it runs: the node keeps it in
     * memory only. Nothing else may take a key out of the hierarchy this way.
     */
    public byte[] exportSecret() {
        try {
            return com.google.crypto.tink.TinkProtoKeysetFormat.serializeKeyset(keyset,
                    com.google.crypto.tink.InsecureSecretKeyAccess.get());
        } catch (GeneralSecurityException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "a data key cannot be exported: " + e.getMessage(), e);
        }
    }

    /** A key a control plane handed over with {@link #exportSecret}; INVALID_REQUEST when it is not one. */
    public static DataKey importSecret(byte[] secret) {
        try {
            return new DataKey(com.google.crypto.tink.TinkProtoKeysetFormat.parseKeyset(secret,
                    com.google.crypto.tink.InsecureSecretKeyAccess.get()));
        } catch (GeneralSecurityException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "not a data key: " + e.getMessage(), e);
        }
    }

    /** The keyset, for wrapping. */
    public KeysetHandle keyset() {
        return keyset;
    }

    StreamingAead streamingAead() {
        return streamingAead;
    }

    @Override
    public String toString() {
        return "DataKey[AES256_GCM_HKDF_1MB]";
    }
}
