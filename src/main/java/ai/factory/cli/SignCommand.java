package ai.factory.cli;

import ai.factory.security.signing.ModelManifest;
import ai.factory.security.signing.ModelSigning;
import ai.factory.security.signing.SignatureBundle;
import ai.factory.security.tls.Pem;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code factory models sign FILE…}: signs model files here, offline, in the OpenSSF model-signing format, with an
 * ECDSA or Ed25519 key (and the certificate the site's PKI gave it, if any). Nothing is sent anywhere.
 */
@Command(name = "sign", mixinStandardHelpOptions = true,
        description = {"Sign model files (offline): an OpenSSF model-signing bundle listing each file with its SHA-256, "
                + "signed with an ECDSA (P-256, P-384, P-521) or Ed25519 key.",
                "Import the files with the bundle ('models import --signature', or FILE.sig beside the file)."})
final class SignCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "The model's files (a GGUF file, or an ONNX "
            + "model's files).")
    List<Path> files;

    @Option(names = "--key", paramLabel = "KEY.pem", description = "The private key (PEM, unencrypted: PKCS#8 or a "
            + "traditional EC key).")
    @Nullable Path key;

    @Option(names = "--pkcs11-library", paramLabel = "LIB.so", description = "Sign with a key in an HSM: its PKCS#11 "
            + "module (the PIN comes from FACTORY_PKCS11_PIN).")
    @Nullable Path pkcs11Library;

    @Option(names = "--pkcs11-token", paramLabel = "LABEL", description = "The HSM token, by its label.")
    @Nullable String pkcs11Token;

    @Option(names = "--pkcs11-key", paramLabel = "LABEL", description = "The signing key's label on the token (stored "
            + "with its certificate).")
    @Nullable String pkcs11Key;

    @Option(names = "--cert", paramLabel = "CERT.pem", description = "The key's certificate (and its chain), issued by "
            + "a certificate authority the site trusts; without it the bundle names the key by its hint.")
    @Nullable Path certificate;

    @Option(names = "--name", description = "The model's name in the signature (default: the first file's name "
            + "without its extension).")
    @Nullable String name;

    @Option(names = "--out", paramLabel = "BUNDLE", description = "Where the bundle goes (default: FILE.sig beside "
            + "the first file).")
    @Nullable Path out;

    @Override
    public Integer call() throws IOException {
        PrivateKey privateKey;
        PublicKey publicKey;
        List<X509Certificate> chain;
        java.security.Provider provider = null;
        if ((key == null) == (pkcs11Library == null)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "sign with --key KEY.pem, or with a key "
                    + "in an HSM: --pkcs11-library, --pkcs11-token and --pkcs11-key");
        }
        if (key != null) {
            privateKey = Pem.privateKey(key, "--key");
            chain = certificate == null ? List.of() : Pem.certificates(certificate, "--cert");
            publicKey = chain.isEmpty() ? ModelSigning.publicKeyOf(privateKey) : chain.getFirst().getPublicKey();
        } else {
            String pin = System.getenv("FACTORY_PKCS11_PIN");
            if (pkcs11Token == null || pkcs11Key == null || pin == null || pin.isEmpty()) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), "an HSM key needs "
                        + "--pkcs11-token, --pkcs11-key and the token's PIN in FACTORY_PKCS11_PIN");
            }
            var hsm = ai.factory.security.keys.Pkcs11SigningKey.open(new ai.factory.config.Pkcs11Settings(
                    pkcs11Library, java.util.OptionalLong.empty(), java.util.Optional.of(pkcs11Token), pin), pkcs11Key);
            privateKey = hsm.key();
            publicKey = hsm.publicKey();
            // The certificate on the token names the key; a self-signed one is only a holder of its public key.
            chain = certificate != null ? Pem.certificates(certificate, "--cert") : List.of();
            provider = hsm.provider();
        }
        List<ModelManifest.File> listed = new ArrayList<>();
        for (Path f : files) {
            listed.add(new ModelManifest.File(f.getFileName().toString(), ModelSigning.sha256(f)));
        }
        String first = files.getFirst().getFileName().toString();
        String model = name != null ? name : first.contains(".") ? first.substring(0, first.lastIndexOf('.')) : first;
        // One file is signed as the model-signing tools sign a file (listed as "."), so that either verifies it.
        ModelManifest manifest = listed.size() == 1 ? ModelManifest.ofFile(model, listed.getFirst().sha256())
                : new ModelManifest(model, listed);
        SignatureBundle bundle = ModelSigning.sign(manifest, privateKey, publicKey, chain, provider);
        Path target = out != null ? out : files.getFirst().resolveSibling(first + ".sig");
        try {
            Files.write(target, bundle.json());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
        }
        PrintWriter w = spec.commandLine().getOut();
        w.printf("Signed %d file(s) of %s with %s: %s%n", listed.size(), model, chain.isEmpty()
                ? "key sha256:" + ModelSigning.hint(publicKey) : chain.getFirst().getSubjectX500Principal().getName(),
                target);
        w.flush();
        return 0;
    }
}
