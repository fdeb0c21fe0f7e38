package ai.factory.engine.chat;

import org.jspecify.annotations.Nullable;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.StringJoiner;

/**
 * Python's {@code str} methods, which templates call on message text ({@code content.strip()},
 * {@code content.split('</think>')[-1]}, {@code role.startswith('tool')}). Jinjava only offers Java's
 * {@code String} methods, whose names and semantics differ ({@code startsWith}, regex {@code split}).
 */
final class PythonStrings {
    private PythonStrings() {}

    /** Calls the method named {@code method} on {@code s}, or returns empty when Python's str has no such method. */
    static Optional<Object> invoke(String s, String method, Object[] args) {
        Object result = switch (method) {
            case "strip" -> strip(s, arg(args, 0), true, true);
            case "lstrip" -> strip(s, arg(args, 0), true, false);
            case "rstrip" -> strip(s, arg(args, 0), false, true);
            case "startswith" -> affix(s, arg(args, 0), true);
            case "endswith" -> affix(s, arg(args, 0), false);
            case "split" -> split(s, arg(args, 0), maxSplit(arg(args, 1)));
            case "rsplit" -> rsplit(s, arg(args, 0), maxSplit(arg(args, 1)));
            case "splitlines" -> new ArrayList<>(s.lines().toList());
            case "upper" -> s.toUpperCase(java.util.Locale.ROOT);
            case "lower" -> s.toLowerCase(java.util.Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s
                    : s.substring(0, 1).toUpperCase(java.util.Locale.ROOT) + s.substring(1).toLowerCase(java.util.Locale.ROOT);
            case "replace" -> replace(s, text(arg(args, 0)), text(arg(args, 1)), maxSplit(arg(args, 2)));
            case "find" -> (long) s.indexOf(text(arg(args, 0)));
            case "rfind" -> (long) s.lastIndexOf(text(arg(args, 0)));
            case "count" -> count(s, text(arg(args, 0)));
            case "join" -> join(s, arg(args, 0));
            case "format" -> format(s, args == null ? new Object[0] : args);
            case "isspace" -> !s.isEmpty() && s.chars().allMatch(PythonStrings::isSpace);
            case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "isalnum" -> !s.isEmpty() && s.chars().allMatch(Character::isLetterOrDigit);
            case "islower" -> s.chars().anyMatch(Character::isLetter) && s.equals(s.toLowerCase(java.util.Locale.ROOT));
            case "isupper" -> s.chars().anyMatch(Character::isLetter) && s.equals(s.toUpperCase(java.util.Locale.ROOT));
            default -> null;
        };
        return Optional.ofNullable(result);
    }

    static String strip(String s, @Nullable Object chars, boolean left, boolean right) {
        String set = chars == null ? null : chars.toString();
        int start = 0;
        int end = s.length();
        while (left && start < end && strippable(s.charAt(start), set)) {
            start++;
        }
        while (right && end > start && strippable(s.charAt(end - 1), set)) {
            end--;
        }
        return s.substring(start, end);
    }

    private static boolean strippable(char c, @Nullable String set) {
        return set == null ? isSpace(c) : set.indexOf(c) >= 0;
    }

    /** Python's {@code str.isspace} for one character: Java's whitespace plus the no-break spaces. */
    static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85;
    }

    private static boolean affix(String s, @Nullable Object affix, boolean prefix) {
        if (affix instanceof Collection<?> options) {
            return options.stream().anyMatch(option -> affix(s, option, prefix));
        }
        String text = text(affix);
        return prefix ? s.startsWith(text) : s.endsWith(text);
    }

    private static List<String> split(String s, @Nullable Object separator, int maxSplit) {
        List<String> parts = new ArrayList<>();
        if (separator == null) {
            int i = 0;
            while (true) {
                while (i < s.length() && isSpace(s.charAt(i))) {
                    i++;
                }
                if (i == s.length()) {
                    return parts;
                }
                if (maxSplit >= 0 && parts.size() == maxSplit) {
                    parts.add(s.substring(i));
                    return parts;
                }
                int end = i;
                while (end < s.length() && !isSpace(s.charAt(end))) {
                    end++;
                }
                parts.add(s.substring(i, end));
                i = end;
            }
        }
        String sep = nonEmpty(text(separator));
        int from = 0;
        for (int at = s.indexOf(sep); at >= 0 && (maxSplit < 0 || parts.size() < maxSplit); at = s.indexOf(sep, from)) {
            parts.add(s.substring(from, at));
            from = at + sep.length();
        }
        parts.add(s.substring(from));
        return parts;
    }

