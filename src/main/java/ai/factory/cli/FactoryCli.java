package ai.factory.cli;

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
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            cmd.getErr().println("factory: " + message.lines().findFirst().orElse(message));
            return 1;
        });
        return cli.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = FactoryCli.class.getPackage().getImplementationVersion();
            return new String[] {"factory " + (v == null ? "dev" : v)};
        }
    }
}
