package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.Authentication;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.admin.KeyWire;
import ai.factory.api.codec.admin.KeyWire.CreateKey;
import ai.factory.api.codec.admin.KeyWire.Key;
import ai.factory.api.codec.admin.KeyWire.KeyList;
import ai.factory.security.Action;
import ai.factory.security.ApiKey;
import ai.factory.security.ApiKeys;
import ai.factory.security.CreatedAccessKey;
import ai.factory.security.CreatedKey;
import ai.factory.tenancy.Projects;
import ai.factory.security.Resource;
import ai.factory.identity.Role;
import io.javalin.http.Context;

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
        routes.post("/api/v1/keys", Action.MANAGE_KEYS,
                Contract.of("Create an API key (its secret is shown once)", CreateKey.class, KeyWire.CreatedKey.class),
                this::create);
        routes.get("/api/v1/keys", Action.READ_KEYS, Contract.of("List API keys", null, KeyList.class),
                ctx -> ctx.json(new KeyList(keys.list().stream()
                        .filter(k -> access.allows(ctx, Action.READ_KEYS, resource(k)))
                        .map(KeysResource::key).toList())));
        routes.delete("/api/v1/keys/{id}", Action.MANAGE_KEYS, Contract.of("Revoke an API key", null, Key.class),
                ctx -> {
            String id = ctx.pathParam("id");
            ApiKey k = keys.find(id).orElseThrow(() -> noKey(id));
            access.require(ctx, Action.MANAGE_KEYS, resource(k), () -> noKey(id));
            ctx.json(key(keys.revoke(id)));
        });
    }

    private void create(Context ctx) {
        var by = Authentication.principal(ctx);
        CreateKey body = WireJson.read(ctx.bodyAsBytes(), CreateKey.class);
        String project = body.project() == null ? by.project() : body.project();
        Role role = body.role() == null ? Role.INVOKER : Role.parse(body.role());
        projects.get(project);
        // Another project's keys are not this caller's to know of; nor is whether that project exists.
        access.require(ctx, Action.MANAGE_KEYS, new Resource.Key("new", project, role), () -> Projects.notFound(project));
        if (body.awsKey()) {
            CreatedAccessKey created = keys.createAccessKey(body.name(), project, role, by.id());
            ctx.status(201).json(KeyWire.CreatedKey.aws(key(created.key()), created.accessKeyId(),
                    created.secretAccessKey()));
            return;
        }
        CreatedKey created = keys.create(body.name(), project, role, by.id());
        ctx.status(201).json(KeyWire.CreatedKey.bearer(key(created.key()), created.secret()));
    }

    private static FactoryException noKey(String id) {
        return new FactoryException(ErrorCode.NOT_FOUND, "no API key with id '" + id + "'");
    }

    private static Resource.Key resource(ApiKey k) {
        return new Resource.Key(k.id(), k.principal().project(), k.principal().role());
    }

    static Key key(ApiKey k) {
        return new Key(k.id(), k.principal().name(), k.principal().project(), k.principal().role().id(), k.prefix(),
                k.createdAt(), k.revokedAt());
    }
}
