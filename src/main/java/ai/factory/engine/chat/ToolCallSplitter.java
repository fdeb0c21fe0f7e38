package ai.factory.engine.chat;

import static java.util.Objects.requireNonNull;

import java.util.random.RandomGenerator;

/**
 * Separates a streamed reply's text from its tool calls as it arrives, so text reaches the client at once and
 * calls only when whole.
 *
 * <p>{@link #accept} returns what is content for sure: text before anything that is, or may become, a call
 * marker, less trailing whitespace (which the final content drops when a call follows). Once a marker has
 * begun, everything is held. {@link #finish} parses the whole reply and returns the content not yet handed out
 * and the calls. The invariant, which the tests check over random splits: the concatenation of every
 * {@code accept} result and {@code finish().content()} equals {@code format.parse(whole).content()}.
 *
 * <p>One per generation; not thread-safe.
 */
public final class ToolCallSplitter {
    private final ToolCallFormat format;
    private final RandomGenerator ids;
    private final StringBuilder text = new StringBuilder();
    private int emitted;
    private boolean finished;

    ToolCallSplitter(ToolCallFormat format, RandomGenerator ids) {
        this.format = requireNonNull(format, "format is null");
        this.ids = requireNonNull(ids, "ids is null");
    }

    /** Takes the next piece of generated text and returns the content that can be sent now (maybe empty). */
    public String accept(String delta) {
        requireNonNull(delta, "delta is null");
        if (finished) {
            throw new IllegalStateException("the splitter has finished");
        }
        text.append(delta);
        String whole = text.toString();
        int safe = format.possibleCallStart(whole);
        while (safe > emitted && Character.isWhitespace(whole.charAt(safe - 1))) {
            safe--;
        }
        if (safe <= emitted) {
            return "";
        }
        String out = whole.substring(emitted, safe);
        emitted = safe;
        return out;
    }

    /** Ends the generation: the content held back so far, and every call. */
    public ToolOutput finish() {
        if (finished) {
            throw new IllegalStateException("the splitter has finished");
        }
        finished = true;
        ToolOutput output = format.parse(text.toString(), ids);
        // The content handed out is a prefix of the parsed content by construction (see the class comment), and
        // the tests hold every format to it. Were a format to break it, the client has the text already; cutting
        // at the common prefix loses or repeats a little text rather than failing a finished generation.
        String content = output.content();
        int common = 0;
        while (common < emitted && common < content.length() && content.charAt(common) == text.charAt(common)) {
            common++;
        }
        return new ToolOutput(content.substring(common), output.calls());
    }
}