    private static List<String> rsplit(String s, @Nullable Object separator, int maxSplit) {
        if (maxSplit < 0) {
            return split(s, separator, -1);
        }
        List<String> parts = new ArrayList<>();
        if (separator == null) {
            // Splitting the reversed text from the left is splitting the text from the right.
            for (String part : split(reverse(s), null, maxSplit)) {
                parts.addFirst(reverse(part));
            }
            return parts;
        }
        String sep = nonEmpty(text(separator));
        int to = s.length();
        for (int at = s.lastIndexOf(sep, to - sep.length()); at >= 0 && parts.size() < maxSplit;
                at = s.lastIndexOf(sep, to - sep.length())) {
            parts.addFirst(s.substring(at + sep.length(), to));
            to = at;
        }
        parts.addFirst(s.substring(0, to));
        return parts;
    }

    private static String reverse(String s) {
        return new StringBuilder(s).reverse().toString();
    }

    private static String title(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean cased = Character.isUpperCase(c) || Character.isLowerCase(c) || Character.isTitleCase(c);
            out.append(cased ? (previousCased ? Character.toLowerCase(c) : Character.toTitleCase(c)) : c);
            previousCased = cased;
        }
        return out.toString();
    }

    private static String replace(String s, String old, String replacement, int count) {
        if (count < 0) {
            return s.replace(old, replacement);
        }
        StringBuilder out = new StringBuilder();
        int from = 0;
        for (int n = 0; n < count; n++) {
            int at = s.indexOf(old, from);
            if (at < 0 || (old.isEmpty() && at >= s.length())) {
                break;
            }
            out.append(s, from, at).append(replacement);
            if (old.isEmpty()) {
                out.append(s.charAt(at));
                from = at + 1;
            } else {
                from = at + old.length();
            }
        }
        return out.append(s.substring(from)).toString();
    }

    private static long count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.length() + 1L;
        }
        long n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        return n;
    }

    private static String join(String separator, @Nullable Object items) {
        StringJoiner joined = new StringJoiner(separator);
        if (items instanceof Iterable<?> iterable) {
            iterable.forEach(item -> joined.add(String.valueOf(item)));
        } else if (items != null) {
            items.toString().chars().forEach(c -> joined.add(Character.toString(c)));
        }
        return joined.toString();
    }

    /** {@code str.format} with positional fields ({@code {}}, {@code {0}}); format specs are ignored. */
    private static String format(String template, Object[] args) {
        StringBuilder out = new StringBuilder(template.length() + 32);
        int next = 0;
        for (int i = 0; i < template.length(); i++) {
            char c = template.charAt(i);
            if ((c == '{' || c == '}') && i + 1 < template.length() && template.charAt(i + 1) == c) {
                out.append(c);
                i++;
            } else if (c == '{') {
                int close = template.indexOf('}', i);
                if (close < 0) {
                    throw new IllegalArgumentException("single '{' encountered in format string");
                }
                String field = template.substring(i + 1, close);
                int colon = field.indexOf(':');
                String name = colon < 0 ? field : field.substring(0, colon);
                int index = name.isEmpty() ? next++ : Integer.parseInt(name);
                if (index >= args.length) {
                    throw new IllegalArgumentException("format: missing argument " + index);
                }
                out.append(PythonStr.str(args[index]));
                i = close;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static @Nullable Object arg(Object[] args, int index) {
        return args != null && index < args.length ? args[index] : null;
    }

    private static String text(@Nullable Object value) {
        if (value == null) {
            throw new IllegalArgumentException("expected a string argument, got None");
        }
        return value.toString();
    }

    private static String nonEmpty(String separator) {
        if (separator.isEmpty()) {
            throw new IllegalArgumentException("empty separator");
        }
        return separator;
    }

    private static int maxSplit(@Nullable Object value) {
        return value instanceof Number n ? n.intValue() : -1;
    }
}
