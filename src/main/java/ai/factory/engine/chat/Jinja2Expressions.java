package ai.factory.engine.chat;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Rewrites inside one tag's expression text where Jinjava's expression grammar differs from Jinja2's. Each
 * rewrite scans the text once, skipping string literals and tracking brackets, and only adds parentheses or
 * swaps one construct for an equivalent, so an expression Jinjava already reads right is left as it is.
 *
 * <ul>
 *   <li>{@code not}: Jinja2 binds it looser than comparisons and tests, so {@code not x is defined} means
 *       {@code not (x is defined)}; Jinjava binds it like Java's {@code !}, making it {@code (not x) is defined},
 *       which is always true. Each unary {@code not} gets its operand parenthesised up to the next
 *       {@code and}, {@code or}, {@code if}, {@code else}, comma or closing bracket.
 *   <li>Keyword arguments: Jinjava reads {@code namespace(last=messages|length - 1)} as
 *       {@code (last=messages)|length - 1}; values that are more than a name or literal get parenthesised.
 *   <li>{@code n+1}: Jinjava fails to parse a {@code +} written against its right operand, so one space goes
 *       after every {@code +}.
 *   <li>Slices with a step ({@code messages[::-1]}, which Qwen 3 walks) or with a bound other than a name or
 *       number ({@code xs[:n+1]}) become {@code __factory_slice(xs, start, stop, step)}: Jinjava's slices take
 *       no step and only simple bounds.
 * </ul>
 */
final class Jinja2Expressions {
    static final String SLICE_FUNCTION = "__factory_slice";
    private static final Pattern SIMPLE_BOUND = Pattern.compile("\\s*-?[\\w.]*\\s*");
    private static final Pattern SIMPLE_VALUE = Pattern.compile("-?[\\w.]+|'[^'\\\\]*'|\"[^\"\\\\]*\"|\\[]|\\{}");

    private Jinja2Expressions() {}

    /** Applies every rewrite; {@code keywordArguments} is false for macro signatures, whose defaults Jinjava parses itself. */
    static String rewrite(String expression, boolean keywordArguments) {
        String rewritten = computedSlices(spaceAfterPlus(expression));
        rewritten = groupNot(rewritten);
        return keywordArguments ? parenthesiseKeywordArguments(rewritten) : rewritten;
    }

