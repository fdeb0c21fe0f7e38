package ai.factory.models.synth;

import java.math.BigDecimal;
import java.util.Locale;

/** Parses parameter counts as model names write them: {@code 10M}, {@code 0.5B}, {@code 1B}, {@code 3B}. */
public final class ParameterCount {
    private ParameterCount() {}

    /** The count {@code text} names: a positive number with an optional K, M or B suffix. */
    public static long parse(String text) {
        String t = text.strip().toUpperCase(Locale.ROOT);
        long unit = switch (t.isEmpty() ? ' ' : t.charAt(t.length() - 1)) {
            case 'K' -> 1_000L;
            case 'M' -> 1_000_000L;
            case 'B' -> 1_000_000_000L;
            default -> 1L;
        };
        String number = unit == 1 ? t : t.substring(0, t.length() - 1);
        try {
            long count = new BigDecimal(number).multiply(BigDecimal.valueOf(unit)).longValueExact();
            if (count <= 0) {
                throw new NumberFormatException();
            }
            return count;
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("'%s' is not a parameter count; write e.g. 10M, 0.5B, 1B or 3B".formatted(text));
        }
    }

    /** {@code count} as a short label: 1.24B, 9.8M. */
    public static String format(long count) {
        if (count >= 1_000_000_000L) {
            return "%.2fB".formatted(count / 1e9);
        }
        if (count >= 1_000_000L) {
            return "%.1fM".formatted(count / 1e6);
        }
        return "%.1fK".formatted(count / 1e3);
    }
}
