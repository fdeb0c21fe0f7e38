package ai.factory.api;

import static java.util.Objects.requireNonNull;

import io.javalin.http.Context;
import io.javalin.router.Endpoint;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * Counts and times requests per route template, status and model (Prometheus {@code factory_http_requests_seconds});
 * the model is the one a call reported to its {@link RequestAudit#listener}.
 */
public final class HttpMetrics {
    private static final String START = "factory.metrics.start";

    private final MeterRegistry registry;

    public HttpMetrics(MeterRegistry registry) {
        this.registry = requireNonNull(registry, "registry is null");
    }

    void start(Context ctx) {
        ctx.attribute(START, System.nanoTime());
    }

    void finish(Context ctx) {
        Long start = ctx.attribute(START);
        if (start == null) {
            return;
        }
        Endpoint endpoint = ctx.endpoints().matchedHttpEndpoint();
        // A failed call may name any model at all: tagging it would let callers mint series without bound.
        String model = ctx.statusCode() < 400 ? RequestAudit.model(ctx) : null;
        Timer.builder("factory.http.requests")
                .description("HTTP requests by route, status and model")
                .tag("method", ctx.method().name())
                .tag("route", endpoint == null ? "unmatched" : endpoint.path)
                .tag("status", Integer.toString(ctx.statusCode()))
                .tag("model", model == null ? "" : model)
                .register(registry)
                .record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
    }
}
