package ai.factory.engine.grammar;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A JSON Schema {@code pattern} as GBNF over the string's JSON text (what goes between the quotes, escapes
 * included): literals, escapes ({@code \d \w \s} and their negations, {@code \n \t \xHH \\uHHHH}, escaped
 * punctuation), classes and negated classes, {@code .}, groups ({@code (...)}, {@code (?:...)}, named),
 * alternation, the quantifiers {@code ? * + {m} {m,} {m,n}} (lazy ones too: same language), and {@code ^} /
 * {@code $} at the ends of the pattern or of its top-level alternatives. JSON Schema patterns match anywhere,
 * so an end without its anchor is open: any characters may come before or after.
 *
 * <p>Lookaround, backreferences, word boundaries, Unicode properties and inline flags have no grammar
 * equivalent and are refused. Negated classes and {@code .} never produce control characters (a subset of what
 * they match), which keeps the escapes a JSON string needs simple.
 */
final class RegexGrammar {
    private static final int MAX_CODE_POINT = 0x10FFFF;
    /** ECMAScript's white space and line terminators: {@code \s}. */
    private static final int[][] SPACE = {{0x09, 0x0D}, {0x20, 0x20}, {0xA0, 0xA0}, {0x1680, 0x1680},
            {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000},
            {0xFEFF, 0xFEFF}};
    private static final int[][] DIGIT = {{'0', '9'}};
    private static final int[][] WORD = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
    /** What {@code .} does not match, in ECMAScript and in Java (which adds U+0085). */
    private static final int[][] LINE_END = {{0x0A, 0x0A}, {0x0D, 0x0D}, {0x85, 0x85}, {0x2028, 0x2029}};

    private final Gbnf gbnf;
    private final String name;
    private final String anyChar;
    private final String path;
    private String pattern = "";
    private int pos;
    private int groups;

    /**
     * @param name the base of the rule names this adds
     * @param anyChar the rule for one character of a JSON string, for the open ends
     * @param path the JSON Pointer of the pattern keyword, for errors
     */
    RegexGrammar(Gbnf gbnf, String name, String anyChar, String path) {
        this.gbnf = gbnf;
        this.name = name;
        this.anyChar = anyChar;
        this.path = path;
    }

    /** The GBNF expression for the JSON text of the strings {@code regex} matches. */
    String convert(String regex) {
        pattern = regex;
        pos = 0;
        String result = alternation(0);
        if (pos < pattern.length()) {
            throw unsupported("has an unbalanced ')' at position " + pos);
        }
        return "(" + result + ")";
    }

    private String alternation(int depth) {
        List<String> sequences = new ArrayList<>();
        sequences.add(sequence(depth));
        while (pos < pattern.length() && pattern.charAt(pos) == '|') {
            pos++;
            sequences.add(sequence(depth));
        }
        return String.join(" | ", sequences);
    }

    private String sequence(int depth) {
        List<String> items = new ArrayList<>();
        boolean anchoredStart = false;
        boolean anchoredEnd = false;
        if (depth == 0 && pos < pattern.length() && pattern.charAt(pos) == '^') {
            pos++;
            anchoredStart = true;
        }
        while (pos < pattern.length() && pattern.charAt(pos) != '|' && pattern.charAt(pos) != ')') {
            char c = pattern.charAt(pos);
            if (c == '$') {
                if (depth == 0 && (pos + 1 == pattern.length() || pattern.charAt(pos + 1) == '|')) {
                    pos++;
                    anchoredEnd = true;
                    break;
                }
                throw unsupported("has '$' at position " + pos + "; anchors are supported only at the ends of the pattern");
            }
            if (c == '^') {
                throw unsupported("has '^' at position " + pos + "; anchors are supported only at the ends of the pattern");
            }
            items.add(quantified(atom(depth)));
        }
        if (depth == 0) {
            if (!anchoredStart) {
                items.addFirst(anyChar + "*");
            }
            if (!anchoredEnd) {
                items.add(anyChar + "*");
            }
        }
        return items.isEmpty() ? "\"\"" : String.join(" ", items);
    }

    private String atom(int depth) {
        int start = pos;
        int c = pattern.codePointAt(pos);
        pos += Character.charCount(c);
        switch (c) {
            case '(' -> {
                if (pattern.startsWith("?:", pos)) {
                    pos += 2;
                } else if (pattern.startsWith("?<", pos) && pos + 2 < pattern.length()
                        && Character.isLetter(pattern.charAt(pos + 2))) {
                    int close = pattern.indexOf('>', pos);
                    if (close < 0) {
                        throw unsupported("has an unterminated group name at position " + start);
                    }
                    pos = close + 1;
                } else if (pattern.startsWith("?", pos)) {
                    throw unsupported("uses lookaround or inline flags at position " + start
                            + " ((?=, (?!, (?<=, (?<!, (?i)...), which a grammar cannot express");
                }
                String inner = alternation(depth + 1);
                if (pos >= pattern.length() || pattern.charAt(pos) != ')') {
                    throw unsupported("has an unclosed '(' at position " + start);
                }
                pos++;
                return "(" + inner + ")";
            }
            case '[' -> {
                return emit(characterClass(start));
            }
            case '.' -> {
                return emit(complement(LINE_END));
            }
            case '\\' -> {
                Object escaped = escape(false);
                return escaped instanceof int[][] set ? emit(set) : literal((Integer) escaped);
            }
            case '*', '+', '?' -> throw unsupported("has nothing to repeat at position " + start);
            case '{' -> {
                if (quantifierAt(start)) {
                    throw unsupported("has nothing to repeat at position " + start);
                }
                return literal(c);
            }
            default -> {
                return literal(c);
            }
        }
    }

