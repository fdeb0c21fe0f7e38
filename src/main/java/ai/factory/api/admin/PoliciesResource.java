package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.api.Authentication;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.JsonBodies;
import ai.factory.api.Routes;
import ai.factory.security.Action;
import ai.factory.security.Authorizer;
import ai.factory.security.SitePolicies;
import ai.factory.security.SitePolicy;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Site policies: {@code /api/v1/policies} (site admins). A policy file ({@code {"policy": "<Cedar source>"}}) is
 * validated against the schema ({@code GET /api/v1/policies/schema}) before it is stored; a bad one is refused with
 * Cedar's own messages.
 */
public final class PoliciesResource implements Routes {
    private final SitePolicies policies;

    public PoliciesResource(SitePolicies policies) {
        this.policies = requireNonNull(policies, "policies is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.post("/api/v1/policies", Action.MANAGE_POLICIES, this::add);
        routes.get("/api/v1/policies", Action.MANAGE_POLICIES, ctx -> ctx.json(Map.of("policies",
                policies.list().stream().map(PoliciesResource::policy).toList())));
        routes.get("/api/v1/policies/schema", Action.MANAGE_POLICIES,
                ctx -> ctx.json(Map.of("schema", Authorizer.schemaText())));
        routes.get("/api/v1/policies/{id}", Action.MANAGE_POLICIES,
                ctx -> ctx.json(policy(policies.get(ctx.pathParam("id")))));
        routes.delete("/api/v1/policies/{id}", Action.MANAGE_POLICIES,
                ctx -> ctx.json(policy(policies.delete(ctx.pathParam("id"), Authentication.principal(ctx)))));
    }

    private void add(Context ctx) {
        JsonNode body = JsonBodies.object(ctx);
        JsonNode source = body.get("policy");
        if (source == null || !source.isTextual()) {
            throw FactoryException.invalidParam("policy", "'policy' is required: the Cedar source as a string");
        }
        ctx.status(201).json(policy(policies.add(source.asText(), Authentication.principal(ctx))));
    }

    static Map<String, Object> policy(SitePolicy p) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", p.id());
        out.put("source", p.source());
        out.put("createdAt", p.createdAt());
        out.put("createdBy", p.createdBy());
        return out;
    }
}