    static String spaceAfterPlus(String s) {
        if (!s.contains("+")) {
            return s;
        }
        StringBuilder out = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (isQuote(c)) {
                int end = literalEnd(s, i);
                out.append(s, i, end + 1);
                i = end;
                continue;
            }
            out.append(c);
            boolean exponent = i >= 2 && (s.charAt(i - 1) == 'e' || s.charAt(i - 1) == 'E')
                    && Character.isDigit(s.charAt(i - 2));
            if (c == '+' && !exponent && i + 1 < s.length() && !Character.isWhitespace(s.charAt(i + 1))) {
                out.append(' ');
            }
        }
        return out.toString();
    }

    static String computedSlices(String s) {
        if (s.indexOf(':') < 0 || s.indexOf('[') < 0) {
            return s;
        }
        boolean[] literal = literalMask(s);
        for (int open = s.indexOf('['); open >= 0; open = s.indexOf('[', open + 1)) {
            if (literal[open]) {
                continue;
            }
            int close = closingBracket(s, open, literal);
            if (close < 0) {
                continue;
            }
            List<String> bounds = topLevelParts(s, open + 1, close, literal);
            int start = primaryStart(s, open, literal);
            if (bounds.size() < 2 || bounds.size() > 3 || start == open
                    || (bounds.size() == 2 && bounds.stream().allMatch(b -> SIMPLE_BOUND.matcher(b).matches()))) {
                continue;
            }
            StringBuilder call = new StringBuilder(SLICE_FUNCTION).append('(').append(s, start, open);
            for (int i = 0; i < 3; i++) {
                call.append(", ").append(i < bounds.size() ? bound(bounds.get(i)) : "none");
            }
            call.append(')');
            return s.substring(0, start) + computedSlices(call + s.substring(close + 1));
        }
        return s;
    }

    private static String bound(String text) {
        return text.isBlank() ? "none" : "(" + text.strip() + ")";
    }

    private static boolean[] literalMask(String s) {
        boolean[] mask = new boolean[s.length()];
        for (int i = 0; i < s.length(); i++) {
            if (isQuote(s.charAt(i))) {
                int end = literalEnd(s, i);
                Arrays.fill(mask, i, end + 1, true);
                i = end;
            }
        }
        return mask;
    }

    private static int closingBracket(String s, int open, boolean[] literal) {
        int depth = 0;
        for (int i = open; i < s.length(); i++) {
            char c = s.charAt(i);
            if (literal[i]) {
                continue;
            }
            if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if ((c == ')' || c == ']' || c == '}') && --depth == 0) {
                return i;
            }
        }
        return -1;
    }

    /** The colon-separated parts of a subscript, or one part when it is an index rather than a slice. */
    private static List<String> topLevelParts(String s, int from, int to, boolean[] literal) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int partStart = from;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (literal[i]) {
                continue;
            }
            if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (c == ':' && depth == 0) {
                parts.add(s.substring(partStart, i));
                partStart = i + 1;
            }
        }
        parts.add(s.substring(partStart, to));
        return parts;
    }

    /** Where the operand being subscripted at {@code open} starts: a name, literal or call chain. */
    private static int primaryStart(String s, int open, boolean[] literal) {
        int i = open;
        while (i > 0) {
            char c = s.charAt(i - 1);
            if (literal[i - 1]) {
                while (i > 0 && literal[i - 1]) {
                    i--;
                }
            } else if (isNamePart(c) || c == '.') {
                i--;
            } else if (c == ')' || c == ']') {
                int depth = 0;
                int j = i - 1;
                for (; j >= 0; j--) {
                    char d = s.charAt(j);
                    if (literal[j]) {
                        continue;
                    }
                    if (d == ')' || d == ']' || d == '}') {
                        depth++;
                    } else if ((d == '(' || d == '[' || d == '{') && --depth == 0) {
                        break;
                    }
                }
                if (j < 0) {
                    return open;
                }
                i = j;
            } else {
                break;
            }
        }
        return i;
    }

    static String groupNot(String s) {
        int not = unaryNot(s);
        if (not < 0) {
            return s;
        }
        int start = not + 3;
        int end = operandEnd(s, start);
        String operand = s.substring(start, end);
        String inner = operand.strip();
        int trailing = operand.length() - operand.stripTrailing().length();
        return s.substring(0, not) + "not (" + groupNot(inner) + ")" + operand.substring(operand.length() - trailing)
                + groupNot(s.substring(end));
    }

    /** The first {@code not} that is a unary operator, rather than part of {@code is not} or {@code not in}. */
    private static int unaryNot(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (isQuote(c)) {
                i = literalEnd(s, i);
            } else if (isWordAt(s, i, "not")
                    && !nextWord(s, i + 3).equals("in")
                    && !previousWord(s, i).equals("is")) {
                return i;
            }
        }
        return -1;
    }

    /** Where the operand of a unary {@code not} starting at {@code from} ends. */
    private static int operandEnd(String s, int from) {
        int depth = 0;
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (isQuote(c)) {
                i = literalEnd(s, i);
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                if (depth == 0) {
                    return i;
                }
                depth--;
            } else if (depth == 0 && (c == ',' || isWordAt(s, i, "and") || isWordAt(s, i, "or")
                    || isWordAt(s, i, "if") || isWordAt(s, i, "else"))) {
                return i;
            }
        }
        return s.length();
    }

    static String parenthesiseKeywordArguments(String s) {
        if (!s.contains("=")) {
            return s;
        }
        StringBuilder out = new StringBuilder(s.length() + 16);
        Deque<Character> brackets = new ArrayDeque<>();
        boolean argumentStart = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (isQuote(c)) {
                int end = literalEnd(s, i);
                out.append(s, i, end + 1);
                i = end;
                argumentStart = false;
                continue;
            }
            if (argumentStart && isNameStart(c)) {
                int nameEnd = i;
                while (nameEnd < s.length() && isNamePart(s.charAt(nameEnd))) {
                    nameEnd++;
                }
                int equals = nameEnd;
                while (equals < s.length() && s.charAt(equals) == ' ') {
                    equals++;
                }
                if (equals + 1 < s.length() && s.charAt(equals) == '=' && s.charAt(equals + 1) != '=') {
                    int valueEnd = argumentEnd(s, equals + 1);
                    String value = s.substring(equals + 1, valueEnd);
                    out.append(s, i, equals + 1);
                    out.append(SIMPLE_VALUE.matcher(value.strip()).matches()
                            ? value : "(" + parenthesiseKeywordArguments(value) + ")");
                    i = valueEnd - 1;
                    argumentStart = false;
                    continue;
                }
            }
            out.append(c);
            if (c == '(' || c == '[' || c == '{') {
                brackets.push(c);
                argumentStart = c == '(';
            } else if (c == ')' || c == ']' || c == '}') {
                brackets.poll();
                argumentStart = false;
            } else if (c == ',') {
                argumentStart = brackets.peek() != null && brackets.peek() == '(';
            } else if (c != ' ') {
                argumentStart = false;
            }
        }
        return out.toString();
    }

    /** Where the call argument starting at {@code from} ends: the next comma or closing bracket at its depth. */
    private static int argumentEnd(String s, int from) {
        int depth = 0;
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (isQuote(c)) {
                i = literalEnd(s, i);
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                if (depth == 0) {
                    return i;
                }
                depth--;
            } else if (c == ',' && depth == 0) {
                return i;
            }
        }
        return s.length();
    }

    static boolean isQuote(char c) {
        return c == '\'' || c == '"';
    }

    /** The index of the quote that closes the literal opened at {@code start}, or the text's last index. */
    static int literalEnd(String s, int start) {
        char quote = s.charAt(start);
        for (int i = start + 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == quote) {
                return i;
            }
        }
        return s.length() - 1;
    }

    static boolean isWordAt(String s, int i, String word) {
        return s.startsWith(word, i)
                && (i == 0 || !isNamePart(s.charAt(i - 1)))
                && (i + word.length() == s.length() || !isNamePart(s.charAt(i + word.length())));
    }

    private static String nextWord(String s, int from) {
        int start = from;
        while (start < s.length() && Character.isWhitespace(s.charAt(start))) {
            start++;
        }
        int end = start;
        while (end < s.length() && isNamePart(s.charAt(end))) {
            end++;
        }
        return s.substring(start, end);
    }

    private static String previousWord(String s, int before) {
        int end = before;
        while (end > 0 && Character.isWhitespace(s.charAt(end - 1))) {
            end--;
        }
        int start = end;
        while (start > 0 && isNamePart(s.charAt(start - 1))) {
            start--;
        }
        return s.substring(start, end);
    }

    private static boolean isNameStart(char c) {
        return Character.isLetter(c) || c == '_';
    }

    static boolean isNamePart(char c) {
        return Character.isLetterOrDigit(c) || c == '_';
    }
}
