package ai.factory.bench;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * What a benchmark's prompts look like and when its requests start.
 *
 * @param promptTokens each prompt's own, distinct tokens: a length, or a distribution each prompt's length is drawn
 *     from
 * @param sharedPrefixTokens tokens every prompt starts with, the same in every request of the run (a system prompt a
 *     server's prefix cache can keep); 0 for none
 * @param turns requests per session: turn k's prompt is turn k−1's, then its answer, then {@code turnTokens} new
 *     tokens; 1 for one request each
 * @param turnTokens the new tokens each turn after the first adds
 * @param arrival closed (a fixed number in flight) or Poisson (open-loop at given rates)
 * @param rates with Poisson arrivals, one level per rate (sessions started per second); empty for closed
 * @param maxInFlight with Poisson arrivals, the most sessions in flight at once: an arrival that finds this many waits,
 *     and the level counts it as held
 * @param seed seeds prompt lengths and contents and arrival times, so that runs with the same options repeat them
 */
public record Workload(PromptLength promptTokens, int sharedPrefixTokens, int turns, int turnTokens, Arrival arrival,
                       List<Double> rates, int maxInFlight, long seed) {
    /** The seed when none is given. */
    public static final long DEFAULT_SEED = 1;

    /** How requests start. */
    public enum Arrival {
        /** Each level keeps its concurrency in flight: the next request starts when one finishes. */
        CLOSED,
        /** Requests start at the times of a Poisson process, whether or not earlier ones have finished. */
        POISSON
    }

    public Workload {
        requireNonNull(promptTokens, "promptTokens is null");
        requireNonNull(arrival, "arrival is null");
        rates = List.copyOf(requireNonNull(rates, "rates is null"));
        if (sharedPrefixTokens < 0 || sharedPrefixTokens > PromptLength.MAX) {
            throw new IllegalArgumentException("shared prefix tokens must be between 0 and %d: %d".formatted(
                    PromptLength.MAX, sharedPrefixTokens));
        }
        if (turns < 1 || turns > 1000) {
            throw new IllegalArgumentException("turns must be between 1 and 1000: " + turns);
        }
        if (turnTokens < 1 || turnTokens > PromptLength.MAX) {
            throw new IllegalArgumentException("turn tokens must be between 1 and %d: %d".formatted(PromptLength.MAX,
                    turnTokens));
        }
        switch (arrival) {
            case CLOSED -> {
                if (!rates.isEmpty()) {
                    throw new IllegalArgumentException("a rate needs Poisson arrivals (--arrival poisson)");
                }
            }
            case POISSON -> {
                if (rates.isEmpty()) {
                    throw new IllegalArgumentException("Poisson arrivals need a rate (--rate R, requests per second)");
                }
                if (rates.stream().anyMatch(r -> !(r > 0) || !Double.isFinite(r) || r > 1e6)) {
                    throw new IllegalArgumentException("rates must be above 0 and at most 1000000 requests per second: "
                            + rates);
                }
            }
        }
        if (maxInFlight < 1 || maxInFlight > 4096) {
            throw new IllegalArgumentException("the most requests in flight must be between 1 and 4096: "
                    + maxInFlight);
        }
    }

    /** Today's sweep: prompts of {@code promptTokens} distinct tokens, one request each, a closed loop. */
    public static Workload closed(int promptTokens) {
        return new Workload(new PromptLength.Fixed(promptTokens), 0, 1, 100, Arrival.CLOSED, List.of(), 256,
                DEFAULT_SEED);
    }

    /** The mean length of a first turn's prompt: the shared prefix and the mean of its own tokens. */
    public int meanPromptTokens() {
        return sharedPrefixTokens + (int) Math.round(promptTokens.mean());
    }
}
