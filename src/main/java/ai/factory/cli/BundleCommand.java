package ai.factory.cli;

import ai.factory.api.codec.admin.BundleWire;
import ai.factory.models.bundle.BundleArchive;
import ai.factory.models.bundle.BundleContents;
import ai.factory.security.signing.ModelSigning;
import ai.factory.security.signing.SignatureInvalidException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code factory bundle export|verify|import|install}: signed bundles that carry models, and the factory itself, to a
 * site without a network. See docs/supply-chain.md.
 */
@Command(name = "bundle", mixinStandardHelpOptions = true, description = "Air-gapped bundles: models and the factory "
        + "itself in one archive signed with the site's key, verified whole before anything is used.")
final class BundleCommand {
    /** Its subcommands, in the order help lists them (see {@link FactoryCli#commandLine}). */
    static final List<Class<?>> SUBCOMMANDS = List.of(Export.class, Verify.class, Import.class, Install.class);

    @Command(name = "export", mixinStandardHelpOptions = true, description = "Export models (and with --runtime the "
            + "factory: its launcher, jar, libraries and llama.cpp natives) as one bundle signed with the site's key "
            + "(models.signingKey).")
    static final class Export implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Option(names = "--models", split = ",", paramLabel = "NS/MODEL[:V]", description = "The models to carry "
                + "(comma-separated; the latest version unless one is named).")
        List<String> models = List.of();

        @Option(names = "--runtime", description = "Carry the factory itself, to install or upgrade it offline.")
        boolean runtime;

        @Option(names = "--out", required = true, paramLabel = "FILE", description = "Where the bundle goes.")
        Path out;

