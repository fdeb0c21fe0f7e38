package ai.factory.cli;

import ai.factory.Json;
import ai.factory.api.codec.admin.ModelWire;
import ai.factory.api.codec.admin.ModelWire.Deleted;
import ai.factory.api.codec.admin.ModelWire.ImportPath;
import ai.factory.api.codec.admin.ModelWire.ModelList;
import ai.factory.api.codec.admin.ModelWire.Version;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRef;
import ai.factory.models.gguf.GgufReader;
import org.jspecify.annotations.Nullable;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code factory models …}: the model registry. */
@Command(name = "models", mixinStandardHelpOptions = true, description = "Import, list, show and delete models.")
final class ModelsCommand {
    /** Its subcommands, in the order help lists them (see {@link FactoryCli#commandLine}). */
    static final List<Class<?>> SUBCOMMANDS = List.of(Import.class, ListModels.class, Show.class, Delete.class,
            Classify.class, Inspect.class, PlanCommand.class, SynthCommand.class, SignCommand.class,
            VerifyCommand.class);

    static String path(ModelName name) {
        return "/api/v1/models/" + name.namespace() + "/" + name.model();
    }

    /** The API path of a model, or of one version when the reference names it. */
    private static String path(ModelRef ref) {
        return path(ref.name()) + (ref.version().isPresent() ? "/versions/" + ref.version().getAsInt() : "");
    }

    static void printJson(PrintWriter out, Object node) {
        try {
            out.println(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(node));
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        int exp = (int) (Math.log(bytes) / Math.log(1024));
        return String.format("%.1f %siB", bytes / Math.pow(1024, exp), "KMGTPE".charAt(exp - 1));
    }

    @Command(name = "import", mixinStandardHelpOptions = true,
            description = {"Import a model file as a new version of a model.",
                    "By default the server reads PATH from its own disk (site admins only); --upload streams the file "
                            + "from here (developers and project admins of the model's project too)."})
    static final class Import implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "PATH", description = "The model file (.gguf or .onnx).")
        Path file;

        @Option(names = "--name", required = true, description = "Model name, namespace/model (e.g. acme/llama-3.2-1b).")
        String name;

        @Option(names = "--format", description = "gguf or onnx (default: detected from the file).")
        @Nullable String format;

        @Option(names = "--upload", description = "Stream the file over HTTP instead of letting the server read it.")
        boolean upload;

        @Option(names = "--project", description = "Project a new model belongs to (default: the caller's).")
        @Nullable String project;

        @Option(names = "--classification",
                description = "Label site policies decide on, e.g. internal, confidential, restricted (new models: internal).")
        @Nullable String classification;

        @Option(names = "--progress", description = "Show a progress bar while uploading (implies --upload).")
        boolean progress;

        @Option(names = "--signature", paramLabel = "BUNDLE", description = "The model's signature (an OpenSSF "
                + "model-signing bundle; 'factory models sign' makes one). Default: PATH.sig when it exists.")
        @Nullable Path signature;

