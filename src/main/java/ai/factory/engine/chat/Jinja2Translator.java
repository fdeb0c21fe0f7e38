package ai.factory.engine.chat;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rewrites the Jinja2 constructs Jinjava cannot parse, or parses differently, into equivalents it reads as Jinja2
 * does, before Jinjava sees the template. A scanner that honours string literals and brackets finds each tag;
 * text outside tags and {@code raw} blocks are copied untouched but for the whitespace Jinja2 itself strips.
 *
 * <ul>
 *   <li>{@code lstrip_blocks} as Jinja2 applies it (see {@link #lstrip}).
 *   <li>Comments are removed here, with Jinja2's whitespace rules for {@code {#-}, {@code -#}} and
 *       {@code trim_blocks}; Jinjava's own handling strips too much around them.
 *   <li>Line endings become {@code \n} and one trailing newline is dropped, as Jinja2's lexer does with
 *       {@code keep_trailing_newline=False}; Jinjava instead strips a newline from the <em>output</em>, which
 *       would eat the {@code \n} that ends most generation prompts.
 *   <li>Expressions inside every tag go through {@link Jinja2Expressions} ({@code not} precedence, keyword
 *       arguments, {@code n+1}, slices).
 *   <li>{@code {% for x in seq if cond %}} (loop filters; Mistral skips a tool's "return" key this way) becomes
 *       a loop over {@code __factory_loop_filter(seq, n)}, which keeps the items for which filter {@code n}
 *       holds, so {@code loop.last} and {@code loop.index} count the kept items as Jinja2's do. Jinjava would
 *       ignore the filter.
 * </ul>
 */
final class Jinja2Translator {
    /** A {@code for} loop's filter: the loop's target names and the condition over them. */
    record LoopFilter(List<String> targets, String condition) {
        LoopFilter {
            targets = List.copyOf(targets);
            requireNonNull(condition, "condition is null");
        }
    }

    /** The template text Jinjava gets and the loop filters it refers to by index. */
    record Translation(String text, List<LoopFilter> loopFilters) {
        Translation {
            requireNonNull(text, "text is null");
            loopFilters = List.copyOf(loopFilters);
        }
    }

    static final String LOOP_FILTER_FUNCTION = "__factory_loop_filter";

    /**
     * What a comment becomes: an empty expression, so that Jinjava's whitespace control cannot strip through
     * where the comment was into the text before it, as it does with real comments.
     */
    private static final String COMMENT_BARRIER = "{{ '' }}";

    private static final Pattern TAG_BODY = Pattern.compile("^([-+]?\\s*)(.*?)(\\s*[-+]?)$", Pattern.DOTALL);
    private static final Pattern FOR_TAG = Pattern.compile("^for\\s(.*)$", Pattern.DOTALL);
    private static final Pattern RAW_TAG = Pattern.compile("^\\s*[-+]?\\s*raw\\s*[-+]?\\s*$");
    private static final Pattern END_RAW = Pattern.compile("\\{%[-+]?\\s*endraw\\s*[-+]?%}");

    private Jinja2Translator() {}

    static Translation translate(String source) {
        String text = source.replace("\r\n", "\n").replace('\r', '\n');
        if (text.endsWith("\n")) {
            text = text.substring(0, text.length() - 1);
        }
        List<LoopFilter> filters = new ArrayList<>();
        StringBuilder out = new StringBuilder(text.length() + 64);
        int i = 0;
        // Jinja2 lstrips a tag at the very start of a line; after a comment that ate its newline, that is here.
        boolean lineStarting = true;
        while (i < text.length()) {
            int open = nextOpening(text, i);
            if (open < 0) {
                out.append(text, i, text.length());
                break;
            }
            char kind = text.charAt(open + 1);
            char sign = open + 2 < text.length() ? text.charAt(open + 2) : ' ';
            String segment = text.substring(i, open);
            if (kind == '#') {
                int close = text.indexOf("#}", open + 2);
                if (close < 0) {
                    // Unterminated: leave it for Jinjava to report.
                    out.append(text, i, text.length());
                    break;
                }
                out.append(sign == '-' ? PythonStrings.strip(segment, null, false, true) : lstrip(segment, lineStarting, sign))
                        .append(COMMENT_BARRIER);
                i = afterComment(text, open, close);
                lineStarting = i > close + 2 && text.charAt(i - 1) == '\n';
                continue;
            }
            out.append(kind == '{' ? segment : lstrip(segment, lineStarting, sign));
            lineStarting = false;
            int close = closing(text, open + 2, kind == '{' ? "}}" : "%}");
            if (close < 0) {
                // Unterminated: leave it for Jinjava to report.
                out.append(text, open, text.length());
                break;
            }
            String body = text.substring(open + 2, close);
            if (kind == '%' && RAW_TAG.matcher(body).matches()) {
                Matcher end = END_RAW.matcher(text);
                int stop = end.find(close + 2) ? end.end() : text.length();
                out.append(text, open, stop);
                i = stop;
                continue;
            }
            out.append(text, open, open + 2).append(rewrite(body, kind == '%', filters)).append(text, close, close + 2);
            i = close + 2;
        }
        return new Translation(out.toString(), filters);
    }

    /**
     * Jinja2's {@code lstrip_blocks}: spaces and tabs between the start of a line and a block or comment tag are
     * dropped, unless the tag opens with {@code +}. Jinjava strips them before every tag, even mid-line, so this
     * is done here and Jinjava's own option stays off.
     */
    private static String lstrip(String segment, boolean lineStarting, char sign) {
        if (sign == '+') {
            return segment;
        }
        int lineStart = segment.lastIndexOf('\n') + 1;
        if ((lineStart == 0 && !lineStarting) || lineStart == segment.length()) {
            return segment;
        }
        for (int i = lineStart; i < segment.length(); i++) {
            if (!PythonStrings.isSpace(segment.charAt(i))) {
                return segment;
            }
        }
        return segment.substring(0, lineStart);
    }

    /**
     * Where text resumes after a comment: past all whitespace for {@code -#}}, past one newline otherwise
     * ({@code trim_blocks}), unless {@code +#}} keeps it.
     */
    private static int afterComment(String text, int open, int close) {
        int end = close + 2;
        char sign = close - 1 > open + 1 ? text.charAt(close - 1) : ' ';
        if (sign == '-') {
            while (end < text.length() && PythonStrings.isSpace(text.charAt(end))) {
                end++;
            }
        } else if (sign != '+' && end < text.length() && text.charAt(end) == '\n') {
            end++;
        }
        return end;
    }

    private static int nextOpening(String text, int from) {
        for (int i = text.indexOf('{', from); i >= 0 && i + 1 < text.length(); i = text.indexOf('{', i + 1)) {
            char next = text.charAt(i + 1);
            if (next == '{' || next == '%' || next == '#') {
                return i;
            }
        }
        return -1;
    }

    /** Where {@code closer} ends the tag that starts at {@code from}, skipping string literals and brackets. */
    private static int closing(String text, int from, String closer) {
        int depth = 0;
        for (int i = from; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Jinja2Expressions.isQuote(c)) {
                i = Jinja2Expressions.literalEnd(text, i);
            } else if (depth == 0 && text.startsWith(closer, i)) {
                return i;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
                depth--;
            }
        }
        return -1;
    }

    /** Rewrites one tag's inside, keeping its whitespace-control marks out of the expression. */
    private static String rewrite(String body, boolean statement, List<LoopFilter> filters) {
        Matcher parts = TAG_BODY.matcher(body);
        if (!parts.matches()) {
            return body;
        }
        String core = parts.group(2);
        boolean signature = statement
                && (Jinja2Expressions.isWordAt(core, 0, "macro") || Jinja2Expressions.isWordAt(core, 0, "call"));
        String rewritten = Jinja2Expressions.rewrite(core, !signature);
        if (statement) {
            rewritten = loopFilter(rewritten, filters);
        }
        return parts.group(1) + rewritten + parts.group(3);
    }

    private static String loopFilter(String body, List<LoopFilter> filters) {
        Matcher tag = FOR_TAG.matcher(body);
        if (!tag.matches()) {
            return body;
        }
        String clause = tag.group(1);
        int in = topLevelKeyword(clause, "in", 0);
        if (in < 0) {
            return body;
        }
        int condition = topLevelKeyword(clause, "if", in + 2);
        if (condition < 0) {
            return body;
        }
        String targets = clause.substring(0, in).strip();
        String sequence = clause.substring(in + 2, condition).strip();
        String test = clause.substring(condition + 2).strip();
        List<String> names = Arrays.stream(targets.replace("(", "").replace(")", "").split(","))
                .map(String::strip)
                .toList();
        filters.add(new LoopFilter(names, test));
        return "for " + targets + " in " + LOOP_FILTER_FUNCTION + "(" + sequence + ", " + (filters.size() - 1) + ")";
    }

    /** Where {@code keyword} stands as a word outside literals and brackets, at or after {@code from}. */
    private static int topLevelKeyword(String clause, String keyword, int from) {
        int depth = 0;
        for (int i = from; i < clause.length(); i++) {
            char c = clause.charAt(i);
            if (Jinja2Expressions.isQuote(c)) {
                i = Jinja2Expressions.literalEnd(clause, i);
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (depth == 0 && Jinja2Expressions.isWordAt(clause, i, keyword)) {
                return i;
            }
        }
        return -1;
    }
}
