package ai.factory.engine.grammar;

import static java.util.Objects.requireNonNull;

import ai.factory.engine.Grammar;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A GBNF grammar under construction (llama.cpp's grammar format: {@code name ::= body} rules, string literals,
 * character classes, repetition). Rules are added by name; adding the same body twice under one name returns the
 * name again, and a clash gets a numbered name, so pieces written independently (a tool's argument schema, the
 * call envelope around it) combine without colliding.
 *
 * <p>Not thread-safe: one builder per grammar.
 */
public final class Gbnf {
    private final Map<String, String> rules = new LinkedHashMap<>();
    /** Names handed out by {@link #reserve} whose bodies are not yet defined. */
    private final Set<String> pending = new HashSet<>();

    /**
     * A grammar whose output is any JSON object (OpenAI's {@code json_object} response format), with at most one
     * space between tokens and numbers of bounded length.
     */
    public static Grammar jsonObjectGrammar() {
        Gbnf gbnf = new Gbnf();
        gbnf.rule("root", JsonSchemaGrammar.anyObject(gbnf));
        return gbnf.grammar();
    }

    /**
     * A grammar whose output is a JSON value valid against {@code schema} (see {@link #jsonSchema} for what is
     * supported).
     *
     * @throws SchemaNotSupportedException naming the schema path and the keyword when the schema uses something
     *     a grammar cannot express
     */
    public static Grammar jsonSchemaGrammar(JsonNode schema) {
        Gbnf gbnf = new Gbnf();
        String value = gbnf.jsonSchema("root", schema);
        if (!value.equals("root")) {
            gbnf.rule("root", value);
        }
        return gbnf.grammar();
    }

    /**
     * Adds a rule and returns the name it got: {@code name} (made a valid rule name) when free or already holding
     * the same body, else {@code name} with a number.
     */
    public String rule(String name, String body) {
        requireNonNull(body, "body is null");
        String base = ruleName(name);
        String candidate = base;
        for (int i = 1; ; i++) {
            String existing = rules.get(candidate);
            if (pending.contains(candidate)) {
                candidate = base + "-" + i;
                continue;
            }
            if (existing == null) {
                rules.put(candidate, body);
                return candidate;
            }
            if (existing.equals(body)) {
                return candidate;
            }
            candidate = base + "-" + i;
        }
    }

    /**
     * Takes a name for a rule whose body comes later ({@link #define}): a recursive rule is referred to before it
     * is complete.
     */
    String reserve(String name) {
        String base = ruleName(name);
        String candidate = base;
        for (int i = 1; rules.containsKey(candidate) || pending.contains(candidate); i++) {
            candidate = base + "-" + i;
        }
        pending.add(candidate);
        rules.put(candidate, "");
        return candidate;
    }

    /** Gives a reserved rule its body. */
    void define(String name, String body) {
        requireNonNull(body, "body is null");
        if (!pending.remove(name)) {
            throw new IllegalStateException("rule " + name + " was not reserved");
        }
        rules.put(name, body);
    }

    /** Whether a rule of this name exists. */
    public boolean has(String name) {
        return rules.containsKey(name);
    }

    /**
     * Adds the rules that match a JSON value valid against {@code schema}, named from {@code name}, and returns
     * the rule to refer to.
     *
     * @throws SchemaNotSupportedException (INVALID_REQUEST) naming the schema path and the keyword when the schema
     *     uses something a grammar cannot express
     */
    public String jsonSchema(String name, JsonNode schema) {
        return JsonSchemaGrammar.addTo(this, name, schema);
    }

    /** The grammar text, with {@code root} as its start rule (which must have been added). */
    public String text() {
        if (!rules.containsKey("root")) {
            throw new IllegalStateException("the grammar has no root rule");
        }
        if (!pending.isEmpty()) {
            throw new IllegalStateException("rules reserved but never defined: " + pending);
        }
        StringBuilder out = new StringBuilder();
        rules.forEach((name, body) -> out.append(name).append(" ::= ").append(body).append('\n'));
        return out.toString();
    }

    /** The grammar, applied from the first token. */
    public Grammar grammar() {
        return Grammar.of(text());
    }

    /** The grammar, switched on by the first match of any of {@code triggers} (see {@link Grammar}). */
    public Grammar lazyGrammar(List<String> triggers) {
        return new Grammar(text(), triggers);
    }

    /** A GBNF string literal matching exactly {@code s}. */
    public static String literal(String s) {
        StringBuilder out = new StringBuilder("\"");
        s.codePoints().forEach(c -> {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        out.append(String.format("\\x%02X", c));
                    } else {
                        out.appendCodePoint(c);
                    }
                }
            }
        });
        return out.append('"').toString();
    }

    /** A valid GBNF rule name: letters, digits and dashes. */
    static String ruleName(String name) {
        String cleaned = name.replaceAll("[^A-Za-z0-9-]+", "-").replaceAll("-{2,}", "-");
        cleaned = cleaned.replaceAll("^-|-$", "");
        return cleaned.isEmpty() ? "r" : cleaned;
    }
}
