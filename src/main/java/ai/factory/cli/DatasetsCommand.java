package ai.factory.cli;

import static ai.factory.cli.ModelsCommand.printJson;
import static ai.factory.cli.ModelsCommand.size;

import ai.factory.api.codec.admin.DatasetWire;
import ai.factory.api.codec.admin.DatasetWire.DatasetList;
import ai.factory.api.codec.admin.DatasetWire.Deleted;
import ai.factory.training.DatasetName;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code factory datasets …}: fine-tuning datasets. */
@Command(name = "datasets", mixinStandardHelpOptions = true,
        description = "Upload, list, show and delete fine-tuning datasets (JSON Lines).")
final class DatasetsCommand {
    /** Its subcommands, in the order help lists them (see {@link FactoryCli#commandLine}). */
    static final List<Class<?>> SUBCOMMANDS = List.of(Upload.class, ListDatasets.class, Show.class, Delete.class);

    static String path(DatasetName name) {
        return "/api/v1/datasets/" + name.namespace() + "/" + name.name();
    }

    @Command(name = "upload", mixinStandardHelpOptions = true,
            description = {"Upload a JSON Lines file as a dataset; it is checked whole and stored only when every "
                    + "record is valid.",
                    "Formats: Bedrock text {\"prompt\", \"completion\"}, Bedrock conversation "
                            + "{\"schemaVersion\": \"bedrock-conversation-2024\", \"messages\"}, OpenAI chat "
                            + "{\"messages\": [{\"role\", \"content\"}]}; one format per file."})
    static final class Upload implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "FILE", description = "The dataset (.jsonl).")
        Path file;

        @Option(names = "--name", required = true, description = "Dataset name, namespace/name (e.g. acme/support-chats).")
        String name;

        @Option(names = "--project", description = "Project the dataset belongs to (default: the caller's).")
        @Nullable String project;

        @Option(names = "--classification",
                description = "Label site policies decide on, e.g. internal, confidential, restricted (default: internal).")
        @Nullable String classification;

        @Override
        public Integer call() {
            DatasetName dataset = DatasetName.parse(name);
            Path source = file.toAbsolutePath().normalize();
            long length;
            try {
                length = Files.size(source);
            } catch (IOException e) {
                throw new IllegalStateException("cannot read " + source + ": " + e.getMessage(), e);
            }
            List<String> query = new ArrayList<>();
            if (project != null) {
                query.add("project=" + URLEncoder.encode(project, StandardCharsets.UTF_8));
            }
            if (classification != null) {
                query.add("classification=" + URLEncoder.encode(classification, StandardCharsets.UTF_8));
            }
            DatasetWire.Dataset result = client.client().put(path(dataset)
                    + (query.isEmpty() ? "" : "?" + String.join("&", query)), () -> open(source), length,
                    DatasetWire.Dataset.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                printJson(out, result);
            } else {
                out.printf("Uploaded %s (%s, %d records, %s, sha256 %s)%n", result.name(), result.format(),
                        result.records(), size(result.sizeBytes()), result.sha256());
                out.flush();
            }
            return 0;
        }

        private static InputStream open(Path source) {
            try {
                return Files.newInputStream(source);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the datasets the key may read.")
    static final class ListDatasets implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Override
        public Integer call() {
            DatasetList result = client.client().get("/api/v1/datasets", DatasetList.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                printJson(out, result);
                return 0;
            }
            Table table = new Table("NAME", "PROJECT", "CLASSIFICATION", "FORMAT", "RECORDS", "SIZE", "CREATED");
            for (DatasetWire.Dataset d : result.datasets()) {
                table.row(d.name(), d.project(), d.classification(), d.format(), d.records(), size(d.sizeBytes()),
                        String.valueOf(d.createdAt()));
            }
            table.print(out);
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show a dataset.")
    static final class Show implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "NS/NAME")
        String name;

        @Override
        public Integer call() {
            DatasetWire.Dataset d = client.client().get(path(DatasetName.parse(name)), DatasetWire.Dataset.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                printJson(out, d);
                return 0;
            }
            Table table = new Table("FIELD", "VALUE");
            table.row("name", d.name()).row("project", d.project()).row("classification", d.classification())
                    .row("format", d.format()).row("records", d.records())
                    .row("size", size(d.sizeBytes()) + " (" + d.sizeBytes() + " bytes)").row("sha256", d.sha256())
                    .row("created", String.valueOf(d.createdAt())).row("created by", d.createdBy()).row("id", d.id());
            table.print(out);
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a dataset.")
    static final class Delete implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "NS/NAME")
        String name;

        @Override
        public Integer call() {
            Deleted result = client.client().delete(path(DatasetName.parse(name)), Deleted.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                printJson(out, result);
            } else {
                out.println("Deleted " + result.deleted());
                out.flush();
            }
            return 0;
        }
    }
}
