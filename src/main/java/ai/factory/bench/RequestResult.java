package ai.factory.bench;

import org.jspecify.annotations.Nullable;

/**
 * What one streamed request measured. Times are in milliseconds from just before the request was sent.
 *
 * @param error why it failed (e.g. {@code http_401}, {@code stream_error}, {@code connection}), or null
 * @param ttftMs time to the first event that carried generated text; NaN without one
 * @param e2eMs time to the end of the stream
 * @param outputTokens the completion tokens the usage chunk reported, else the token events counted
 * @param itlMs the gaps between successive token events
 * @param turn the turn of its session the request was, from 1
 */
public record RequestResult(@Nullable String error, double ttftMs, double e2eMs, int outputTokens, double[] itlMs,
                            int turn) {
    public RequestResult {
        if (outputTokens < 0) {
            throw new IllegalArgumentException("outputTokens is negative: " + outputTokens);
        }
        if (turn < 1) {
            throw new IllegalArgumentException("turns count from 1: " + turn);
        }
        itlMs = itlMs.clone();
    }

    static RequestResult failed(String error, double e2eMs) {
        return new RequestResult(error, Double.NaN, e2eMs, 0, new double[0], 1);
    }

    /** This result as turn {@code number} of its session. */
    RequestResult asTurn(int number) {
        return new RequestResult(error, ttftMs, e2eMs, outputTokens, itlMs, number);
    }

    public boolean succeeded() {
        return error == null;
    }

    /** Time per output token after the first: {@code (e2e - ttft) / (tokens - 1)}; NaN for fewer than two tokens. */
    public double tpotMs() {
        return outputTokens < 2 || Double.isNaN(ttftMs) ? Double.NaN : (e2eMs - ttftMs) / (outputTokens - 1);
    }
}