        @Override
        public Integer call() {
            long bytes = client.client().download("/api/v1/bundles/export", new BundleWire.Export(models, runtime),
                    out);
            // A bundle ends with its signature; one that arrived without it (an export that failed on the way) is
            // not kept.
            try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(out.toFile())) {
                if (zip.getEntry(BundleArchive.SIGNATURE) == null) {
                    throw new java.util.zip.ZipException("it has no " + BundleArchive.SIGNATURE);
                }
            } catch (IOException e) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException ignored) {
                    // what is left says itself that it is no bundle
                }
                throw new IllegalStateException("the export arrived incomplete (" + e.getMessage() + "); nothing "
                        + "was kept; the server's log says why", e);
            }
            PrintWriter w = spec.commandLine().getOut();
            w.printf("Exported %s%s to %s (%s)%n", models.isEmpty() ? "no models" : String.join(", ", models),
                    runtime ? " and the factory" : "", out, ModelsCommand.size(bytes));
            w.println("Verify it with the site's public key: factory bundle verify " + out + " --public-key SITE.pub");
            w.flush();
            return 0;
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true, description = "Verify a bundle (offline): signed by a "
            + "key or certificate authority given here, every file the SHA-256 signed. Exits 1 saying why not.")
    static final class Verify implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Parameters(paramLabel = "FILE", description = "The bundle.")
        Path file;

        @Mixin Signers signers;

        @Override
        public Integer call() throws IOException {
            return verified(spec, file, signers, bundle -> {
                PrintWriter out = spec.commandLine().getOut();
                BundleContents c = bundle.contents();
                out.printf("Verified %d file(s), signed by %s%n", bundle.digests().size(), bundle.signer());
                out.printf("Exported %s by %s from %s%n", c.createdAt(), c.createdBy(), c.factory());
                Table models = new Table("MODEL", "VERSION", "FORMAT", "FILES", "SIZE", "SIGNED");
                for (BundleContents.Model m : c.models()) {
                    models.row(m.name(), m.version(), m.format(), m.files().size(),
                            ModelsCommand.size(m.files().stream()
                            .mapToLong(BundleContents.File::size).sum()), m.signature() == null ? "no" : "yes");
                }
                if (models.size() > 0) {
                    models.print(out);
                }
                if (c.runtime() != null) {
                    out.printf("Runtime: %s, %d file(s), %s; llama.cpp natives: %s%n", c.factory(), c.runtime().files(),
                            ModelsCommand.size(c.runtime().bytes()), c.runtime().llamaNatives() == null ? "none"
                                    : c.runtime().llamaNatives());
                }
                out.flush();
                return 0;
            });
        }
    }

    @Command(name = "import", mixinStandardHelpOptions = true, description = "Import a bundle's models: the factory "
            + "reads the bundle from its own disk, verifies it whole against the signers it trusts "
            + "(models.trustedSigners), then registers every model, or none.")
    static final class Import implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "FILE", description = "The bundle, on the factory's machine.")
        Path file;

        @Option(names = "--project", description = "The project new models go to (default: the key's).")
        @Nullable String project;

        @Override
        public Integer call() {
            BundleWire.Imported imported = client.client().post("/api/v1/bundles/import", new BundleWire.Import(
                    file.toAbsolutePath().normalize().toString(), project), BundleWire.Imported.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, imported);
                return 0;
            }
            out.println("Bundle signed by " + imported.signer());
            for (var v : imported.models()) {
                out.printf("Imported %s:%d (%s)%s%n", v.model(), v.version(), ModelsCommand.size(v.sizeBytes()),
                        v.signature() == null ? "" : ", signed by " + v.signature().signer());
            }
            if (imported.runtime()) {
                out.println("The bundle also carries the factory: install it with 'factory bundle install " + file
                        + " --into DIR --public-key SITE.pub'");
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "install", mixinStandardHelpOptions = true, description = "Install the factory a bundle carries "
            + "(offline, no Maven, npm or download): verified whole first, then unpacked into DIR/<version> beside "
            + "earlier ones, and DIR/current pointed at it.")
    static final class Install implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Parameters(paramLabel = "FILE", description = "The bundle.")
        Path file;

        @Option(names = "--into", required = true, paramLabel = "DIR", description = "Where runtimes are installed.")
        Path into;

        @Mixin Signers signers;

        @Option(names = "--allow-downgrade", description = "Install a runtime exported before the current one.")
        boolean allowDowngrade;

        @Override
        public Integer call() throws IOException {
            return verified(spec, file, signers, bundle -> {
                BundleContents.Runtime runtime = bundle.contents().runtime();
                if (runtime == null) {
                    spec.commandLine().getErr().println("refused: the bundle carries no runtime (export it with "
                            + "--runtime)");
                    return 1;
                }
                String launcherEntry = runtime.launcher();
                if (!launcherEntry.startsWith(BundleArchive.RUNTIME) || !bundle.digests().containsKey(launcherEntry)) {
                    spec.commandLine().getErr().println("refused: the bundle names its launcher '" + launcherEntry
                            + "', which its runtime does not hold");
                    return 1;
                }
                Path root = into.toAbsolutePath().normalize();
                Path current = root.resolve("current");
                Path installed = current.resolve(BundleArchive.CONTENTS);
                if (Files.isRegularFile(installed) && !allowDowngrade) {
                    Instant was = ai.factory.Json.mapper().readValue(installed.toFile(), BundleContents.class)
                            .createdAt();
                    if (was.isAfter(bundle.contents().createdAt())) {
                        spec.commandLine().getErr().println("refused: the current runtime was exported at " + was
                                + ", after this one (" + bundle.contents().createdAt() + "); install an older one "
                                + "with --allow-downgrade");
                        return 1;
                    }
                }
                String contentsSha256 = java.util.Objects.requireNonNull(bundle.digests().get(
                        BundleArchive.CONTENTS), "a verified bundle has its contents");
                String name = "factory-" + DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC)
                        .format(bundle.contents().createdAt()) + "-" + contentsSha256.substring(0, 8);
                Path target = root.resolve(name);
                if (Files.exists(target)) {
                    spec.commandLine().getErr().println("refused: " + target + " is installed already");
                    return 1;
                }
                Files.createDirectories(root);
                Path work = Files.createTempDirectory(root, ".install-");
                try {
                    for (var e : bundle.digests().entrySet()) {
                        String entry = e.getKey();
                        if (!entry.startsWith(BundleArchive.RUNTIME)) {
                            continue;
                        }
                        Path dest = work.resolve(entry.substring(BundleArchive.RUNTIME.length())).normalize();
                        if (!dest.startsWith(work) || dest.equals(work)) {
                            throw new IllegalStateException("entry " + entry + " lies outside the runtime");
                        }
                        Files.createDirectories(dest.getParent());
                        // Digested again as it is written: what is installed is what was verified, even if the
                        // file changed after it was.
                        copyVerified(bundle, entry, e.getValue(), dest);
                    }
                    copyVerified(bundle, BundleArchive.CONTENTS, contentsSha256, work.resolve(BundleArchive.CONTENTS));
                    Path launcher = work.resolve(launcherEntry.substring(BundleArchive.RUNTIME.length()));
                    if (!launcher.toFile().setExecutable(true, false)) {
                        throw new IOException("cannot make " + launcher + " executable");
                    }
                    Files.move(work, target, StandardCopyOption.ATOMIC_MOVE);
                } finally {
                    deleteTree(work);
                }
                // The new runtime becomes current in one step: a link made beside, renamed over the old one.
                Path link = current.resolveSibling(".current-" + ProcessHandle.current().pid());
                Files.deleteIfExists(link);
                Files.createSymbolicLink(link, target.getFileName());
                try {
                    Files.move(link, current, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } finally {
                    Files.deleteIfExists(link);
                }
                PrintWriter out = spec.commandLine().getOut();
                out.printf("Installed %s (%d file(s), signed by %s) in %s%n", bundle.contents().factory(),
                        runtime.files(), bundle.signer(), target);
                out.println("Run it: " + current.resolve("factory") + " up");
                out.flush();
                return 0;
            });
        }
    }

    /** Copies an entry, refusing it (and leaving nothing) when its bytes are not the SHA-256 verified. */
    private static void copyVerified(BundleArchive.Verified bundle, String entry, String sha256, Path dest)
            throws IOException {
        java.security.MessageDigest digest;
        try {
            digest = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = new java.security.DigestInputStream(bundle.open(entry), digest)) {
            Files.copy(in, dest);
        }
        String actual = java.util.HexFormat.of().formatHex(digest.digest());
        if (!actual.equals(sha256)) {
            Files.deleteIfExists(dest);
            throw new IOException("entry '" + entry + "' changed while it was installed (SHA-256 " + actual
                    + ", verified " + sha256 + "): the bundle's file is being written to; nothing was installed");
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @FunctionalInterface
    private interface WithBundle {
        int use(BundleArchive.Verified bundle) throws IOException;
    }

    /** Verifies a bundle against the signers given, then uses it; exits 1 saying why it does not verify. */
    /** Whom a bundle's signature must come from: the exporting site's key or authority, and the identities. */
    static final class Signers {
        @Option(names = {"--public-key", "--ca-cert"}, required = true, paramLabel = "PEM",
                description = "A trusted signer: the exporting site's public key, or its certificate authority (PEM); "
                        + "may be repeated.")
        List<Path> trusted = List.of();

        @Option(names = "--identity", paramLabel = "ID", description = "Take a certificate only when it names this "
                + "identity: a subject (CN=…,O=…) or email:, uri:, dns: and a name; may be repeated.")
        List<String> identities = List.of();

        ModelSigning.Trust trust() {
            return ModelSigning.Trust.load(trusted, "--public-key/--ca-cert").withIdentities(identities);
        }
    }

    private static int verified(CommandSpec spec, Path file, Signers signers, WithBundle then) throws IOException {
        ModelSigning.Trust trust = signers.trust();
        BundleArchive.Verified bundle;
        try {
            bundle = BundleArchive.verify(file, trust, Instant.now());
        } catch (SignatureInvalidException e) {
            spec.commandLine().getErr().println("refused: " + e.getMessage());
            spec.commandLine().getErr().flush();
            return 1;
        } catch (java.nio.file.NoSuchFileException e) {
            spec.commandLine().getErr().println("refused: no such file: " + file);
            spec.commandLine().getErr().flush();
            return 1;
        }
        try (bundle) {
            return then.use(bundle);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private BundleCommand() {}
}
