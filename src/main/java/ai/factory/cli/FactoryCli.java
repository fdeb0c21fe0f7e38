package ai.factory.cli;

import ai.factory.BuildInfo;
import ai.factory.engine.llama.LlamaRuntime;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParseResult;

/** The {@code factory} command line. Exit codes: 0 done, 1 failed (one line on stderr), 2 usage. */
@Command(name = "factory", mixinStandardHelpOptions = true, versionProvider = FactoryCli.Version.class,
        description = "Sovereign AI Factory: a private AI cloud on your own servers.",
        footer = {"", "'./factory test' runs the test suite (no server needed)."})
public final class FactoryCli {
    /** The commands, in the order help lists them ({@code help} follows them). */
    static final List<Class<?>> COMMANDS = List.of(UpCommand.class, ModelsCommand.class, DatasetsCommand.class,
            TuneCommand.class, DeployCommand.class,
            DeploymentsCommand.class, ChatCommand.class, KeysCommand.class, ProjectsCommand.class,
            EncryptionCommand.class, PoliciesCommand.class, AuditCommand.class, UsageCommand.class,
            QuotasCommand.class, SovereigntyCommand.class, BenchCommand.class, FleetCommand.class, NodesCommand.class, WorkerCommand.class,
            BundleCommand.class, LoginCommand.class, LogoutCommand.class, VersionCommand.class);

    /** Each command group's subcommands, which the group lists in its own SUBCOMMANDS (see {@link #commandLine}). */
    static final Map<Class<?>, List<Class<?>>> SUBCOMMANDS = Map.ofEntries(
            Map.entry(ModelsCommand.class, ModelsCommand.SUBCOMMANDS),
            Map.entry(DatasetsCommand.class, DatasetsCommand.SUBCOMMANDS),
            Map.entry(TuneCommand.class, TuneCommand.SUBCOMMANDS),
            Map.entry(DeploymentsCommand.class, DeploymentsCommand.SUBCOMMANDS),
            Map.entry(KeysCommand.class, KeysCommand.SUBCOMMANDS),
            Map.entry(ProjectsCommand.class, ProjectsCommand.SUBCOMMANDS),
            Map.entry(EncryptionCommand.class, EncryptionCommand.SUBCOMMANDS),
            Map.entry(PoliciesCommand.class, PoliciesCommand.SUBCOMMANDS),
            Map.entry(AuditCommand.class, AuditCommand.SUBCOMMANDS),
            Map.entry(QuotasCommand.class, QuotasCommand.SUBCOMMANDS),
            Map.entry(UsageCommand.class, UsageCommand.SUBCOMMANDS),
            Map.entry(SovereigntyCommand.class, SovereigntyCommand.SUBCOMMANDS),
            Map.entry(BundleCommand.class, BundleCommand.SUBCOMMANDS),
            Map.entry(FleetCommand.class, FleetCommand.SUBCOMMANDS),
            Map.entry(NodesCommand.class, NodesCommand.SUBCOMMANDS),
            Map.entry(NodesCommand.Token.class, NodesCommand.Token.SUBCOMMANDS));

    static {
        // Else picocli's default factory looks for Groovy's closure class, and a class that is not there is looked for
        // in each of the 130 jars on the class path, which opens them all (about 100 ms on a 2-core machine).
        System.setProperty("picocli.disable.closures", "true");
    }

    /** SLF4J's simple logger's level for every logger not named in simplelogger.properties. */
    static final String DEFAULT_LOG_LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";