        @Override
        public Integer call() {
            ModelName model = ModelName.parse(name);
            Path absolute = file.toAbsolutePath().normalize();
            Version version;
            if (upload || progress) {
                version = upload(model, absolute);
            } else {
                Path bundle = signature != null ? signature.toAbsolutePath().normalize() : null;
                version = client.client().post(path(model) + "/versions", new ImportPath(absolute.toString(), format,
                        project, classification, bundle == null ? null : bundle.toString()), Version.class);
            }
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                printJson(out, version);
            } else {
                out.printf("Imported %s:%d (%s, %s)%n", version.model(), version.version(), version.format(),
                        size(version.sizeBytes()));
                out.flush();
            }
            return 0;
        }

        private Version upload(ModelName model, Path source) {
            long length;
            try {
                length = Files.size(source);
            } catch (IOException e) {
                throw new IllegalStateException("cannot read " + source + ": " + e.getMessage(), e);
            }
            String query = "?filename=" + source.getFileName() + (format == null ? "" : "&format=" + format)
                    + (project == null ? "" : "&project=" + java.net.URLEncoder.encode(project, StandardCharsets.UTF_8))
                    + (classification == null ? ""
                            : "&classification=" + java.net.URLEncoder.encode(classification, StandardCharsets.UTF_8));
            FactoryClient http = client.client();
            Map<String, String> headers = signatureHeader(source);
            if (!progress) {
                return http.as(http.put(path(model) + "/versions" + query, () -> open(source), length, headers),
                        Version.class);
            }
            ProgressBarBuilder bar = new ProgressBarBuilder().setTaskName("Uploading").setInitialMax(length)
                    .setStyle(ProgressBarStyle.ASCII).setUnit("MiB", 1 << 20).setConsumer(
                            new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err));
            return http.as(http.put(path(model) + "/versions" + query, () -> ProgressBar.wrap(open(source), bar),
                    length, headers), Version.class);
        }

        /** The signature to send with an upload: the one named, else PATH.sig beside the file, else none. */
        private Map<String, String> signatureHeader(Path source) {
            Path bundle = signature != null ? signature : source.resolveSibling(source.getFileName() + ".sig");
            if (signature == null && !Files.isRegularFile(bundle)) {
                return Map.of();
            }
            try {
                return Map.of("X-Model-Signature", java.util.Base64.getEncoder().encodeToString(
                        Files.readAllBytes(bundle)));
            } catch (IOException e) {
                throw new IllegalStateException("cannot read the signature " + bundle + ": " + e.getMessage(), e);
            }
        }

        private static InputStream open(Path source) {
            try {
                return Files.newInputStream(source);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the models in the registry.")
    static final class ListModels implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Override
        public Integer call() {
            ModelList result = client.client().get("/api/v1/models", ModelList.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                printJson(out, result);
                return 0;
            }
            Table table = new Table("NAME", "PROJECT", "CLASSIFICATION", "LATEST", "FORMAT", "SIZE", "ARCHITECTURE",
                    "IMPORTED");
            for (ModelWire.Model m : result.models()) {
                Version latest = m.versions().getLast();
                Object architecture = latest.metadata() == null ? null : latest.metadata().get("architecture");
                // String.valueOf: a missing value reads "null", as it always has in this table.
                table.row(m.name(), String.valueOf(m.project()), String.valueOf(m.classification()),
                        latest.version(), latest.format(), size(latest.sizeBytes()),
                        architecture == null ? "" : architecture, String.valueOf(latest.importedAt()));
            }
            table.print(out);
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = {"Show a model and its versions, or one version of it, with the lineage of a fine-tuned "
                    + "version (its training job, base model, datasets and their digests, hyperparameters, losses).",
                    "--json prints the registry's record whole, metadata included."})
    static final class Show implements Callable<Integer> {
        /** Metadata values longer than this are left to --json (a chat template runs to kilobytes). */
        private static final int LONGEST_VALUE = 80;

        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "MODEL[:VERSION]")
        String model;

        @Override
        public Integer call() {
            ModelRef ref = ModelRef.parse(model);
            PrintWriter out = spec.commandLine().getOut();
            FactoryClient http = client.client();
            var answer = http.get(path(ref));
            if (client.json) {
                printJson(out, answer);
                return 0;
            }
            List<Version> versions;
            if (ref.version().isPresent()) {
                versions = List.of(http.as(answer, Version.class));
            } else {
                ModelWire.Model m = http.as(answer, ModelWire.Model.class);
                new Table("FIELD", "VALUE").row("name", m.name()).row("project", m.project())
                        .row("classification", m.classification()).row("created", String.valueOf(m.createdAt()))
                        .row("created by", m.createdBy()).row("latest version", m.latestVersion()).print(out);
                versions = m.versions();
            }
            for (Version v : versions) {
                out.println();
                Table table = new Table("VERSION " + v.model() + ":" + v.version(), "");
                table.row("format", v.format()).row("size", size(v.sizeBytes()) + " (" + v.sizeBytes() + " bytes)")
                        .row("source", v.source()).row("imported", String.valueOf(v.importedAt()))
                        .row("imported by", v.importedBy());
                for (ModelWire.File f : v.files()) {
                    table.row("file", f.path() + " (sha256 " + f.sha256() + ", " + size(f.size()) + ")");
                }
                table.row("signature", v.signature() == null ? "none"
                        : v.signature().signer().isEmpty() ? "kept, not verified (models.signaturePolicy is off)"
                        : "signed by " + v.signature().signer() + ", verified " + v.signature().verifiedAt());
                Map<String, Object> metadata = v.metadata() == null ? Map.of() : v.metadata();
                metadata.forEach((key, value) -> {
                    if (!key.equals("lineage") && !(value instanceof Map<?, ?>) && !(value instanceof List<?>)) {
                        String text = String.valueOf(value);
                        table.row(key, text.length() <= LONGEST_VALUE && !text.contains("\n") ? text
                                : "(" + text.length() + " characters; --json prints it)");
                    }
                });
                table.print(out);
                if (metadata.get("lineage") instanceof Map<?, ?> lineage) {
                    out.println();
                    Table rows = new Table("LINEAGE of " + v.model() + ":" + v.version(), "");
                    lineage.forEach((key, value) -> {
                        if (value instanceof Map<?, ?> map) {
                            map.forEach((k, x) -> rows.row(key + " " + k, String.valueOf(x)));
                        } else {
                            rows.row(String.valueOf(key), String.valueOf(value));
                        }
                    });
                    rows.print(out);
                }
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Delete a model version, or every version (refused while deployed).")
    static final class Delete implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "MODEL[:VERSION]")
        String model;

        @Override
        public Integer call() {
            Deleted result = client.client().delete(path(ModelRef.parse(model)), Deleted.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                printJson(out, result);
            } else {
                result.deleted().forEach(v -> out.println("Deleted " + v));
                out.flush();
            }
            return 0;
        }
    }

    @Command(name = "classify", mixinStandardHelpOptions = true,
            description = "Set a model's classification, the label site policies decide on (admin only).")
    static final class Classify implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(index = "0", paramLabel = "NS/MODEL")
        String model;

        @Parameters(index = "1", paramLabel = "CLASSIFICATION", description = "e.g. internal, confidential, restricted.")
        String classification;

        @Override
        public Integer call() {
            ModelWire.Model result = client.client().patch(path(ModelName.parse(model)),
                    new ModelWire.Classify(classification), ModelWire.Model.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                printJson(out, result);
            } else {
                out.println(result.name() + " is now " + result.classification());
                out.flush();
            }
            return 0;
        }
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true,
            description = "Print the metadata of a GGUF file (no server needed).")
    static final class Inspect implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Parameters(paramLabel = "FILE.gguf")
        Path file;

        @Override
        public Integer call() throws IOException {
            printJson(spec.commandLine().getOut(), Json.mapper().valueToTree(GgufReader.read(file).summary()));
            return 0;
        }
    }
}