    private boolean quantifierAt(int at) {
        return pattern.substring(at).matches("(?s)\\{\\d+(,\\d*)?}.*");
    }

    private String quantified(String atom) {
        if (pos >= pattern.length()) {
            return atom;
        }
        char c = pattern.charAt(pos);
        String result;
        if (c == '*' || c == '+' || c == '?') {
            pos++;
            result = atom + c;
        } else if (c == '{' && quantifierAt(pos)) {
            int close = pattern.indexOf('}', pos);
            String[] bounds = pattern.substring(pos + 1, close).split(",", -1);
            pos = close + 1;
            int min = count(bounds[0]);
            int max = bounds.length == 1 ? min : bounds[1].isEmpty() ? -1 : count(bounds[1]);
            if (max >= 0 && max < min) {
                throw unsupported("has a quantifier {" + min + "," + max + "} whose maximum is below its minimum");
            }
            // A repeated group becomes a rule of its own: llama.cpp multiplies nested repetition counts.
            String item = simple(atom) ? atom : gbnf.rule(name + "-" + (++groups), atom);
            result = JsonSchemaGrammar.repeat(item, min, max);
            if (result.isEmpty()) {
                result = "\"\"";
            }
        } else {
            return atom;
        }
        if (pos < pattern.length() && pattern.charAt(pos) == '?') {
            pos++; // lazy: the same language
        }
        return result.contains(" ") && !result.startsWith("(") ? "(" + result + ")" : result;
    }

    private int count(String digits) {
        int value = Integer.parseInt(digits);
        if (value > JsonSchemaGrammar.MAX_BOUND) {
            throw unsupported("repeats more than " + JsonSchemaGrammar.MAX_BOUND + " times, which a grammar cannot express");
        }
        return value;
    }

    private static boolean simple(String atom) {
        return atom.matches("\\[[^\\]]*]|\"[^\"]*\"|[A-Za-z0-9-]+");
    }

    /** After a backslash: a set ({@code int[][]}) or a code point ({@code Integer}). */
    private Object escape(boolean inClass) {
        if (pos >= pattern.length()) {
            throw unsupported("ends with a lone backslash");
        }
        int at = pos - 1;
        int e = pattern.codePointAt(pos);
        pos += Character.charCount(e);
        return switch (e) {
            case 'd' -> DIGIT;
            case 'D' -> complement(DIGIT);
            case 'w' -> WORD;
            case 'W' -> complement(WORD);
            case 's' -> SPACE;
            case 'S' -> complement(SPACE);
            case 'n' -> (int) '\n';
            case 'r' -> (int) '\r';
            case 't' -> (int) '\t';
            case 'f' -> (int) '\f';
            case 'v' -> 0x0B;
            case '0' -> 0;
            case 'x' -> hex(2);
            case 'u' -> hex(4);
            case 'b' -> {
                if (inClass) {
                    yield 0x08;
                }
                throw unsupported("uses a word boundary (\\b) at position " + at + ", which a grammar cannot express");
            }
            case 'B' -> throw unsupported("uses a word boundary (\\B) at position " + at + ", which a grammar cannot express");
            case 'k', '1', '2', '3', '4', '5', '6', '7', '8', '9' ->
                    throw unsupported("uses a backreference at position " + at + ", which a grammar cannot express");
            case 'p', 'P' -> throw unsupported("uses a Unicode property (\\p) at position " + at + ", which is not supported");
            default -> {
                if (Character.isLetterOrDigit(e)) {
                    throw unsupported("uses the unknown escape \\" + Character.toString(e) + " at position " + at);
                }
                yield e;
            }
        };
    }

    private int hex(int digits) {
        if (pos + digits > pattern.length() || !pattern.substring(pos, pos + digits).matches("[0-9a-fA-F]+")) {
            throw unsupported("has a malformed hexadecimal escape at position " + (pos - 2));
        }
        int value = Integer.parseInt(pattern.substring(pos, pos + digits), 16);
        pos += digits;
        return value;
    }

