package ai.factory.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;

/** Every command's help, as {@code --help} prints it, without a server. */
class HelpTest {
    /** How a paragraph of help ends: a sentence's end, or a closing parenthesis or quote after one. */
    private static final Pattern ENDS_A_SENTENCE = Pattern.compile(".*[.:!?][)'\"]?$", Pattern.DOTALL);

    /**
     * picocli prints each element of a description on a line of its own, wrapping only within it: an element that
     * ends mid-sentence reads, on a terminal, as help that stops mid-sentence. So each element of a description of
     * more than one is whole sentences.
     */
    @Test
    void everyParagraphOfEveryHelpIsWholeSentences() {
        List<String> broken = new ArrayList<>();
        walk(FactoryCli.commandLine(FactoryCli.allNames()), cmd -> {
            CommandSpec spec = cmd.getCommandSpec();
            check(spec.qualifiedName(), spec.usageMessage().description(), broken);
            Stream.concat(spec.options().stream(), spec.positionalParameters().stream())
                    .forEach(arg -> check(spec.qualifiedName() + " " + name(arg), arg.description(), broken));
        });
        assertThat(broken).as("help paragraphs that end mid-sentence").isEmpty();
    }

    @Test
    void everyCommandPrintsItsHelp() {
        walk(FactoryCli.commandLine(FactoryCli.allNames()), cmd -> {
            List<String> args = new ArrayList<>(List.of(cmd.getCommandSpec().qualifiedName().split(" ")));
            args.removeFirst();
            args.add("--help");
            FactoryCliTest.Run help = FactoryCliTest.cli(args.toArray(String[]::new));
            assertThat(help.exit()).as("%s", args).isZero();
            assertThat(help.out()).as("%s", args).startsWith("Usage: ").doesNotContain("\u001b[");
        });
    }

    private static void check(String where, String[] description, List<String> broken) {
        if (description.length < 2) {
            return;
        }
        for (String paragraph : description) {
            // A row of a table, set out by its leading spaces, is laid out on purpose.
            if (paragraph.startsWith(" ")) {
                continue;
            }
            if (!ENDS_A_SENTENCE.matcher(paragraph.strip()).matches()) {
                broken.add(where + ": \"" + paragraph + "\"");
            }
        }
    }

    private static String name(ArgSpec arg) {
        return arg instanceof CommandLine.Model.OptionSpec o ? o.longestName() : arg.paramLabel();
    }

    /** Every command of the factory's own, picocli's {@code help} aside. */
    private static void walk(CommandLine cmd, java.util.function.Consumer<CommandLine> visit) {
        if (cmd.getCommandSpec().userObject() instanceof CommandLine.HelpCommand) {
            return;
        }
        visit.accept(cmd);
        cmd.getSubcommands().values().stream().distinct().forEach(sub -> walk(sub, visit));
    }
}
