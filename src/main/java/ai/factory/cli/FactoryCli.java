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
    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        return run(new java.io.PrintWriter(System.out, true), new java.io.PrintWriter(System.err, true), args);
    }

    /** Runs one command with its output and errors going to the given writers. */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new FactoryCli()).setOut(out).setErr(err);
        everySubcommand(cli, sub -> sub.getCommandSpec().versionProvider(new Version()));
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            cmd.getErr().println("factory: " + message.lines().findFirst().orElse(message));
            return 1;
        });
        return cli.execute(args);
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
