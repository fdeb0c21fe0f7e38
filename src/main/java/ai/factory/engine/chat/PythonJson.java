package ai.factory.engine.chat;

import com.hubspot.jinjava.objects.SafeString;
import org.jspecify.annotations.Nullable;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * JSON text exactly as Python's {@code json.dumps} writes it, which is what Hugging Face's {@code tojson} filter
 * calls: {@code ", "} and {@code ": "} between items when compact, {@code ","} at line ends when indented, keys
 * in insertion order, floats in Python's {@code repr} form ({@code 1.0}, {@code 1e-05}). Templates put this text
 * straight into prompts, so a model trained on Python's spacing must see Python's spacing. Jinjava's own
 * {@code tojson} writes Jackson's compact form and ignores {@code indent}.
 */
final class PythonJson {
    /**
     * @param ensureAscii escape every non-ASCII character as {@code \\uXXXX}
     * @param indent spaces per level, or null for one line
     * @param itemSeparator between items; Python's default is {@code ", "}, or {@code ","} when indenting
     * @param keySeparator between a key and its value
     */
    record Options(boolean ensureAscii, @Nullable Integer indent, String itemSeparator, String keySeparator,
                   boolean sortKeys) {
        static Options huggingFace(@Nullable Integer indent) {
            return new Options(false, indent, indent == null ? ", " : ",", ": ", false);
        }
    }

    private final Options options;
    private final StringBuilder out = new StringBuilder();

    private PythonJson(Options options) {
        this.options = options;
    }

    static String dumps(Object value, Options options) {
        PythonJson json = new PythonJson(options);
        json.write(value, 0);
        return json.out.toString();
    }

    private void write(Object value, int depth) {
        if (depth > 200) {
            throw new IllegalArgumentException("tojson: value nested too deeply");
        }
        switch (value) {
            case null -> out.append("null");
            case Boolean b -> out.append(b ? "true" : "false");
            case Double d -> out.append(floatRepr(d));
            case Float f -> out.append(floatRepr(Double.parseDouble(Float.toString(f))));
            case BigDecimal d -> out.append(floatRepr(d.doubleValue()));
            case Number n -> out.append(n instanceof BigInteger ? n.toString() : Long.toString(n.longValue()));
            case CharSequence s -> string(s.toString());
            case SafeString s -> string(s.toString());
            case Character c -> string(c.toString());
            case Map<?, ?> map -> object(map, depth);
            case Map.Entry<?, ?> entry -> array(Arrays.asList(entry.getKey(), entry.getValue()), depth);
            case Collection<?> items -> array(items, depth);
            case Object[] items -> array(Arrays.asList(items), depth);
            default -> string(value.toString());
        }
    }

    private void object(Map<?, ?> map, int depth) {
        if (map.isEmpty()) {
            out.append("{}");
            return;
        }
        List<Map.Entry<?, ?>> entries = new ArrayList<>(map.entrySet());
        if (options.sortKeys()) {
            entries.sort(Comparator.comparing(e -> String.valueOf(e.getKey())));
        }
        out.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> entry : entries) {
            separate(first, depth + 1);
            first = false;
            string(String.valueOf(entry.getKey()));
            out.append(options.keySeparator());
            write(entry.getValue(), depth + 1);
        }
        close(depth);
        out.append('}');
    }

    private void array(Collection<?> items, int depth) {
        if (items.isEmpty()) {
            out.append("[]");
            return;
        }
        out.append('[');
        boolean first = true;
        for (Object item : items) {
            separate(first, depth + 1);
            first = false;
            write(item, depth + 1);
        }
        close(depth);
        out.append(']');
    }

    private void separate(boolean first, int depth) {
        if (!first) {
            out.append(options.itemSeparator());
        }
        if (options.indent() != null) {
            out.append('\n').repeat(' ', options.indent() * depth);
        }
    }

    private void close(int depth) {
        if (options.indent() != null) {
            out.append('\n').repeat(' ', options.indent() * depth);
        }
    }

    private void string(String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || (options.ensureAscii() && c > 0x7e)) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /** Python's {@code repr(float)}: the shortest digits that round-trip, positional from 1e-4 up to 1e16. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return 1 / d < 0 ? "-0.0" : "0.0";
        }
        // Double.toString gives the shortest round-tripping digits since JDK 19; only the layout differs.
        BigDecimal exact = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = exact.unscaledValue().toString();
        int point = digits.length() - exact.scale();
        int exponent = point - 1;
        StringBuilder repr = new StringBuilder(d < 0 ? "-" : "");
        if (exponent >= -4 && exponent < 16) {
            if (point <= 0) {
                repr.append("0.").repeat('0', -point).append(digits);
            } else if (point >= digits.length()) {
                repr.append(digits).repeat('0', point - digits.length()).append(".0");
            } else {
                repr.append(digits, 0, point).append('.').append(digits, point, digits.length());
            }
        } else {
            repr.append(digits.charAt(0));
            if (digits.length() > 1) {
                repr.append('.').append(digits, 1, digits.length());
            }
            repr.append('e').append(exponent < 0 ? '-' : '+');
            int magnitude = Math.abs(exponent);
            repr.append(magnitude < 10 ? "0" : "").append(magnitude);
        }
        return repr.toString();
    }
}
