package ai.factory.bench;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.SplittableRandom;

/**
 * How many distinct tokens each prompt of a benchmark has: one number for all, or a distribution to draw each prompt's
 * length from, written as {@code factory bench --prompt-tokens} takes it: {@code 128}, {@code uniform:512-1536} (both
 * ends included) or {@code normal:1024,256} (mean, standard deviation; rounded, and at least 1).
 */
public sealed interface PromptLength {
    /** The most tokens one prompt may have, a bound far above any context a benchmark fills. */
    int MAX = 1 << 20;

    /** One length drawn from {@code random}. */
    int draw(SplittableRandom random);

    /** The mean length, what a report gives as its prompt length. */
    double mean();

    /** The form {@link #parse} reads back. */
    @JsonValue
    String spec();

    /** Every prompt has {@code tokens} tokens. */
    record Fixed(int tokens) implements PromptLength {
        public Fixed {
            check(tokens >= 1 && tokens <= MAX, "prompt tokens must be between 1 and %d: %d".formatted(MAX, tokens));
        }

        @Override
        public int draw(SplittableRandom random) {
            return tokens;
        }

        @Override
        public double mean() {
            return tokens;
        }

        @Override
        public String spec() {
            return String.valueOf(tokens);
        }
    }

    /** Each prompt's length is drawn uniformly from {@code low} to {@code high}, both included. */
    record Uniform(int low, int high) implements PromptLength {
        public Uniform {
            check(low >= 1 && high <= MAX,
                    "uniform prompt lengths must lie between 1 and %d: %d-%d".formatted(MAX, low, high));
            check(low <= high, "uniform:LOW-HIGH needs LOW ≤ HIGH: %d-%d".formatted(low, high));
        }

        @Override
        public int draw(SplittableRandom random) {
            return random.nextInt(low, high + 1);
        }

        @Override
        public double mean() {
            return (low + (double) high) / 2;
        }

        @Override
        public String spec() {
            return "uniform:%d-%d".formatted(low, high);
        }
    }

    /**
     * Each prompt's length is drawn from a normal distribution, rounded to the nearest whole token and clamped to 1 to
     * {@link #MAX}; with a wide spread the clamping raises the mean a little above {@code mean}.
     */
    record Normal(double mean, double sd) implements PromptLength {
        public Normal {
            check(Double.isFinite(mean) && mean >= 1 && mean <= MAX,
                    "the mean prompt length must be between 1 and %d: %s".formatted(MAX, mean));
            check(Double.isFinite(sd) && sd >= 0, "the standard deviation must be 0 or more: " + sd);
        }

        @Override
        public int draw(SplittableRandom random) {
            // Box–Muller: SplittableRandom has no nextGaussian of its own in every JDK this builds on.
            double u = 1 - random.nextDouble();
            double gaussian = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
            return Math.clamp(Math.round(mean + sd * gaussian), 1, MAX);
        }

        @Override
        public String spec() {
            return "normal:%s,%s".formatted(number(mean), number(sd));
        }

        private static String number(double value) {
            return value == Math.rint(value) ? String.valueOf((long) value) : String.valueOf(value);
        }
    }

    /** Reads {@code 128}, {@code uniform:LOW-HIGH} or {@code normal:MEAN,SD}; says what is wrong otherwise. */
    static PromptLength parse(String spec) {
        String text = spec.strip();
        try {
            if (text.startsWith("uniform:")) {
                String[] ends = text.substring("uniform:".length()).split("-", -1);
                check(ends.length == 2,
                        "uniform prompt lengths are written uniform:LOW-HIGH, e.g. uniform:512-1536, not " + spec);
                return new Uniform(Integer.parseInt(ends[0].strip()), Integer.parseInt(ends[1].strip()));
            }
            if (text.startsWith("normal:")) {
                String[] parts = text.substring("normal:".length()).split(",", -1);
                check(parts.length == 2,
                        "normal prompt lengths are written normal:MEAN,SD, e.g. normal:1024,256, not " + spec);
                return new Normal(Double.parseDouble(parts[0].strip()), Double.parseDouble(parts[1].strip()));
            }
            return new Fixed(Integer.parseInt(text));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("prompt tokens take N, uniform:LOW-HIGH or normal:MEAN,SD (e.g. 128, "
                    + "uniform:512-1536, normal:1024,256), not " + spec);
        }
    }

    private static void check(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }
}
