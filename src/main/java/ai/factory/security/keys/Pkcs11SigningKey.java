package ai.factory.security.keys;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.config.Pkcs11Settings;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A signing key held in an HSM, through the JDK's SunPKCS11 provider: the private key never leaves the token, and
 * signatures are made inside it. The token lists a private key with its certificate (SunPKCS11 shows a private key
 * only beside one), whose public key is the key's.
 *
 * @param provider the token's provider, which must make the signatures
 * @param chain the key's certificate and any chain stored with it
 */
public record Pkcs11SigningKey(PrivateKey key, PublicKey publicKey, List<X509Certificate> chain, Provider provider) {
    public Pkcs11SigningKey {
        requireNonNull(key, "key is null");
        requireNonNull(publicKey, "publicKey is null");
        chain = List.copyOf(chain);
        requireNonNull(provider, "provider is null");
    }

    /**
     * The key labelled {@code label} on the token the settings name.
     *
     * @throws FactoryException UNAVAILABLE when the token cannot be opened, NOT_FOUND when it holds no such key
     */
    public static Pkcs11SigningKey open(Pkcs11Settings settings, String label) {
        long slot = settings.slot().isPresent() ? settings.slot().getAsLong()
                : Pkcs11Slots.findByLabel(settings.library(), settings.tokenLabel().orElseThrow());
        Provider base = java.security.Security.getProvider("SunPKCS11");
        if (base == null) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "this JDK has no SunPKCS11 provider (module "
                    + "jdk.crypto.cryptoki)");
        }
        try {
            Provider provider = base.configure("--name=factory-signer\nlibrary=" + settings.library() + "\nslot="
                    + slot + "\n");
            KeyStore store = KeyStore.getInstance("PKCS11", provider);
            store.load(null, settings.pin().toCharArray());
            if (!store.isKeyEntry(label) || !(store.getKey(label, null) instanceof PrivateKey key)) {
                throw new FactoryException(ErrorCode.NOT_FOUND, "the HSM token in slot " + slot + " has no private key "
                        + "labelled '" + label + "' with a certificate (it has: " + Collections.list(store.aliases())
                        + ")");
            }
            List<X509Certificate> chain = new ArrayList<>();
            Certificate[] stored = store.getCertificateChain(label);
            for (Certificate c : stored == null ? new Certificate[0] : stored) {
                chain.add((X509Certificate) c);
            }
            if (chain.isEmpty()) {
                throw new FactoryException(ErrorCode.NOT_FOUND, "the key '" + label + "' has no certificate on the "
                        + "token; store one with it (its public key is read from it)");
            }
            return new Pkcs11SigningKey(key, chain.getFirst().getPublicKey(), chain, provider);
        } catch (GeneralSecurityException | IOException | java.security.ProviderException e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "cannot open the HSM token in slot " + slot + " through "
                    + settings.library() + ": " + e.getMessage(), e);
        }
    }
}