    private int[][] characterClass(int start) {
        boolean negated = pos < pattern.length() && pattern.charAt(pos) == '^';
        if (negated) {
            pos++;
        }
        List<int[]> ranges = new ArrayList<>();
        while (true) {
            if (pos >= pattern.length()) {
                throw unsupported("has an unclosed '[' at position " + start);
            }
            int c = pattern.codePointAt(pos);
            if (c == ']') {
                pos++;
                break;
            }
            pos += Character.charCount(c);
            Object item = c == '\\' ? escape(true) : (Object) c;
            if (item instanceof int[][] set) {
                ranges.addAll(List.of(set));
                continue;
            }
            int lo = (Integer) item;
            int hi = lo;
            if (pos + 1 < pattern.length() && pattern.charAt(pos) == '-' && pattern.charAt(pos + 1) != ']') {
                pos++;
                int h = pattern.codePointAt(pos);
                pos += Character.charCount(h);
                Object end = h == '\\' ? escape(true) : (Object) h;
                if (!(end instanceof Integer endPoint) || endPoint < lo) {
                    throw unsupported("has an invalid range in the class at position " + start);
                }
                hi = endPoint;
            }
            ranges.add(new int[] {lo, hi});
        }
        int[][] set = normalize(ranges);
        return negated ? complement(set) : set;
    }

    private static int[][] normalize(List<int[]> ranges) {
        List<int[]> sorted = new ArrayList<>(ranges);
        sorted.sort(Comparator.comparingInt(r -> r[0]));
        List<int[]> merged = new ArrayList<>();
        for (int[] r : sorted) {
            if (!merged.isEmpty() && r[0] <= merged.getLast()[1] + 1) {
                merged.getLast()[1] = Math.max(merged.getLast()[1], r[1]);
            } else {
                merged.add(new int[] {r[0], r[1]});
            }
        }
        return merged.toArray(int[][]::new);
    }

    private static int[][] complement(int[][] set) {
        List<int[]> out = new ArrayList<>();
        int next = 0;
        for (int[] r : normalize(List.of(set))) {
            if (r[0] > next) {
                out.add(new int[] {next, r[0] - 1});
            }
            next = r[1] + 1;
        }
        if (next <= MAX_CODE_POINT) {
            out.add(new int[] {next, MAX_CODE_POINT});
        }
        // A complement never produces control characters or lone surrogates: a subset of what it matches.
        List<int[]> cleaned = new ArrayList<>();
        for (int[] r : out) {
            for (int[] piece : subtract(r, new int[][] {{0, 0x1F}, {0xD800, 0xDFFF}})) {
                cleaned.add(piece);
            }
        }
        return cleaned.toArray(int[][]::new);
    }

    private static List<int[]> subtract(int[] range, int[][] holes) {
        List<int[]> pieces = new ArrayList<>(List.of(new int[] {range[0], range[1]}));
        for (int[] hole : holes) {
            List<int[]> next = new ArrayList<>();
            for (int[] p : pieces) {
                if (hole[1] < p[0] || hole[0] > p[1]) {
                    next.add(p);
                    continue;
                }
                if (p[0] < hole[0]) {
                    next.add(new int[] {p[0], hole[0] - 1});
                }
                if (p[1] > hole[1]) {
                    next.add(new int[] {hole[1] + 1, p[1]});
                }
            }
            pieces = next;
        }
        return pieces;
    }

    /** A set as GBNF: plain characters in one class, those JSON escapes as escape literals. */
    private String emit(int[][] set) {
        List<String> alternatives = new ArrayList<>();
        StringBuilder plain = new StringBuilder();
        for (int[] r : set) {
            for (int[] piece : subtract(r, new int[][] {{0, 0x1F}, {'"', '"'}, {'\\', '\\'}, {0xD800, 0xDFFF}})) {
                plain.append(classChar(piece[0]));
                if (piece[1] > piece[0]) {
                    plain.append('-').append(classChar(piece[1]));
                }
            }
            for (int c = r[0]; c <= Math.min(r[1], 0x5C); c++) {
                if (c < 0x20 || c == '"' || c == '\\') {
                    alternatives.add(literal(c));
                }
            }
        }
        if (!plain.isEmpty()) {
            alternatives.addFirst("[" + plain + "]");
        }
        if (alternatives.isEmpty()) {
            throw unsupported("has a character class that matches nothing a grammar can write");
        }
        return alternatives.size() == 1 ? alternatives.getFirst() : "(" + String.join(" | ", alternatives) + ")";
    }

    /** The GBNF literal of one character as it is written inside a JSON string. */
    private static String literal(int c) {
        String json = switch (c) {
            case '"' -> "\\\"";
            case '\\' -> "\\\\";
            case '\n' -> "\\n";
            case '\r' -> "\\r";
            case '\t' -> "\\t";
            case '\b' -> "\\b";
            case '\f' -> "\\f";
            default -> c < 0x20 ? "\\u%04x".formatted(c) : Character.toString(c);
        };
        return Gbnf.literal(json);
    }

    /** One code point inside a GBNF character class: letters and digits as they are, anything else escaped. */
    static String classChar(int cp) {
        if (cp < 0x80 && Character.isLetterOrDigit(cp)) {
            return Character.toString(cp);
        }
        if (cp <= 0xFF) {
            return "\\x%02X".formatted(cp);
        }
        return cp <= 0xFFFF ? "\\u%04X".formatted(cp) : "\\U%08X".formatted(cp);
    }

    private SchemaNotSupportedException unsupported(String detail) {
        return JsonSchemaGrammar.unsupported(path, "pattern", detail);
    }
}
