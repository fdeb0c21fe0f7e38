package ai.factory.quotas;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * Where a caller stands against its tightest per-minute limits after a call was admitted or refused, for the
 * {@code x-ratelimit-*} headers OpenAI's API sends: each limit, what is left of it, and how long until it is whole
 * again. A part without a limit is null.
 */
public record LimitStatus(@Nullable Counter requests, @Nullable Counter tokens) {
    public static final LimitStatus NONE = new LimitStatus(null, null);

    /** One per-minute limit: its value, what is left, and the time until it is full again. */
    public record Counter(long limit, long remaining, Duration reset) {}

    public boolean isEmpty() {
        return requests == null && tokens == null;
    }
}