    /** The process's entry point: one command, then its exit code. */
    public static void main(String[] args) {
        int status = run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), true, args);
        if (status != 0 || !othersAreDaemons()) {
            System.exit(status);
        }
        // Returning ends the JVM as System.exit(0) does, shutdown hooks and all, without the logging of
        // Runtime.exit: its System.Logger looks for a logging backend in every jar on the class path.
    }

    /** True when no thread but this one keeps the JVM alive once {@code main} returns. */
    private static boolean othersAreDaemons() {
        return Thread.getAllStackTraces().keySet().stream()
                .allMatch(t -> t == Thread.currentThread() || t.isDaemon() || !t.isAlive());
    }

    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** Runs one command with its output and errors going to the given writers. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        return run(out, err, false, args);
    }

    /**
     * With {@code quiet} (the process's own command line, not a test running commands in-process), a command other
     * than {@code up} logs only warnings and errors ({@link #quietUnlessServing}).
     */
    private static int run(PrintWriter out, PrintWriter err, boolean quiet, String... args) {
        CommandLine cli = commandLine(Arrays.asList(args)).setOut(out).setErr(err);
        cli.setExecutionStrategy(parsed -> {
            if (quiet) {
                quietUnlessServing(parsed);
            }
            return execute(parsed);
        });
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            cmd.getErr().println("factory: " + message.lines().findFirst().orElse(message));
            return 1;
        });
        return cli.execute(args);
    }

    /**
     * Only {@code factory up} (and {@code factory worker}) logs the operator's events (start, ready, deployment states) at INFO. Every other
     * command prints its result on stdout and only warnings and errors on stderr, so that the INFO lines of the
     * database, Flyway or the factory's own classes, which offline commands such as {@code audit verify} use, never
     * mix into what it prints. Set before the first logger exists, since the simple logger reads its level once; a
     * level given on the java command line ({@code -Dorg.slf4j.simpleLogger.defaultLogLevel=info}) is kept.
     */
    private static void quietUnlessServing(ParseResult parsed) {
        boolean serving = parsed.subcommand() != null
                && (parsed.subcommand().commandSpec().userObject() instanceof UpCommand
                        || parsed.subcommand().commandSpec().userObject() instanceof WorkerCommand);
        if (!serving && System.getProperty(DEFAULT_LOG_LEVEL) == null) {
            System.setProperty(DEFAULT_LOG_LEVEL, "warn");
        }
    }

    /** Runs the command, then ends the clients it made (see {@link FactoryClient}). */
    private static int execute(ParseResult parsed) {
        try {
            return new CommandLine.RunLast().execute(parsed);
        } finally {
            for (CommandLine command : parsed.asCommandLineList()) {
                for (CommandSpec mixin : command.getCommandSpec().mixins().values()) {
                    if (mixin.userObject() instanceof ClientOptions client) {
                        client.close();
                    }
                }
            }
        }
    }

    /**
     * The command line for arguments holding {@code words}. Picocli reads every option of a command by reflection
     * when the command is added, which is most of what it costs a start; so only the commands whose names appear
     * among the words are built, at every level. The others stand in as their name and description, all that help
     * and picocli's "did you mean" read of them, and picocli never picks one: it picks a command only by a word that
     * names it. (This is why the commands declare their subcommands in {@link #SUBCOMMANDS}, not in their
     * annotations, from which picocli would build them all.)
     */
    static CommandLine commandLine(Collection<String> words) {
        CommandLine cli = new CommandLine(new FactoryCli());
        add(cli, COMMANDS, words);
        cli.addSubcommand(new CommandLine.HelpCommand());
        everySubcommand(cli, sub -> sub.getCommandSpec().versionProvider(new Version()));
        return cli;
    }

    private static void add(CommandLine parent, List<Class<?>> types, Collection<String> words) {
        for (Class<?> type : types) {
            Command command = type.getAnnotation(Command.class);
            CommandLine child;
            if (words.contains(command.name())) {
                child = new CommandLine(type);
                add(child, SUBCOMMANDS.getOrDefault(type, List.of()), words);
            } else {
                child = new CommandLine(standIn(command));
            }
            parent.addSubcommand(command.name(), child);
        }
    }

    /** Every command's name, at every level: with these as its words, {@link #commandLine} builds them all. */
    static Set<String> allNames() {
        Set<String> names = new TreeSet<>();
        Stream.concat(COMMANDS.stream(), SUBCOMMANDS.values().stream().flatMap(List::stream))
                .forEach(type -> names.add(type.getAnnotation(Command.class).name()));
        return names;
    }

    private static CommandSpec standIn(Command command) {
        CommandSpec spec = CommandSpec.create().name(command.name()).aliases(command.aliases());
        spec.usageMessage().description(command.description()).header(command.header()).hidden(command.hidden());
        return spec;
    }

    /** So that every command's {@code -V}, which {@code mixinStandardHelpOptions} gives it, prints the version. */
    private static void everySubcommand(CommandLine cmd, java.util.function.Consumer<CommandLine> action) {
        for (CommandLine sub : cmd.getSubcommands().values()) {
            action.accept(sub);
            everySubcommand(sub, action);
        }
    }

    /**
     * {@code -V}: the factory's version and commit, the llama.cpp natives it would load (found on disk, not loaded, so
     * this stays quick) and the Java runtime; what a bug report needs.
     */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            BuildInfo build = BuildInfo.load();
            String pinned = build.llamaNatives().map(v -> "the pinned natives are node-llama-cpp " + v)
                    .orElse("the pinned natives' version is unknown");
            String llama = LlamaRuntime.onDisk()
                    .map(n -> "llama.cpp " + n.version().orElse("(version not in its file name)") + " from "
                            + n.library().getParent() + "; " + pinned)
                    .orElse("llama.cpp: no natives found (" + LlamaRuntime.LIB_DIR_ENV + " and -D"
                            + LlamaRuntime.LIB_DIR_PROPERTY + " name none, or no libllama there); " + pinned
                            + ", which ./factory fetches");
            return new String[] {build.factoryLine(), llama,
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vendor", "unknown vendor") + ")"};
        }
    }
}
