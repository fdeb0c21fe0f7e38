package ai.factory.cli;

import ai.factory.models.ModelRef;
import ai.factory.security.signing.ModelSigning;
import ai.factory.security.signing.SignatureBundle;
import ai.factory.security.signing.SigningKey;
import ai.factory.security.tls.Pem;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code factory models sign FILE…}: signs model files here, offline, in the OpenSSF model-signing format, with an
 * ECDSA or Ed25519 key (and the certificate the site's PKI gave it, if any). Nothing is sent anywhere.
 * {@code factory models sign NS/MODEL[:V]} signs a registered version instead: with the site's own key, on the
 * factory, or with {@code --key}/{@code --pkcs11-*} here, over the digests the registry recorded for its files (the
 * key never leaves this machine; the factory verifies what it gets and keeps it with the version).
 */
@Command(name = "sign", mixinStandardHelpOptions = true,
        description = {"Sign model files (offline): an OpenSSF model-signing bundle listing each file with its SHA-256, "
                + "signed with an ECDSA (P-256, P-384, P-521) or Ed25519 key.",
                "Import the files with the bundle ('models import --signature', or FILE.sig beside the file).",
                "With NS/MODEL[:VERSION] instead of files: sign a registered version, with the site's key "
                        + "(models.signingKey) when no key is given."})
final class SignCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "The model's files (a GGUF file, or an ONNX "
            + "model's files), or one registered model NS/MODEL[:VERSION].")
    List<Path> files;

    @Mixin FactoryAddress address;

    @Option(names = "--api-key", description = "API key, for a registered model (default: $FACTORY_API_KEY, else "
            + "$FACTORY_HOME/admin.key).")
    @Nullable String apiKey;

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
        String first = files.getFirst().toString();
        if (files.size() == 1 && !Files.exists(files.getFirst()) && REGISTERED.matcher(first).matches()) {
            return signRegistered(ModelRef.parse(first));
        }
        SigningKey signer = signer();
        java.util.Map<String, String> listed = new java.util.LinkedHashMap<>();
        for (Path f : files) {
            listed.put(f.getFileName().toString(), ModelSigning.sha256(f));
        }
        String fileName = files.getFirst().getFileName().toString();
        String model = name != null ? name : fileName.contains(".") ? fileName.substring(0, fileName.lastIndexOf('.'))
                : fileName;
        SignatureBundle bundle = signer.signFiles(model, listed);
        Path target = out != null ? out : files.getFirst().resolveSibling(fileName + ".sig");
        write(target, bundle.json());
        PrintWriter w = spec.commandLine().getOut();
        w.printf("Signed %d file(s) of %s with %s: %s%n", listed.size(), model, signer.describe(), target);
        w.flush();
        return 0;
    }

    /** A registered model's name, as it can't be a file's path that exists. */
    private static final java.util.regex.Pattern REGISTERED = java.util.regex.Pattern.compile(
            "[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._+-]*(:[0-9]+)?");

    /**
     * Signs a registered version: with a key given here over the digests the registry shows (and sends the bundle),
     * else on the factory with the site's key.
     */
    private int signRegistered(ModelRef ref) {
        try (FactoryClient client = ClientOptions.client(address.url, apiKey, address.caCert, address.home)) {
            String model = "/api/v1/models/" + ref.name().namespace() + "/" + ref.name().model();
            int version = ref.version().isPresent() ? ref.version().getAsInt()
                    : client.get(model).path("latestVersion").asInt();
            String path = model + "/versions/" + version;
            JsonNode signed;
            if (key == null && pkcs11Library == null) {
                signed = client.post(path + "/signature", java.util.Map.of());
            } else {
                java.util.Map<String, String> digests = new java.util.LinkedHashMap<>();
                for (JsonNode f : client.get(path).path("files")) {
                    digests.put(f.path("path").asText(), f.path("sha256").asText());
                }
                SignatureBundle bundle = signer().signFiles(ref.name().toString(), digests);
                signed = client.post(path + "/signature", java.util.Map.of("bundle",
                        ai.factory.Json.mapper().readTree(bundle.json())));
            }
            if (out != null) {
                write(out, client.getText(path + "/signature").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            PrintWriter w = spec.commandLine().getOut();
            w.printf("Signed %s:%d: %s%s%n", ref.name(), version, signed.path("signature").path("signer").asText(),
                    out == null ? "" : " (bundle: " + out + ")");
            w.flush();
            return 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Path target, byte[] bundle) {
        try {
            Files.write(target, bundle);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
        }
    }

    private SigningKey signer() {
        if ((key == null) == (pkcs11Library == null)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "sign with --key KEY.pem, or with a key "
                    + "in an HSM: --pkcs11-library, --pkcs11-token and --pkcs11-key");
        }
        SigningKey signer;
        if (key != null) {
            signer = SigningKey.fromPem(key, certificate, "--key/--cert");
        } else {
            String pin = System.getenv("FACTORY_PKCS11_PIN");
            if (pkcs11Token == null || pkcs11Key == null || pin == null || pin.isEmpty()) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), "an HSM key needs "
                        + "--pkcs11-token, --pkcs11-key and the token's PIN in FACTORY_PKCS11_PIN");
            }
            var hsm = ai.factory.security.keys.Pkcs11SigningKey.open(new ai.factory.config.Pkcs11Settings(
                    pkcs11Library, java.util.OptionalLong.empty(), java.util.Optional.of(pkcs11Token), pin), pkcs11Key);
            // The certificate on the token names the key; a self-signed one is only a holder of its public key.
            signer = SigningKey.of(hsm, certificate != null ? Pem.certificates(certificate, "--cert") : List.of());
        }
        return signer;
    }
}
