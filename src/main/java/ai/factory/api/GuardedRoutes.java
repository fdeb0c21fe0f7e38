package ai.factory.api;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.security.Action;
import ai.factory.security.Authorizer;
import ai.factory.identity.Principal;
import ai.factory.security.Resource;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.javalin.router.Endpoint;
import io.javalin.router.EndpointMetadata;
import org.jspecify.annotations.Nullable;
import java.util.Set;

/**
 * The only way a route group adds endpoints: each one with the {@link Action} it performs. Before the handler runs,
 * the authorizer decides whether the caller may perform that action in its own project at all (an auditor may not
 * invoke, an invoker may not deploy); handlers then check the specific model, deployment or key with the same
 * authorizer through {@link Access}. The action travels with the endpoint as metadata, so {@link ApiServer} can
 * refuse to start with an endpoint that has none; so does its {@link Contract}, from which the OpenAPI documents are
 * generated.
 */
public final class GuardedRoutes {
    private final RoutesConfig routes;
    private final Authorizer authorizer;

    GuardedRoutes(RoutesConfig routes, Authorizer authorizer) {
        this.routes = requireNonNull(routes, "routes is null");
        this.authorizer = requireNonNull(authorizer, "authorizer is null");
    }

    /** The action an endpoint performs, attached to it. */
    public record Guard(Action action) implements EndpointMetadata {
        public Guard {
            requireNonNull(action, "action is null");
        }
    }

    /** Marks the few endpoints that need no key (health probes, the OpenAPI documents). */
    public record Public() implements EndpointMetadata {}

    public void get(String path, Action action, Contract contract, Handler handler) {
        add(HandlerType.GET, path, action, contract, handler);
    }

    public void post(String path, Action action, Contract contract, Handler handler) {
        add(HandlerType.POST, path, action, contract, handler);
    }

    public void put(String path, Action action, Contract contract, Handler handler) {
        add(HandlerType.PUT, path, action, contract, handler);
    }

    public void patch(String path, Action action, Contract contract, Handler handler) {
        add(HandlerType.PATCH, path, action, contract, handler);
    }

    public void delete(String path, Action action, Contract contract, Handler handler) {
        add(HandlerType.DELETE, path, action, contract, handler);
    }

    public void get(String path, Action action, Handler handler) {
        add(HandlerType.GET, path, action, null, handler);
    }

    public void post(String path, Action action, Handler handler) {
        add(HandlerType.POST, path, action, null, handler);
    }

    public void put(String path, Action action, Handler handler) {
        add(HandlerType.PUT, path, action, null, handler);
    }

    public void patch(String path, Action action, Handler handler) {
        add(HandlerType.PATCH, path, action, null, handler);
    }

    public void delete(String path, Action action, Handler handler) {
        add(HandlerType.DELETE, path, action, null, handler);
    }

    /**
     * A route of people's sign-in ({@code /auth/…}), which needs no key: its handler checks the session cookie where
     * it needs one, and the sign-in audits what it decides.
     */
    public void signIn(HandlerType method, String path, Contract contract, Handler handler) {
        requireNonNull(handler, "handler is null");
        if (!path.startsWith(ApiFamily.SIGN_IN) || ApiFamily.of(path) != ApiFamily.PUBLIC) {
            throw new IllegalArgumentException(path + " is not a sign-in path");
        }
        routes.addEndpoint(new Endpoint(method, path, handler, Set.of(new Public(), contract)));
    }

    /**
     * A route that no API key authenticates but the body itself (a worker's join token, at {@link
     * ApiFamily#CLUSTER_JOIN}); its handler checks that and audits what it decides.
     */
    public void postAuthenticatedByBody(String path, Contract contract, Handler handler) {
        requireNonNull(handler, "handler is null");
        if (ApiFamily.of(path) != ApiFamily.PUBLIC) {
            throw new IllegalArgumentException(path + " is not a path that goes without an API key");
        }
        routes.addEndpoint(new Endpoint(HandlerType.POST, path, ctx -> {
            requireJsonBody(ctx);
            handler.handle(ctx);
        }, Set.of(new Public(), contract)));
    }

    /**
     * An {@link Action#INVOKE} route whose handler runs its call through the inference pipeline and does nothing
     * that lasts before: it changes no state and answers nothing until the pipeline has queued the call. Its audit
     * write-ahead is then written while the handler reads the body and renders and tokenizes the prompt, and the
     * pipeline waits for it before it queues anything on a replica ({@link
     * ai.factory.inference.CallListener#awaitAdmission}); the handler's answer waits for it too, so a call whose
     * write-ahead fails is refused as on any other route. Every other route writes ahead before its handler runs.
     */
    public void postCall(String path, Contract contract, Handler handler) {
        add(HandlerType.POST, path, Action.INVOKE, contract, handler, true);
    }

    /** {@link #postCall(String, Contract, Handler)} for a route without a contract. */
    public void postCall(String path, Handler handler) {
        add(HandlerType.POST, path, Action.INVOKE, null, handler, true);
    }

    private void add(HandlerType type, String path, Action action, @Nullable Contract contract, Handler handler) {
        add(type, path, action, contract, handler, false);
    }

    private void add(HandlerType type, String path, Action action, @Nullable Contract contract, Handler handler,
                     boolean admittedAlongside) {
        requireNonNull(handler, "handler is null");
        Set<EndpointMetadata> metadata = contract == null ? Set.of(new Guard(action)) : Set.of(new Guard(action), contract);
        routes.addEndpoint(new Endpoint(type, path, ctx -> {
            ctx.attribute(RequestAudit.ACTION, action.id());
            Principal caller = Authentication.principal(ctx);
            authorizer.require(caller, action, new Resource.Project(caller.project()));
            RequestAudit.admitted(ctx, action.id(), admittedAlongside);
            try {
                if (contract != null && contract.request() != null) {
                    requireJsonBody(ctx);
                }
                handler.handle(ctx);
            } finally {
                // What the handler answered (an error included) leaves only once the call is written ahead; a
                // write-ahead that failed refuses the call instead.
                RequestAudit.awaitAdmission(ctx);
            }
        }, metadata));
    }

    /**
     * A route that reads a JSON body takes one: a body whose type is declared as something other than JSON is 415
     * (a missing type is read as JSON, as curl users and some SDKs send it), and over HTTP/1.x a body of undeclared
     * length (no {@code Content-Length}, not chunked, which means no body at all) is 411.
     */
    public static void requireJsonBody(Context ctx) {
        String type = ctx.header("Content-Type");
        if (type != null && !type.isBlank()) {
            String media = type.split(";", 2)[0].trim().toLowerCase(java.util.Locale.ROOT);
            if (!media.equals("application/json") && !media.endsWith("+json")) {
                throw FactoryException.about(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Content-Type", "this endpoint takes a "
                        + "JSON body (Content-Type: application/json), not " + media);
            }
        }
        boolean http1 = ctx.req().getProtocol().startsWith("HTTP/1");
        if (http1 && ctx.req().getContentLengthLong() < 0 && ctx.header("Transfer-Encoding") == null) {
            throw FactoryException.about(ErrorCode.LENGTH_REQUIRED, "Content-Length", "this endpoint takes a JSON "
                    + "body, and the request declares none (send it with Content-Length, or chunked)");
        }
    }
}
