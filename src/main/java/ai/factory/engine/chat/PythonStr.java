package ai.factory.engine.chat;

import com.hubspot.jinjava.objects.SafeString;
import java.util.Arrays;
import java.util.Collection;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Python's {@code str()} and {@code repr()}, which Jinja2 uses to print a value: {@code {{ tools }}} shows
 * {@code [{'type': 'function', ...}]} and {@code {{ flag }}} shows {@code True}. Some templates print whole
 * dicts into the prompt (Apriel lists its tools that way), so the model must see Python's spelling, not
 * Jinjava's {@code {type=function}}.
 *
 * <p>A null prints as nothing at the top level: Jinjava resolves undefined variables to null too, and printing
 * an undefined variable gives nothing in Jinja2. Inside containers null can only be None, and prints so.
 */
final class PythonStr {
    private PythonStr() {}

    static String str(Object value) {
        return switch (value) {
            case null -> "";
            case String s -> s;
            case SafeString s -> s.toString();
            default -> repr(value);
        };
    }

    static String repr(Object value) {
        return switch (value) {
            case null -> "None";
            case Boolean b -> b ? "True" : "False";
            case Double d -> PythonJson.floatRepr(d);
            case Float f -> PythonJson.floatRepr(Double.parseDouble(Float.toString(f)));
            case CharSequence s -> quote(s.toString());
            case SafeString s -> quote(s.toString());
            case Map<?, ?> map -> {
                StringJoiner items = new StringJoiner(", ", "{", "}");
                map.forEach((key, item) -> items.add(repr(key) + ": " + repr(item)));
                yield items.toString();
            }
            case Map.Entry<?, ?> entry -> "(" + repr(entry.getKey()) + ", " + repr(entry.getValue()) + ")";
            case Collection<?> items -> sequence(items);
            case Object[] items -> sequence(Arrays.asList(items));
            default -> value.toString();
        };
    }

    private static String sequence(Collection<?> items) {
        StringJoiner joined = new StringJoiner(", ", "[", "]");
        items.forEach(item -> joined.add(repr(item)));
        return joined.toString();
    }

    /** Python's string repr: single quotes unless the text holds one and no double quote. */
    private static String quote(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder out = new StringBuilder(s.length() + 2).append(quote);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c == quote) {
                        out.append('\\').append(c);
                    } else if (c < 0x20 || c == 0x7f) {
                        out.append(String.format("\\x%02x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append(quote).toString();
    }
}
