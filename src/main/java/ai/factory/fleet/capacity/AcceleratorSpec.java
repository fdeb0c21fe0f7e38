package ai.factory.fleet.capacity;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A group of identical accelerators a plan may use, written {@code KIND:MEMORY×COUNT}, e.g. {@code nvidia:80GiB×8}
 * ({@code x} or {@code *} for {@code ×}; the count defaults to 1), or {@code cpu} for none.
 */
public record AcceleratorSpec(String kind, long memoryBytes, int count) {
    private static final Pattern SPEC = Pattern.compile(
            "(?i)([a-z][a-z0-9_-]*):(\\d+(?:\\.\\d+)?)\\s*(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)?(?:\\s*[x×*]\\s*(\\d+))?");

    public AcceleratorSpec {
        if (kind == null || kind.isBlank()) {
            throw new IllegalArgumentException("accelerator kind is empty");
        }
        if (memoryBytes <= 0) {
            throw new IllegalArgumentException("accelerator memory must be positive: " + memoryBytes);
        }
        if (count < 1) {
            throw new IllegalArgumentException("accelerator count must be at least 1: " + count);
        }
    }

    /** The spec as written, e.g. {@code nvidia:80GiB×8}; {@code cpu} is not a spec and is rejected here. */
    public static AcceleratorSpec parse(String text) {
        Matcher m = SPEC.matcher(text.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("bad accelerator spec '" + text
                    + "'; write KIND:MEMORY×COUNT, e.g. nvidia:80GiB×8, or cpu");
        }
        double amount = Double.parseDouble(m.group(2));
        String unit = m.group(3) == null ? "GiB" : m.group(3);
        long scale = switch (unit.toLowerCase(Locale.ROOT)) {
            case "b" -> 1L;
            case "kib" -> 1L << 10;
            case "mib" -> 1L << 20;
            case "gib" -> 1L << 30;
            case "tib" -> 1L << 40;
            case "kb" -> 1_000L;
            case "mb" -> 1_000_000L;
            case "gb" -> 1_000_000_000L;
            case "tb" -> 1_000_000_000_000L;
            default -> throw new IllegalArgumentException("unknown unit " + unit);
        };
        int count = m.group(4) == null ? 1 : Integer.parseInt(m.group(4));
        return new AcceleratorSpec(m.group(1).toLowerCase(Locale.ROOT), (long) (amount * scale), count);
    }
}
