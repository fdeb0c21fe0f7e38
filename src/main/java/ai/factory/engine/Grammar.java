package ai.factory.engine;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * A constraint on what a generation may produce: a GBNF grammar (llama.cpp's grammar format) that every sampled
 * token must keep the output inside.
 *
 * <p>A lazy grammar ({@code triggers} not empty) lets the model write freely until the output matches one of the
 * trigger patterns (regular expressions matched from the start of the output, as llama.cpp's
 * {@code llama_sampler_init_grammar_lazy_patterns} takes them); from the first match group on, the grammar
 * applies. That is how "either text or a tool call" is expressed: text is free, and a call, once begun, must be
 * well formed.
 *
 * @param gbnf the grammar's rules, with a {@code root} rule
 * @param triggers regular expressions that switch a lazy grammar on; empty for a grammar that applies from the
 *     first token
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
