package ai.factory.cli;

import ai.factory.security.signing.ModelSigning;
import ai.factory.security.signing.SignatureBundle;
import ai.factory.security.signing.SignatureInvalidException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
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
 * {@code factory models verify FILE… --bundle B --public-key K.pem|--ca-cert CA.pem}: checks, offline, that a
 * model-signing bundle was made by a trusted signer and lists each file with the digest it has.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = "Verify model files against their signature (offline): signed by a key or a certificate "
                + "authority given here, and every file listed with the SHA-256 it has. Exits 1 saying why not.")
final class VerifyCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "The model's files.")
    List<Path> files;

    @Option(names = "--bundle", paramLabel = "BUNDLE", description = "The signature (default: FILE.sig beside the "
            + "first file).")
    @Nullable Path bundle;

    @Option(names = {"--public-key", "--ca-cert"}, required = true, paramLabel = "PEM",
            description = "A trusted signer: a public key, or a certificate authority (PEM); may be repeated.")
    List<Path> trusted;

    @Option(names = "--identity", paramLabel = "ID", description = "Take a certificate only when it names this "
            + "identity: a subject (CN=…,O=…) or email:, uri:, dns: and a name; may be repeated.")
    List<String> identities = List.of();

    @Option(names = "--log-key", paramLabel = "PEM", description = "A transparency log's (Rekor's) public key, whose "
            + "entries date a keyless certificate's signature; may be repeated.")
    List<Path> logKeys = List.of();

    @Override
    public Integer call() throws IOException {
        Path signature = bundle != null ? bundle : files.getFirst().resolveSibling(files.getFirst().getFileName()
                + ".sig");
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            ModelSigning.Verified verified = ModelSigning.Trust.load(trusted, "--public-key/--ca-cert").withIdentities(identities)
                    .withTransparencyLogs(ModelSigning.Trust.load(logKeys, "--log-key").keys())
                    .verify(SignatureBundle.parse(Files.readAllBytes(signature)), Instant.now());
            java.util.Map<String, String> digests = new java.util.LinkedHashMap<>();
            for (Path f : files) {
                digests.put(f.getFileName().toString(), ModelSigning.sha256(f));
            }
            List<String> wrong = new ArrayList<>();
            String mismatch = ModelSigning.mismatch(verified.manifest(), digests, verified.signer());
            if (mismatch != null) {
                wrong.add(mismatch);
            }
            if (!wrong.isEmpty()) {
                wrong.forEach(w -> err.println("refused: " + w));
                err.flush();
                return 1;
            }
            out.printf("Verified %d file(s) of %s, signed by %s%n", files.size(), verified.manifest().modelName(),
                    verified.signer());
            out.flush();
            return 0;
        } catch (SignatureInvalidException e) {
            err.println("refused: " + e.getMessage());
            err.flush();
            return 1;
        }
    }
}
