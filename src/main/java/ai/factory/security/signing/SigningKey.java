package ai.factory.security.signing;

import static java.util.Objects.requireNonNull;

import ai.factory.security.keys.Pkcs11SigningKey;
import ai.factory.security.tls.Pem;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A key that signs models and bundles: a private key from a PEM file, or one held in an HSM (signing inside the token
 * through its PKCS#11 provider), with the certificate chain the site's PKI gave it, if any.
 *
 * @param chain the key's certificate and its chain, or empty to name the key by its hint
 * @param provider the provider that must make the signatures (an HSM token's), or null for any
 */
public record SigningKey(PrivateKey key, PublicKey publicKey, List<X509Certificate> chain,
                         @Nullable Provider provider) {
    public SigningKey {
        requireNonNull(key, "key is null");
        requireNonNull(publicKey, "publicKey is null");
        chain = List.copyOf(chain);
    }

    /**
     * The key in a PEM file (unencrypted PKCS#8, or a traditional EC key), with the certificate chain in
     * {@code certificate} when given (whose first certificate must be the key's).
     *
     * @param setting what named the files, for messages
     */
    public static SigningKey fromPem(Path keyFile, @Nullable Path certificate, String setting) {
        PrivateKey key = Pem.privateKey(keyFile, setting);
        List<X509Certificate> chain = certificate == null ? List.of() : Pem.certificates(certificate, setting);
        PublicKey derived = ModelSigning.publicKeyOf(key);
        if (!chain.isEmpty() && !java.util.Arrays.equals(chain.getFirst().getPublicKey().getEncoded(),
                derived.getEncoded())) {
            throw new IllegalArgumentException(setting + ": the certificate " + chain.getFirst()
                    .getSubjectX500Principal().getName() + " is not the key's in " + keyFile);
        }
        return new SigningKey(key, derived, chain, null);
    }

    /** A key in an HSM, with a chain to carry in its signatures (empty: the key is named by its hint). */
    public static SigningKey of(Pkcs11SigningKey hsm, List<X509Certificate> chain) {
        if (!chain.isEmpty() && !java.util.Arrays.equals(chain.getFirst().getPublicKey().getEncoded(),
                hsm.publicKey().getEncoded())) {
            throw new IllegalArgumentException("the certificate " + chain.getFirst().getSubjectX500Principal()
                    .getName() + " is not the HSM key's");
        }
        return new SigningKey(hsm.key(), hsm.publicKey(), chain, hsm.provider());
    }

    /** Signs a manifest: a model-signing bundle. */
    public SignatureBundle sign(ModelManifest manifest) {
        return ModelSigning.sign(manifest, key, publicKey, chain, provider);
    }

    /**
     * Signs files by name and SHA-256 as one model's: a single file as the model-signing tools sign one file
     * (listed as {@code "."}), so that either verifies it.
     */
    public SignatureBundle signFiles(String modelName, Map<String, String> sha256ByFile) {
        return sign(sha256ByFile.size() == 1 ? ModelManifest.ofFile(modelName, sha256ByFile.values().iterator().next())
                : new ModelManifest(modelName, sha256ByFile.entrySet().stream()
                        .map(e -> new ModelManifest.File(e.getKey(), e.getValue())).toList()));
    }

    /** Who signs, as a verification names the signer: the key by its hint, or its certificate's subject. */
    public String describe() {
        return chain.isEmpty() ? "key sha256:" + ModelSigning.hint(publicKey)
                : "certificate " + chain.getFirst().getSubjectX500Principal().getName();
    }
}
