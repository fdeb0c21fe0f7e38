package ai.factory.cli;

import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.api.codec.admin.AuditWire;
import ai.factory.api.codec.admin.AuditWire.RecordList;
import ai.factory.config.ConfigLoader;
import ai.factory.config.FactoryConfig;
import ai.factory.config.Setting;
import ai.factory.security.audit.AuditAnchor;
import ai.factory.security.audit.AuditKey;
import ai.factory.security.audit.AuditQuery;
import ai.factory.security.audit.AuditStore;
import ai.factory.security.audit.AuditVerification;
import ai.factory.security.audit.AuditVerifier;
import ai.factory.security.audit.HomeAnchor;
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
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code factory audit …}: the tamper-evident audit trail. */
@Command(name = "audit", mixinStandardHelpOptions = true, description = "Verify, query and export the audit trail.")
final class AuditCommand {
    /** Its subcommands, in the order help lists them (see {@link FactoryCli#commandLine}). */
    static final List<Class<?>> SUBCOMMANDS = List.of(Verify.class, Anchor.class, Query.class, Content.class,
            ExportPublicKey.class);

    private static final String CONTENT_MARK = " content=sha256:";
    /** H2's error code for a database file another process holds. */
    private static final int H2_DATABASE_ALREADY_OPEN = 90020;

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = {"Check the audit chain and its signed digests with the audit public key: every record's "
                    + "hash and link, gap-free sequence numbers, every digest's signature, its link to the digest "
                    + "before and the record hashes it signed, that the records after the last digest are no more "
                    + "than the cadence allows, and that the chain still extends every anchor given (and the "
                    + "factory's own, $FACTORY_HOME/audit.anchor). Exits 1 at the first broken record, naming it, "
                    + "what was found and what was expected.",
                    "Reads the database directly (no server needed; the embedded H2 database's password comes from "
                            + "$FACTORY_HOME/db.password unless database.password is set, so copy db.password with "
                            + "db/). While the factory runs on its embedded H2 database (which admits one process), "
                            + "reads the chain through the factory's API instead and checks it here the same way, "
                            + "trusting the server for nothing; --url does so for any factory."})
    static final class Verify implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Option(names = "--home", description = "Factory home whose configuration, database and anchor to read "
                + "(default: $FACTORY_HOME or ~/.factory).")
        @Nullable Path home;

        @Option(names = "--db-url", description = "JDBC URL of the database (default: as 'factory up' resolves it).")
        @Nullable String dbUrl;

        @Option(names = "--public-key", description = "The audit public key, PEM (default: $FACTORY_HOME/audit.pub; "
                + "'factory audit public-key' exports it: keep a copy elsewhere and give it here).")
        @Nullable Path publicKey;

        @Option(names = "--anchor", paramLabel = "FILE", description = "A file of anchors ('factory audit anchor' "
                + "prints one a line) that the chain must still extend; may be given more than once.")
        List<Path> anchorFiles = new ArrayList<>();

        @Option(names = "--strict", negatable = true, defaultValue = "true", fallbackValue = "true",
                description = "Fail when the records after the last digest are more, or older, than the cadence "
                        + "allows (default; --no-strict reports them as a warning).")
        boolean strict;

        @Option(names = "--url", description = "Read the chain through this running factory's API (default: only "
                + "when the embedded database is held by the local factory).")
        @Nullable String url;

        @Option(names = "--key", description = "API key for --url or the local factory (admin or auditor; default: "
                + "$FACTORY_API_KEY, else $FACTORY_HOME/admin.key).")
        @Nullable String key;

        @Option(names = "--ca-cert", paramLabel = "FILE", description = "CA certificate (PEM) to trust over https "
                + "(default: $FACTORY_CA_CERT, else $FACTORY_HOME/tls/ca.pem when the factory generated one).")
        @Nullable Path caCert;

        @Option(names = "--from", description = "Check records from this time (2026-11-25 or 2026-11-25T13:00:00Z).")
        @Nullable String from;

        @Option(names = "--to", description = "Check records before this time.")
        @Nullable String to;

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
            List<AuditAnchor> anchors = new ArrayList<>();
            anchorFiles.forEach(f -> anchors.addAll(AuditAnchor.read(f)));
            // The factory's own anchor belongs to its database; a factory elsewhere (--url) has its own.
            Optional<AuditAnchor> homeAnchor = url != null ? Optional.empty()
                    : new HomeAnchor(config.auditAnchorFile(), config.database()).read();
            homeAnchor.ifPresent(anchors::add);
            AuditVerifier.Options options = new AuditVerifier.Options(fromTime, toTime, anchors, strict);
            PrintWriter err = spec.commandLine().getErr();
            AuditVerification result;
            String via;
            if (url != null) {
                try (FactoryClient client = ClientOptions.client(url, this.key, caCert, home)) {
                    result = new AuditVerifier(new ApiAuditSource(client), key, config.audit()).verify(options);
                    via = "through " + client.base();
                }
            } else {
                Optional<Database> database = open(config);
                if (database.isPresent()) {
                    try (Database db = database.get()) {
                        result = new AuditVerifier(new AuditStore(db.jdbi()), key, config.audit()).verify(options);
                    }
                    via = "from the database";
                } else {
                    try (FactoryClient client = ClientOptions.client(null, this.key, caCert, home)) {
                        err.println("note: the factory holds its embedded database; reading the chain through its API "
                                + "at " + client.base() + " and checking it here with audit key "
                                + AuditKey.keyId(key));
                        err.flush();
                        result = new AuditVerifier(new ApiAuditSource(client), key, config.audit()).verify(options);
                        via = "through " + client.base();
                    }
                }
            }
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                Map<String, Object> status = SovereigntyReport.status(result, 0);
                status.remove("droppedSinceStart");
                status.put("keyId", AuditKey.keyId(key));
                status.put("homeAnchor", homeAnchor.isPresent());
                ModelsCommand.printJson(out, Json.mapper().valueToTree(status));
            } else if (result.ok()) {
                out.printf("OK: %d records (%d to %d) and %d signed digests verified with audit key %s, %s; "
                                + "%d records not yet covered by a digest%s%n", result.records(), result.firstSeq(),
                        result.lastSeq(), result.digests(), AuditKey.keyId(key), via, result.undigested(),
                        result.lastDigestAt().map(t -> "; last digest " + t).orElse(""));
                if (fromTime.isEmpty() && toTime.isEmpty()) {
                    out.printf("Cadence: %s; the chain extends %d anchor(s)%s%n",
                            result.cadence().map(Object::toString).orElse("unknown"), result.anchors(),
                            homeAnchor.isPresent() ? ", the factory's own among them" : "");
                    result.latest().ifPresent(a -> out.println("Latest anchor: " + a.text()));
                }
                out.flush();
                result.warning().ifPresent(w -> {
                    err.printf("WARNING at record %d (%s): %s%n", w.seq(), kind(w), w.message());
                    err.flush();
                });
            } else {
                var p = result.problem().orElseThrow();
                err.printf("BROKEN at record %d (%s): %s%n", p.seq(), kind(p), p.message());
                err.flush();
            }
            return result.ok() ? 0 : 1;
        }

        /** The database, or empty when it is embedded H2 held by a running factory. */
        private static Optional<Database> open(FactoryConfig config) {
            try {
                return Optional.of(Database.open(H2Password.forReading(config.database(),
                        config.databasePasswordFile()).withMaxPoolSize(2)));
            } catch (FactoryException e) {
                if (config.database().vendor().equals("h2") && heldByAnotherProcess(e)) {
                    return Optional.empty();
                }
                throw e;
            }
        }

        /** H2's "Database may be already in use" (error 90020). */
        private static boolean heldByAnotherProcess(Throwable e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof SQLException sql && sql.getErrorCode() == H2_DATABASE_ALREADY_OPEN) {
                    return true;
                }
            }
            return false;
        }

        private static String kind(AuditVerification.Problem p) {
            return p.kind().name().toLowerCase(Locale.ROOT).replace('_', ' ');
        }

        private static PublicKey readPublicKey(Path file) {
            try {
                return AuditKey.parsePublicKey(Files.readString(file));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the audit public key " + file + " (give --public-key)", e);
            }
        }
    }

    @Command(name = "anchor", mixinStandardHelpOptions = true,
            description = {"Print the newest signed digest as one line (fa1:<seq>:<digest hash>:<key id>:<signature>) "
                    + "to keep outside the factory (admin or auditor key).",
                    "Later, 'factory audit verify --anchor FILE' proves the chain still extends every anchor kept: "
                            + "a chain cut back or rewritten since fails, even by someone who could write the whole "
                            + "database."})
    static final class Anchor implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Override
        public Integer call() {
            AuditWire.Anchor anchor = client.client().get("/api/v1/audit/anchor", AuditWire.Anchor.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, anchor);
            } else {
                out.println(anchor.anchor());
                out.flush();
            }
            return 0;
        }
    }

    @Command(name = "query", mixinStandardHelpOptions = true,
            description = "Search the audit trail, newest first (admin or auditor key).")
    static final class Query implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Option(names = "--principal", description = "A principal's id or name.") @Nullable String principal;
        @Option(names = "--project", description = "Project.") @Nullable String project;
        @Option(names = "--action", description = "Action: the Cedar action a call performed (invoke, "
                + "deploy, manageKeys, …), egress.http for an outbound connection, or what docs/audit.md lists.")
        @Nullable String action;
        @Option(names = "--outcome", description = "success or failure.") @Nullable String outcome;
        @Option(names = "--from", description = "From this time (2026-11-25 or 2026-11-25T13:00:00Z).")
        @Nullable String from;
        @Option(names = "--to", description = "Before this time.") @Nullable String to;
        @Option(names = "--limit", description = "At most this many records (1 to 1000; default 100).")
        @Nullable Integer limit;

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

        private static void put(Map<String, String> params, String name, @Nullable String value) {
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
