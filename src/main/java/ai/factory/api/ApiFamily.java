package ai.factory.api;

import io.javalin.http.Context;
import java.util.List;

/**
 * Which API a request speaks, decided once from its path: whether it needs a key, how it may authenticate, and the
 * shape its errors and request ids take. Every part of the server that cares asks {@link #of(Context)}, which decides
 * on the request's first question and keeps the answer on the request.
 */
public enum ApiFamily {
    /**
     * Health probes, the OpenAPI documents, a worker's join (which its join token authenticates, and which records
     * its own audit events), people's sign-in ({@code /auth/…}, which audits its own) and the console's files
     * ({@code /console/…}, which hold no data): no key, no audit record of the request.
     */
    PUBLIC,
    /**
     * Amazon Bedrock's runtime ({@code /model/…}) and control plane, served or not: SigV4 is accepted, errors take
     * AWS's shape, the request id is also sent as {@code x-amzn-RequestId}.
     */
    BEDROCK,
    /** OpenAI's API under {@code /v1/}: OpenAI's error object. */
    OPENAI,
    /** The factory's own API ({@code /api/v1/…}) and anything else: the factory's error object. */
    FACTORY;

    private static final String ATTRIBUTE = "factory.apiFamily";

    /**
     * Bedrock's paths: those the factory serves, and the other operations of Bedrock's runtime and control plane,
     * which AWS clients call and which are answered in AWS's shape (a 404 their SDKs raise as
     * ResourceNotFoundException) rather than as the factory's own API.
     */
    /** Where a worker joins the cluster with its join token. */
    public static final String CLUSTER_JOIN = "/cluster/v1/join";
    /** Where people sign in and out through the site's OpenID Connect provider. */
    public static final String SIGN_IN = "/auth/";
    private static final List<String> AWS_PATHS = List.of("/model/", "/foundation-models", "/model-import-jobs",
            "/imported-models", "/custom-models", "/custom-model-deployments", "/model-customization-jobs",
            "/model-copy-jobs", "/model-invocation-jobs", "/evaluation-jobs", "/inference-profiles",
            "/provisioned-model-throughput", "/guardrail", "/async-invoke", "/prompt-routers",
            "/marketplace-model-endpoints", "/logging/modelinvocations");

    /** The family of a request, decided on the first call for it and kept on the request. */
    public static ApiFamily of(Context ctx) {
        ApiFamily family = ctx.attribute(ATTRIBUTE);
        if (family == null) {
            family = of(ctx.path());
            ctx.attribute(ATTRIBUTE, family);
        }
        return family;
    }

    /** The family of a path, for what has no request context (errors the container answers itself). */
    public static ApiFamily of(String path) {
        if (path.startsWith("/health/") || OpenApiDocuments.isDocument(path) || path.equals(CLUSTER_JOIN)
                || path.startsWith(SIGN_IN) || path.equals(ConsoleFiles.PATH) || path.startsWith(ConsoleFiles.PATH + "/")) {
            return PUBLIC;
        }
        for (String prefix : AWS_PATHS) {
            if (path.startsWith(prefix)) {
                return BEDROCK;
            }
        }
        return path.startsWith("/v1/") ? OPENAI : FACTORY;
    }
}
