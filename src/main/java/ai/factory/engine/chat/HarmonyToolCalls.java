package ai.factory.engine.chat;

import static ai.factory.engine.chat.ToolGrammars.literal;

import ai.factory.engine.Grammar;
import org.jspecify.annotations.Nullable;
import java.util.List;
import java.util.random.RandomGenerator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * gpt-oss (OpenAI's harmony format): a call is a message to the {@code commentary} channel addressed to the
 * function, {@code <|channel|>commentary to=functions.NAME <|constrain|>json<|message|>{...}<|call|>}, or with the
 * recipient first, {@code <|start|>assistant to=functions.NAME<|channel|>commentary json<|message|>{...}<|call|>},
 * as the template writes calls in history. One call per message: {@code <|call|>} ends the generation.
 *
 * <p>Only calls are taken out. The other harmony channels (the {@code analysis} reasoning, the {@code final}
 * answer) stay in the content with their tokens; separating them is a reasoning parser's job.
 */
record HarmonyToolCalls() implements ToolCallFormat {
    private static final String RECIPIENT = "to=functions.";
    /** Every way a call header can begin; a header starts with exactly one of these, which the splitter relies on. */
    private static final List<String> STARTS = List.of(
            "<|start|>assistant<|channel|>commentary " + RECIPIENT,
            "<|start|>assistant " + RECIPIENT,
            "<|channel|>commentary " + RECIPIENT,
            RECIPIENT);
    private static final Pattern HEADER = Pattern.compile(
            "(?:<\\|start\\|>assistant(?:<\\|channel\\|>commentary)? |<\\|channel\\|>commentary )?to=functions\\."
                    + "([A-Za-z0-9_-]{1,64})(?:<\\|channel\\|>commentary)?\\s*(?:<\\|constrain\\|>)?(?:json)?\\s*<\\|message\\|>");
    private static final String CALL = "<|call|>";

    @Override
    public String name() {
        return "harmony";
    }

    @Override
    public ToolOutput parse(String text, RandomGenerator ids) {
        ToolOutputBuilder output = new ToolOutputBuilder();
        Matcher header = HEADER.matcher(text);
        int position = 0;
        while (header.find(position)) {
            output.text(text.substring(position, header.start()));
            ToolJson.Scanned json = ToolJson.scan(text, header.end());
            String arguments = json == null ? null : ToolJson.objectText(json.value());
            if (json == null || arguments == null) {
                output.text(text.substring(header.start(), header.end()));
                position = header.end();
                continue;
            }
            output.calls(List.of(new ToolCall(ToolCallIds.openAi(ids), header.group(1), arguments)));
            int end = ToolJson.skipWhitespace(text, json.end());
            position = text.startsWith(CALL, end) ? end + CALL.length() : json.end();
        }
        return output.text(text.substring(position)).build();
    }

    @Override
    public int possibleCallStart(String text) {
        return STARTS.stream().mapToInt(start -> CallScanner.possibleStart(text, start)).min().orElseThrow();
    }

    /**
     * One call (harmony has no parallel calls): forced ones open the commentary channel themselves; Auto triggers
     * on the recipient, {@code to=functions.}, whichever way the header began.
     */
    @Override
    public @Nullable Grammar grammar(List<ToolSpec> tools, ToolChoice choice, boolean parallelCalls) {
        String prefix = choice instanceof ToolChoice.Auto ? literal(RECIPIENT) : literal("<|channel|>commentary " + RECIPIENT);
        return ToolGrammars.grammar(tools, choice, false, (gbnf, allowed) -> {
            // The model may name the recipient before or after the channel (see the class comment).
            String content = gbnf.rule("tool-call-content-type", literal(" <|constrain|>json<|message|>") + " | "
                    + literal("<|channel|>commentary json<|message|>") + " | "
                    + literal("<|channel|>commentary <|constrain|>json<|message|>"));
            return ToolGrammars.alternatives(gbnf, "tool-call", allowed, (tool, arguments) ->
                    literal(tool.name()) + " " + content + " " + arguments);
        }, literal(""), List.of(ToolGrammars.trigger(RECIPIENT)), prefix, null);
    }
}
