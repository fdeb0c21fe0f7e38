package ai.factory.api;

import ai.factory.quotas.LimitStatus;
import ai.factory.quotas.QuotaExceededException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The headers that tell a client where it stands against its quotas, as OpenAI's API sends them: on every admitted
 * call {@code x-ratelimit-limit-requests}, {@code x-ratelimit-remaining-requests}, {@code x-ratelimit-reset-requests}
 * and the {@code -tokens} variants (resets written as OpenAI writes them: {@code 1s}, {@code 6m0s}, {@code 20ms});
 * on a refusal also {@code Retry-After} (whole seconds), {@code retry-after-ms}, and {@code x-should-retry: false}
 * where a retry cannot pass (a spent budget, a call larger than the limit), which the OpenAI SDKs obey; on Bedrock's
 * paths {@code x-amz-retry-after} (milliseconds), which the AWS SDKs obey.
 */
final class RateLimitHeaders {
    private RateLimitHeaders() {}

    /** The {@code x-ratelimit-*} headers of a status; none for a caller without per-minute limits. */
    static Map<String, String> of(LimitStatus status) {
        Map<String, String> headers = new LinkedHashMap<>();
        put(headers, "requests", status.requests());
        put(headers, "tokens", status.tokens());
        return headers;
    }

    private static void put(Map<String, String> headers, String what, LimitStatus.@Nullable Counter c) {
        if (c != null) {
            headers.put("x-ratelimit-limit-" + what, Long.toString(c.limit()));
            headers.put("x-ratelimit-remaining-" + what, Long.toString(c.remaining()));
            headers.put("x-ratelimit-reset-" + what, duration(c.reset()));
        }
    }

    /** The headers of a refusal, in {@code family}'s API. */
    static Map<String, String> refusal(ApiFamily family, QuotaExceededException e) {
        Map<String, String> headers = new LinkedHashMap<>();
        long millis = Math.max(1, e.retryAfter().toMillis());
        headers.put("Retry-After", Long.toString(Math.max(1, (millis + 999) / 1000)));
        headers.put("retry-after-ms", Long.toString(millis));
        if (!e.retryable()) {
            headers.put("x-should-retry", "false");
        }
        if (family == ApiFamily.OPENAI) {
            headers.putAll(of(e.status()));
        }
        if (family == ApiFamily.BEDROCK) {
            // The AWS SDKs wait this long (milliseconds) before their retry, as they do for AWS's own throttling.
            headers.put("x-amz-retry-after", Long.toString(millis));
        }
        return headers;
    }

    /** A duration as OpenAI's headers write it: {@code 20ms}, {@code 1.5s}, {@code 6m0s}, {@code 1h2m3s}. */
    static String duration(Duration d) {
        long millis = Math.max(0, d.toMillis());
        if (millis < 1000) {
            return millis + "ms";
        }
        long seconds = millis / 1000;
        long rest = millis % 1000;
        String s = rest == 0 ? Long.toString(seconds % 60)
                : (seconds % 60) + "." + String.format("%03d", rest).replaceAll("0+$", "");
        if (seconds < 60) {
            return s + "s";
        }
        long minutes = seconds / 60;
        return minutes < 60 ? minutes + "m" + s + "s" : (minutes / 60) + "h" + (minutes % 60) + "m" + s + "s";
    }
}
