package ai.factory.api;

import static java.util.Objects.requireNonNull;

import io.javalin.router.EndpointMetadata;
import org.jspecify.annotations.Nullable;

/**
 * What an endpoint takes and answers, attached to it when it is registered: the OpenAPI documents are generated
 * from these, and from the wire records they name, so the documents and the code cannot drift apart.
 *
 * @param summary one line on what the endpoint does
 * @param request the record its JSON request body binds to, or null when it takes none (or not JSON)
 * @param response the record of its JSON answer, or null when it answers with no JSON body
 * @param streamEvent for an endpoint that can stream, the record of one event of its stream, else null
 */
public record Contract(String summary, @Nullable Class<?> request, @Nullable Class<?> response,
                       @Nullable Class<?> streamEvent)
        implements EndpointMetadata {
    public Contract {
        requireNonNull(summary, "summary is null");
    }

    /** An endpoint that takes {@code request} (or nothing, when null) and answers {@code response}. */
    public static Contract of(String summary, @Nullable Class<?> request, @Nullable Class<?> response) {
        return new Contract(summary, request, response, null);
    }

    /** The same, with a streamed form whose events are {@code event}s. */
    public Contract streaming(Class<?> event) {
        return new Contract(summary, request, response, requireNonNull(event, "event is null"));
    }
}
