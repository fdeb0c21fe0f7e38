package ai.factory.bench;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;
import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * A benchmark: a sweep of streamed requests against one model of an OpenAI-compatible API, over concurrency levels (or,
 * with Poisson arrivals, rates).
 *
 * @param baseUrl the API's base, e.g. {@code http://127.0.0.1:8080/v1}
 * @param apiKey the bearer token, or null to send none
 * @param model the {@code model} of every request
 * @param endpoint completions or chat
 * @param workload the prompts (lengths exact for completions with one turn, approximate otherwise), sessions and
 *     arrivals
 * @param outputTokens the tokens every request generates ({@code max_tokens}, {@code min_tokens}, {@code ignore_eos})
 * @param concurrency the levels of the sweep: how many requests are in flight at once (with Poisson arrivals, only
 *     the warm-up's bound)
 * @param requestsPerLevel the requests (sessions, with several turns) measured at each level in each round
 * @param rounds how many times the sweep's levels run, one after the other (c=1, c=2, …, then c=1 again); each
 *     level's figures pool the requests of every round, which spreads a level over time and so over the moods of a
 *     shared machine
 * @param warmup requests sent before the sweep and not measured
 * @param vocabulary prompt token ids are drawn below this
 * @param requestTimeout how long one request may take
 * @param responseFormat the chat requests' {@code response_format} (a JSON schema makes every token grammar-
 *     constrained), or null for free text
 * @param http the HTTP version asked for: 1.1, or 2 (by ALPN over https, by {@code Upgrade: h2c} over http)
 */
public record BenchOptions(URI baseUrl, @Nullable String apiKey, String model, Endpoint endpoint, Workload workload,
                           int outputTokens, List<Integer> concurrency, int requestsPerLevel, int rounds, int warmup,
                           int vocabulary, Duration requestTimeout, @Nullable JsonNode responseFormat, Http http) {
    public BenchOptions {
        requireNonNull(http, "http is null");
        requireNonNull(baseUrl, "baseUrl is null");
        if (!"http".equals(baseUrl.getScheme()) && !"https".equals(baseUrl.getScheme())) {
            throw new IllegalArgumentException("the URL must be http or https: " + baseUrl);
        }
        requireNonNull(model, "model is null");
        requireNonNull(endpoint, "endpoint is null");
        requireNonNull(workload, "workload is null");
        concurrency = List.copyOf(requireNonNull(concurrency, "concurrency is null"));
        requireNonNull(requestTimeout, "requestTimeout is null");
        if (outputTokens < 1) {
            throw new IllegalArgumentException("output tokens must be at least 1");
        }
        if (concurrency.isEmpty() || concurrency.stream().anyMatch(c -> c < 1 || c > 4096)) {
            throw new IllegalArgumentException("concurrency levels must be between 1 and 4096: " + concurrency);
        }
        if (requestsPerLevel < 1 || warmup < 0) {
            throw new IllegalArgumentException("requests per level must be at least 1 and warm-up at least 0");
        }
        if (rounds < 1 || rounds > 1000) {
            throw new IllegalArgumentException("rounds must be between 1 and 1000: " + rounds);
        }
        if (responseFormat != null && endpoint != Endpoint.CHAT) {
            throw new IllegalArgumentException("a response format needs the chat endpoint");
        }
        if (vocabulary < 2) {
            throw new IllegalArgumentException("the vocabulary must have at least 2 tokens: " + vocabulary);
        }
    }

    /** A sweep over HTTP/1.1. */
    public BenchOptions(URI baseUrl, @Nullable String apiKey, String model, Endpoint endpoint, Workload workload,
                        int outputTokens,
                        List<Integer> concurrency, int requestsPerLevel, int rounds, int warmup, int vocabulary,
                        Duration requestTimeout, @Nullable JsonNode responseFormat) {
        this(baseUrl, apiKey, model, endpoint, workload, outputTokens, concurrency, requestsPerLevel, rounds, warmup,
                vocabulary, requestTimeout, responseFormat, Http.HTTP_1_1);
    }

    /** The HTTP version a sweep asks for. */
    public enum Http { HTTP_1_1, HTTP_2 }

    /** The same sweep over another HTTP version. */
    public BenchOptions withHttp(Http version) {
        return new BenchOptions(baseUrl, apiKey, model, endpoint, workload, outputTokens, concurrency,
                requestsPerLevel, rounds, warmup, vocabulary, requestTimeout, responseFormat, version);
    }

    /** A sweep of free text, distinct prompts of {@code promptTokens} tokens, one request each, a closed loop. */
    public BenchOptions(URI baseUrl, @Nullable String apiKey, String model, Endpoint endpoint, int promptTokens,
                        int outputTokens,
                        List<Integer> concurrency, int requestsPerLevel, int rounds, int warmup, int vocabulary,
                        Duration requestTimeout) {
        this(baseUrl, apiKey, model, endpoint, Workload.closed(promptTokens), outputTokens, concurrency,
                requestsPerLevel, rounds, warmup,
                vocabulary, requestTimeout, null);
    }

    /** A sweep of one round. */
    public BenchOptions(URI baseUrl, @Nullable String apiKey, String model, Endpoint endpoint, int promptTokens,
                        int outputTokens,
                        List<Integer> concurrency, int requestsPerLevel, int warmup, int vocabulary, Duration requestTimeout) {
        this(baseUrl, apiKey, model, endpoint, promptTokens, outputTokens, concurrency, requestsPerLevel, 1, warmup, vocabulary,
                requestTimeout);
    }

    /** The URL requests go to. */
    URI requestUri() {
        String base = baseUrl.toString();
        return URI.create((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + endpoint.path());
    }
}
