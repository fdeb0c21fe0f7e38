package ai.factory.engine;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * A constraint on what a generation may produce: a GBNF grammar (llama.cpp's grammar format) that every sampled
 * token must keep the output inside.
 *
 * <p>A lazy grammar ({@code triggers} not empty) lets the model write freely until it writes one of the trigger
 * words as a single token of its vocabulary (a tool-call marker such as {@code <tool_call>} or {@code [TOOL_CALLS]},
 * which models with tool support have as special tokens); from that token on, which the grammar's {@code root}
 * must begin with, the grammar applies. That is how "either text or a tool call" is expressed: text is free, and a
 * call, once begun, must be well formed.
 *
 * <p>Why words and single tokens, not llama.cpp's trigger patterns: a pattern matched over free text hands
 * llama.cpp whatever the triggering token wrote after the match, and text the grammar cannot accept there makes
 * llama.cpp throw through its C API, which ends the process. A trigger token hands it exactly the marker. Where a
 * word is not one token of the model's vocabulary, the engine cannot trigger on it; a lazy grammar left with no
 * trigger constrains nothing, and the output is parsed as it comes.
 *
 * @param gbnf the grammar's rules, with a {@code root} rule
 * @param triggers words that switch a lazy grammar on; empty for a grammar that applies from the first token
 */
public record Grammar(String gbnf, List<String> triggers) {
    public Grammar {
        requireNonNull(gbnf, "gbnf is null");
        triggers = List.copyOf(requireNonNull(triggers, "triggers is null"));
        if (gbnf.isBlank()) {
            throw new IllegalArgumentException("the grammar is empty");
        }
    }

    /** A grammar that applies from the first token. */
    public static Grammar of(String gbnf) {
        return new Grammar(gbnf, List.of());
    }

    public boolean lazy() {
        return !triggers.isEmpty();
    }
}
