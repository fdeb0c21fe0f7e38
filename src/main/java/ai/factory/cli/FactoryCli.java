package ai.factory.cli;

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
    static final List<Class<?>> COMMANDS = List.of(UpCommand.class, ModelsCommand.class, DeployCommand.class,
            DeploymentsCommand.class, ChatCommand.class, KeysCommand.class, ProjectsCommand.class,
            EncryptionCommand.class, PoliciesCommand.class, AuditCommand.class, UsageCommand.class,
            SovereigntyCommand.class, BenchCommand.class, FleetCommand.class);

    /** Each command group's subcommands, which the group lists in its own SUBCOMMANDS (see {@link #commandLine}). */
    static final Map<Class<?>, List<Class<?>>> SUBCOMMANDS = Map.of(
            ModelsCommand.class, ModelsCommand.SUBCOMMANDS, DeploymentsCommand.class, DeploymentsCommand.SUBCOMMANDS,
            KeysCommand.class, KeysCommand.SUBCOMMANDS, ProjectsCommand.class, ProjectsCommand.SUBCOMMANDS,
            EncryptionCommand.class, EncryptionCommand.SUBCOMMANDS, PoliciesCommand.class, PoliciesCommand.SUBCOMMANDS,
            AuditCommand.class, AuditCommand.SUBCOMMANDS, SovereigntyCommand.class, SovereigntyCommand.SUBCOMMANDS,
            FleetCommand.class, FleetCommand.SUBCOMMANDS);

    static {
        // Else picocli's default factory looks for Groovy's closure class, and a class that is not there is looked for
        // in each of the 130 jars on the class path, which opens them all (about 100 ms on a 2-core machine).
        System.setProperty("picocli.disable.closures", "true");
    }

    public static void main(String[] args) {
        int status = run(args);
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
        CommandLine cli = commandLine(Arrays.asList(args)).setOut(out).setErr(err);
        cli.setExecutionStrategy(FactoryCli::execute);
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            cmd.getErr().println("factory: " + message.lines().findFirst().orElse(message));
            return 1;
        });
        return cli.execute(args);
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
        return cli.addSubcommand(new CommandLine.HelpCommand());
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

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = FactoryCli.class.getPackage().getImplementationVersion();
            return new String[] {"factory " + (v == null ? "dev" : v)};
        }
    }
}
