package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.Authentication;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.JsonBodies;
import ai.factory.api.Routes;
import ai.factory.security.Action;
import ai.factory.security.ApiKey;
import ai.factory.security.ApiKeys;
import ai.factory.security.CreatedAccessKey;
import ai.factory.security.CreatedKey;
import ai.factory.security.Projects;
import ai.factory.security.Resource;
import ai.factory.security.Role;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * API keys: {@code /api/v1/keys}; site admins manage every key, project admins those of their project (never admin
 * keys). The secret appears once, in the creation response; with
 * {@code "aws": true} the key is an AWS-style access key id and secret access key for SigV4.
 */
public final class KeysResource implements Routes {
    private final ApiKeys keys;
    private final Projects projects;
    private final Access access;

    public KeysResource(ApiKeys keys, Projects projects, Access access) {
        this.keys = requireNonNull(keys, "keys is null");
        this.projects = requireNonNull(projects, "projects is null");
        this.access = requireNonNull(access, "access is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.post("/api/v1/keys", Action.MANAGE_KEYS, this::create);
        routes.get("/api/v1/keys", Action.READ_KEYS, ctx -> ctx.json(Map.of("keys", keys.list().stream()
                .filter(k -> access.allows(ctx, Action.READ_KEYS, resource(k)))
                .map(KeysResource::key).toList())));
        routes.delete("/api/v1/keys/{id}", Action.MANAGE_KEYS, ctx -> {
            String id = ctx.pathParam("id");
            ApiKey k = keys.find(id).orElseThrow(() -> new FactoryException(ErrorCode.NOT_FOUND,
                    "no API key with id '" + id + "'"));
            access.require(ctx, Action.MANAGE_KEYS, resource(k));
            ctx.json(key(keys.revoke(id)));
        });
    }

    private void create(Context ctx) {
        var by = Authentication.principal(ctx);
        JsonNode body = JsonBodies.object(ctx);
        String name = JsonBodies.requiredString(body, "name");
        String project = JsonBodies.optionalString(body, "project").orElse(by.project());
        Role role = JsonBodies.optionalString(body, "role").map(Role::parse).orElse(Role.INVOKER);
        projects.get(project);
        access.require(ctx, Action.MANAGE_KEYS, new Resource.Key("new", project, role));
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

    private static Resource.Key resource(ApiKey k) {
        return new Resource.Key(k.id(), k.principal().project(), k.principal().role());
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
