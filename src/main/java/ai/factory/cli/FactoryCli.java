package ai.factory.cli;

import ai.factory.engine.llama.LlamaRuntime;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code factory} command line. Exit codes: 0 done, 1 failed (one line on stderr), 2 usage. */
@Command(name = "factory", mixinStandardHelpOptions = true, versionProvider = FactoryCli.Version.class,
        description = "Sovereign AI Factory: a private AI cloud on your own servers.",
        subcommands = {UpCommand.class, ModelsCommand.class, DeployCommand.class, DeploymentsCommand.class,
                ChatCommand.class, KeysCommand.class, ProjectsCommand.class, EncryptionCommand.class, PoliciesCommand.class,
                AuditCommand.class, UsageCommand.class, SovereigntyCommand.class, BenchCommand.class, FleetCommand.class,
                CommandLine.HelpCommand.class},
        footer = {"", "'./factory test' runs the test suite (no server needed)."})
public final class FactoryCli {
    /** SLF4J's simple logger's level for every logger not named in simplelogger.properties. */
    static final String DEFAULT_LOG_LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";

    /** The process's entry point: one command, then exit with its code. */
    public static void main(String[] args) {
        CommandLine cli = commandLine(new java.io.PrintWriter(System.out, true), new java.io.PrintWriter(System.err, true));
        cli.setExecutionStrategy(parsed -> {
            quietUnlessServing(parsed);
            return new CommandLine.RunLast().execute(parsed);
        });
        System.exit(cli.execute(args));
    }

    public static int run(String... args) {
        return run(new java.io.PrintWriter(System.out, true), new java.io.PrintWriter(System.err, true), args);
    }

    /** Runs one command with its output and errors going to the given writers. */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        return commandLine(out, err).execute(args);
    }

    /**
     * Only {@code factory up} logs the operator's events (start, ready, deployment states) at INFO. Every other
     * command prints its result on stdout and only warnings and errors on stderr, so that the INFO lines of the
     * database, Flyway or the factory's own classes, which offline commands such as {@code audit verify} use, never
     * mix into what it prints. Set before the first logger exists, since the simple logger reads its level once; a
     * level given on the java command line ({@code -Dorg.slf4j.simpleLogger.defaultLogLevel=info}) is kept.
     */
    private static void quietUnlessServing(CommandLine.ParseResult parsed) {
        boolean serving = parsed.subcommand() != null
                && parsed.subcommand().commandSpec().userObject() instanceof UpCommand;
        if (!serving && System.getProperty(DEFAULT_LOG_LEVEL) == null) {
            System.setProperty(DEFAULT_LOG_LEVEL, "warn");
        }
    }

    private static CommandLine commandLine(java.io.PrintWriter out, java.io.PrintWriter err) {
        CommandLine cli = new CommandLine(new FactoryCli()).setOut(out).setErr(err);
        everySubcommand(cli, sub -> sub.getCommandSpec().versionProvider(new Version()));
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            cmd.getErr().println("factory: " + message.lines().findFirst().orElse(message));
            return 1;
        });
        return cli;
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
