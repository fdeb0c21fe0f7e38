package ai.factory.engine.llama;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * Applies stop strings to text that arrives in pieces. Text that could still turn out to be the start of a
 * stop string is held back until it can't; once a stop string appears, it and everything after it are
 * dropped and {@link #stopped()} turns true. Pure and single-threaded: one instance per generation.
 */
final class StopStrings {
    private final List<String> stops;
    private final StringBuilder held = new StringBuilder();
    private boolean stopped;

    StopStrings(List<String> stops) {
        this.stops = List.copyOf(requireNonNull(stops, "stops is null"));
        if (this.stops.stream().anyMatch(String::isEmpty)) {
            throw new IllegalArgumentException("stop strings must not be empty");
        }
    }

    /** Takes the next piece of text; returns what may be emitted now (possibly ""). */
    String append(String text) {
        requireNonNull(text, "text is null");
        if (stopped) {
            return "";
        }
        held.append(text);
        if (stops.isEmpty()) {
            return take(held.length());
        }
        int stopAt = earliestStop();
        if (stopAt >= 0) {
            stopped = true;
            String emitted = held.substring(0, stopAt);
            held.setLength(0);
            return emitted;
        }
        int keep = longestSuffixStartingAStop();
        int cut = held.length() - keep;
        // Never split a surrogate pair between what is emitted and what is held.
        if (cut > 0 && cut < held.length() && Character.isHighSurrogate(held.charAt(cut - 1))
                && Character.isLowSurrogate(held.charAt(cut))) {
            cut--;
        }
        return take(cut);
    }

    /** The held-back text, at the end of a generation that ended for another reason. */
    String flush() {
        return stopped ? "" : take(held.length());
    }

    boolean stopped() {
        return stopped;
    }

    private String take(int count) {
        String emitted = held.substring(0, count);
        held.delete(0, count);
        return emitted;
    }

    private int earliestStop() {
        int earliest = -1;
        for (String stop : stops) {
            int at = held.indexOf(stop);
            if (at >= 0 && (earliest < 0 || at < earliest)) {
                earliest = at;
            }
        }
        return earliest;
    }

    /** Length of the longest end of the held text that is a proper prefix of some stop string. */
    private int longestSuffixStartingAStop() {
        int longest = 0;
        for (String stop : stops) {
            for (int length = Math.min(stop.length() - 1, held.length()); length > longest; length--) {
                if (endsWithStartOf(stop, length)) {
                    longest = length;
                    break;
                }
            }
        }
        return longest;
    }

    private boolean endsWithStartOf(String stop, int length) {
        int base = held.length() - length;
        for (int i = 0; i < length; i++) {
            if (held.charAt(base + i) != stop.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
