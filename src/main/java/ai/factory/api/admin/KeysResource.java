package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.api.Authentication;
import ai.factory.api.JsonBodies;
import ai.factory.api.Routes;
import ai.factory.security.ApiKey;
import ai.factory.security.ApiKeys;
import ai.factory.security.CreatedAccessKey;
import ai.factory.security.CreatedKey;
import ai.factory.security.Role;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * API keys: {@code /api/v1/keys} (admin only). The secret appears once, in the creation response; with
 * {@code "aws": true} the key is an AWS-style access key id and secret access key for SigV4.
 */
public final class KeysResource implements Routes {
    private final ApiKeys keys;

    public KeysResource(ApiKeys keys) {
        this.keys = requireNonNull(keys, "keys is null");
    }

    @Override
    public void addTo(RoutesConfig routes) {
        routes.post("/api/v1/keys", this::create);
        routes.get("/api/v1/keys", ctx -> {
            Authentication.principal(ctx).requireAdmin("listing API keys");
            ctx.json(Map.of("keys", keys.list().stream().map(KeysResource::key).toList()));
        });
        routes.delete("/api/v1/keys/{id}", ctx -> {
            Authentication.principal(ctx).requireAdmin("revoking API keys");
            ctx.json(key(keys.revoke(ctx.pathParam("id"))));
        });
    }

    private void create(Context ctx) {
        var by = Authentication.principal(ctx);
        by.requireAdmin("creating API keys");
        JsonNode body = JsonBodies.object(ctx);
        String name = JsonBodies.requiredString(body, "name");
        String project = JsonBodies.optionalString(body, "project").orElse(null);
        Role role = JsonBodies.optionalString(body, "role").map(Role::parse).orElse(Role.INVOKER);
        JsonNode aws = body.get("aws");
        if (aws != null && !aws.isNull() && !aws.isBoolean()) {
            throw FactoryException.invalidParam("aws", "'aws' must be true or false");
        }
        if (aws != null && aws.asBoolean(false)) {
            CreatedAccessKey created = keys.createAccessKey(name, project, role, by.id());
            Map<String, Object> out = key(created.key());
            out.put("accessKeyId", created.accessKeyId());
            out.put("secretAccessKey", created.secretAccessKey());
            ctx.status(201).json(out);
            return;
        }
        CreatedKey created = keys.create(name, project, role, by.id());
        Map<String, Object> out = key(created.key());
        out.put("secret", created.secret());
        ctx.status(201).json(out);
    }

    static Map<String, Object> key(ApiKey k) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", k.id());
        out.put("name", k.principal().name());
        out.put("project", k.principal().project());
        out.put("role", k.principal().role().id());
        out.put("prefix", k.prefix());
        out.put("createdAt", k.createdAt());
        out.put("revokedAt", k.revokedAt());
        return out;
    }
}
