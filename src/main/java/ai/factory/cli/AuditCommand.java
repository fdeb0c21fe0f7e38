package ai.factory.cli;

import ai.factory.Json;
import ai.factory.api.codec.admin.AuditWire;
import ai.factory.api.codec.admin.AuditWire.RecordList;
import ai.factory.config.ConfigLoader;
import ai.factory.config.FactoryConfig;
import ai.factory.config.Setting;
import ai.factory.security.audit.AuditKey;
import ai.factory.security.audit.AuditQuery;
import ai.factory.security.audit.AuditStore;
import ai.factory.security.audit.AuditVerification;
import ai.factory.security.audit.AuditVerifier;
import ai.factory.sovereignty.SovereigntyReport;
import ai.factory.storage.Database;
import ai.factory.storage.H2Password;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Instant;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code factory audit …}: the tamper-evident audit trail. */
@Command(name = "audit", mixinStandardHelpOptions = true, description = "Verify, query and export the audit trail.",
        subcommands = {AuditCommand.Verify.class, AuditCommand.Query.class, AuditCommand.Content.class,
                AuditCommand.ExportPublicKey.class})
final class AuditCommand {
    private static final String CONTENT_MARK = " content=sha256:";

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = {"Check the audit chain and its signed digests offline, straight from the database "
                    + "(no server needed): every record's hash and link, gap-free sequence numbers, every digest's "
                    + "signature. Exits 1 at the first broken record, naming it and why.",
                    "With the embedded H2 database, stop the factory first (H2 allows one process), or copy its "
                            + "db/ folder, db.password and audit.pub and point --home at the copy; the database's "
                            + "password is read from $FACTORY_HOME/db.password unless database.password is set."})
    static final class Verify implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Option(names = "--home", description = "Factory home whose configuration and database to read "
                + "(default: $FACTORY_HOME or ~/.factory).")
        Path home;

        @Option(names = "--db-url", description = "JDBC URL of the database (default: as 'factory up' resolves it).")
        String dbUrl;

        @Option(names = "--public-key", description = "The audit public key, PEM (default: $FACTORY_HOME/audit.pub; "
                + "'factory audit public-key' exports it).")
        Path publicKey;

        @Option(names = "--from", description = "Check records from this time (2026-11-25 or 2026-11-25T13:00:00Z).")
        String from;

        @Option(names = "--to", description = "Check records before this time.")
        String to;

        @Option(names = "--json", description = "Print JSON for scripts.")
        boolean json;

        @Override
        public Integer call() {
            Optional<Instant> fromTime = Optional.ofNullable(from).map(v -> AuditQuery.parseTime("from", v));
            Optional<Instant> toTime = Optional.ofNullable(to).map(v -> AuditQuery.parseTime("to", v));
            if (fromTime.isPresent() && toTime.isPresent() && !fromTime.get().isBefore(toTime.get())) {
                throw new IllegalArgumentException("--to must be after --from");
            }
            Map<Setting, String> flags = new EnumMap<>(Setting.class);
            if (dbUrl != null) {
                flags.put(Setting.DB_URL, dbUrl);
            }
            FactoryConfig config = ConfigLoader.fromSystem().load(home, flags);
            PublicKey key = readPublicKey(publicKey != null ? publicKey : config.auditPublicKeyFile());
            AuditVerification result;
            try (Database database = Database.open(H2Password.forReading(config.database(),
                    config.databasePasswordFile()).withMaxPoolSize(2))) {
                result = new AuditVerifier(new AuditStore(database.jdbi()), key).verify(fromTime, toTime);
            }
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                Map<String, Object> status = SovereigntyReport.status(result, 0);
                status.remove("droppedSinceStart");
                status.put("keyId", AuditKey.keyId(key));
                ModelsCommand.printJson(out, Json.mapper().valueToTree(status));
            } else if (result.ok()) {
                out.printf("OK: %d records (%d to %d) and %d signed digests verified with audit key %s; "
                                + "%d records not yet covered by a digest%s%n", result.records(), result.firstSeq(),
                        result.lastSeq(), result.digests(), AuditKey.keyId(key), result.undigested(),
                        result.lastDigestAt().map(t -> "; last digest " + t).orElse(""));
                out.flush();
            } else {
                var p = result.problem().orElseThrow();
                spec.commandLine().getErr().printf("BROKEN at record %d (%s): %s%n", p.seq(),
                        p.kind().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '), p.message());
                spec.commandLine().getErr().flush();
            }
            return result.ok() ? 0 : 1;
        }

        private static PublicKey readPublicKey(Path file) {
            try {
                return AuditKey.parsePublicKey(Files.readString(file));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the audit public key " + file + " (give --public-key)", e);
            }
        }
    }

    @Command(name = "query", mixinStandardHelpOptions = true,
            description = "Search the audit trail, newest first (admin or auditor key).")
    static final class Query implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Option(names = "--principal", description = "A principal's id or name.") String principal;
        @Option(names = "--project", description = "Project.") String project;
        @Option(names = "--action", description = "Action, e.g. 'POST /v1/chat/completions' or egress.http.") String action;
        @Option(names = "--outcome", description = "success or failure.") String outcome;
        @Option(names = "--from", description = "From this time (2026-11-25 or 2026-11-25T13:00:00Z).") String from;
        @Option(names = "--to", description = "Before this time.") String to;
        @Option(names = "--limit", description = "At most this many records (1 to 1000; default 100).") Integer limit;

        @Override
        public Integer call() {
            Map<String, String> params = new LinkedHashMap<>();
            put(params, "principal", principal);
            put(params, "project", project);
            put(params, "action", action);
            put(params, "outcome", outcome);
            put(params, "from", from);
            put(params, "to", to);
            put(params, "limit", limit == null ? null : limit.toString());
            String query = params.entrySet().stream()
                    .map(e -> e.getKey() + "=" + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                    .collect(Collectors.joining("&"));
            RecordList result = client.client().get("/api/v1/audit" + (query.isEmpty() ? "" : "?" + query),
                    RecordList.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, result);
                return 0;
            }
            Table table = new Table("SEQ", "TIME", "PRINCIPAL", "PROJECT", "ACTION", "RESOURCE", "DECISION",
                    "STATUS", "CLIENT", "IN", "OUT", "TOKENS", "CONTENT");
            for (AuditWire.Record r : result.records()) {
                // String.valueOf: a missing value reads "null", as it always has in this table.
                String principal = String.valueOf(r.principalName());
                table.row(r.seq(), r.at().toString(), principal.isEmpty() ? String.valueOf(r.principalId()) : principal,
                        String.valueOf(r.project()), String.valueOf(r.action()), String.valueOf(r.resource()),
                        String.valueOf(r.decision()), r.status(), String.valueOf(r.client()), r.bytesIn(), r.bytesOut(),
                        r.promptTokens() + "/" + r.completionTokens(), content(String.valueOf(r.detail())));
            }
            table.print(out);
            return 0;
        }

        /** The logged content's digest that a record's detail names, for 'factory audit content'; blank if none. */
        private static String content(String detail) {
            int at = detail.indexOf(CONTENT_MARK);
            return at < 0 ? "" : detail.substring(at + CONTENT_MARK.length());
        }

        private static void put(Map<String, String> params, String name, String value) {
            if (value != null) {
                params.put(name, value);
            }
        }
    }

    @Command(name = "content", mixinStandardHelpOptions = true,
            description = "Print the text a call left, for projects that log content: the record's CONTENT digest "
                    + "(admin or auditor key).")
    static final class Content implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(index = "0", paramLabel = "PROJECT", description = "The calling project (the record's PROJECT).")
        String project;

        @Parameters(index = "1", paramLabel = "SHA256", description = "The record's CONTENT digest.")
        String sha256;

        @Override
        public Integer call() {
            AuditWire.Content c = client.client().get("/api/v1/audit/content/"
                    + URLEncoder.encode(project, StandardCharsets.UTF_8) + "/"
                    + URLEncoder.encode(sha256, StandardCharsets.UTF_8), AuditWire.Content.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, c);
            } else {
                JsonNode content = c.content() == null ? Json.mapper().nullNode() : c.content();
                out.printf("request %s at %s, %s%n", c.requestId(), c.at(), content.path("route").asText());
                out.println("request body:");
                ModelsCommand.printJson(out, content.path("request"));
                JsonNode output = content.path("output");
                if (output.isArray()) {
                    for (int i = 0; i < output.size(); i++) {
                        out.println("output of choice " + i + ":");
                        out.println(output.get(i).asText());
                    }
                } else {
                    out.println("output:");
                    out.println(output.asText());
                }
                out.flush();
            }
            return 0;
        }
    }

    @Command(name = "public-key", mixinStandardHelpOptions = true,
            description = "Print the audit public key (PEM), to verify the trail offline elsewhere.")
    static final class ExportPublicKey implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Override
        public Integer call() {
            AuditWire.PublicKey key = client.client().get("/api/v1/audit/public-key", AuditWire.PublicKey.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, key);
            } else {
                out.print(key.pem());
                out.flush();
            }
            return 0;
        }
    }
}
