package ai.factory.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.ServerTest;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * What keeps a command's start short without changing what it does: commands the arguments do not name stand in as
 * their name and description, a command's HTTP client ends with it, and {@code main} exits with the command's
 * status either way it ends. No factory is needed.
 */
@ServerTest
class CommandLineStartTest {
    @TempDir
    Path dir;


    private static FactoryCliTest.Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = FactoryCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new FactoryCliTest.Run(exit, out.toString(), err.toString());
    }

    @Test
    void theHelpWithStandInsIsTheHelpWithEveryCommandBuilt() {
        CommandLine all = FactoryCli.commandLine(FactoryCli.allNames());
        String built = all.getUsageMessage(CommandLine.Help.Ansi.OFF);

        assertThat(FactoryCli.commandLine(List.of()).getUsageMessage(CommandLine.Help.Ansi.OFF)).isEqualTo(built);
        assertThat(cli("--help").out()).isEqualTo(built);
        for (Class<?> type : FactoryCli.COMMANDS) {
            String name = type.getAnnotation(Command.class).name();
            assertThat(built).contains("  " + name + " ");
            CommandLine group = all.getSubcommands().get(name);
            String groupHelp = group.getUsageMessage(CommandLine.Help.Ansi.OFF);
            assertThat(FactoryCli.commandLine(List.of(name)).getSubcommands().get(name)
                    .getUsageMessage(CommandLine.Help.Ansi.OFF)).as(name).isEqualTo(groupHelp);
            assertThat(group.getSubcommands().keySet()).as(name).containsExactlyElementsOf(
                    FactoryCli.SUBCOMMANDS.getOrDefault(type, List.of()).stream()
                            .map(sub -> sub.getAnnotation(Command.class).name()).toList());
        }
    }

    @Test
    void onlyTheCommandsTheArgumentsNameAreBuilt() {
        CommandLine cli = FactoryCli.commandLine(List.of("models", "list", "--json"));

        CommandLine models = cli.getSubcommands().get("models");
        assertThat(models.getCommandSpec().options()).isNotEmpty();
        assertThat(models.getSubcommands()).containsKeys("list", "import", "plan");
        assertThat(models.getSubcommands().get("list").getCommandSpec().options()).isNotEmpty();
        assertThat(models.getSubcommands().get("import").getCommandSpec().options()).as("a stand-in").isEmpty();
        assertThat(cli.getSubcommands().get("keys").getSubcommands()).isEmpty();
        assertThat(cli.getSubcommands().get("keys").getCommandSpec().options()).as("a stand-in").isEmpty();
        assertThat(cli.getSubcommands()).containsKey("help");
    }

    @Test
    void aCommandNamedAnywhereIsBuiltForHelpAndUsageErrors() {
        FactoryCliTest.Run help = cli("help", "keys");
        assertThat(help.exit()).isZero();
        assertThat(help.out()).contains("Usage: factory keys", "create", "list", "revoke");

        FactoryCliTest.Run subHelp = cli("keys", "create", "--help");
        assertThat(subHelp.exit()).isZero();
        assertThat(subHelp.out()).contains("Usage: factory keys create", "--role");

        FactoryCliTest.Run missing = cli("keys", "revoke");
        assertThat(missing.exit()).isEqualTo(2);
        assertThat(missing.err()).contains("Missing required parameter");
    }

    @Test
    void aMisspelledCommandIsAUsageErrorThatSuggestsTheRightOne() {
        FactoryCliTest.Run run = cli("model", "list");

        assertThat(run.exit()).isEqualTo(2);
        assertThat(run.err()).contains("Unmatched argument", "Did you mean", "factory models");
    }

    @Test
    void aCommandEndsItsHttpClient() throws IOException {
        Set<Thread> before = selectorThreads();
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }

        FactoryCliTest.Run run = cli("models", "list", "--url", "http://127.0.0.1:" + port, "--key", "fk_test",
                "--home", dir.toString());

        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.err()).startsWith("factory: cannot reach the factory at http://127.0.0.1:" + port);
        await().atMost(30, TimeUnit.SECONDS).until(() -> before.containsAll(selectorThreads()));
    }

    /** The live selector threads of JDK HTTP clients in this JVM. */
    private static Set<Thread> selectorThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("HttpClient-") && t.getName().endsWith("SelectorManager"))
                .collect(Collectors.toSet());
    }

    @Test
    void mainExitsWithTheCommandsStatus() throws Exception {
        FactoryCliTest.Run version = process("--version");
        assertThat(version.exit()).as(version.err()).isZero();
        assertThat(version.out().strip()).startsWith("factory ");
        assertThat(version.err()).isEmpty();

        FactoryCliTest.Run usage = process("nosuch");
        assertThat(usage.exit()).isEqualTo(2);
        assertThat(usage.err()).contains("Unmatched argument");

        FactoryCliTest.Run failed = process("models", "list", "--url", "http://127.0.0.1:1", "--key", "fk_test",
                "--home", dir.toString());
        assertThat(failed.exit()).isEqualTo(1);
        assertThat(failed.err().strip()).startsWith("factory: cannot reach the factory").doesNotContain("\n");
    }

    /** Runs {@code FactoryCli.main} in a process of its own. */
    private FactoryCliTest.Run process(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-cp", System.getProperty("java.class.path"), FactoryCli.class.getName()));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "cli", ".out");
        Path err = Files.createTempFile(dir, "cli", ".err");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        p.getOutputStream().close();
        assertThat(p.waitFor(3, TimeUnit.MINUTES)).as("the command finished").isTrue();
        return new FactoryCliTest.Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }
}
