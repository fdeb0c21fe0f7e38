package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.api.Authentication;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.admin.PolicyWire.AddPolicy;
import ai.factory.api.codec.admin.PolicyWire.Policy;
import ai.factory.api.codec.admin.PolicyWire.PolicyList;
import ai.factory.api.codec.admin.PolicyWire.Schema;
import ai.factory.security.Action;
import ai.factory.security.Authorizer;
import ai.factory.security.SitePolicies;
import ai.factory.security.SitePolicy;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;

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
        routes.post("/api/v1/policies", Action.MANAGE_POLICIES, Contract.of(
                "Add a site Cedar policy (validated against the schema)", AddPolicy.class, Policy.class), this::add);
        routes.get("/api/v1/policies", Action.MANAGE_POLICIES, Contract.of("List site policies", null,
                PolicyList.class), ctx -> ctx.json(new PolicyList(policies.list().stream()
                .map(PoliciesResource::policy).toList())));
        routes.get("/api/v1/policies/schema", Action.MANAGE_POLICIES, Contract.of(
                "The Cedar schema policies are validated against", null, Schema.class),
                ctx -> ctx.json(new Schema(Authorizer.schemaText())));
        routes.get("/api/v1/policies/{id}", Action.MANAGE_POLICIES, Contract.of("Show a site policy", null,
                Policy.class), ctx -> ctx.json(policy(policies.get(ctx.pathParam("id")))));
        routes.delete("/api/v1/policies/{id}", Action.MANAGE_POLICIES, Contract.of("Delete a site policy", null,
                Policy.class),
                ctx -> ctx.json(policy(policies.delete(ctx.pathParam("id"), Authentication.principal(ctx)))));
    }

    private void add(Context ctx) {
        JsonNode tree = WireJson.tree(ctx.bodyAsBytes());
        if (!tree.path("policy").isTextual()) {
            // One message for absent and mistyped alike, saying what to send.
            throw AddPolicy.missing();
        }
        AddPolicy body = WireJson.bind(tree, AddPolicy.class);
        ctx.status(201).json(policy(policies.add(body.policy(), Authentication.principal(ctx))));
    }

    static Policy policy(SitePolicy p) {
        return new Policy(p.id(), p.source(), p.createdAt(), p.createdBy());
    }
}
