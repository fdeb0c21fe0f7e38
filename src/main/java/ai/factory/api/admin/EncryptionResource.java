package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.api.Authentication;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.JsonBodies;
import ai.factory.api.Routes;
import ai.factory.security.Action;
import ai.factory.security.keys.KeyHierarchy;
import ai.factory.security.keys.MasterKeys;
import ai.factory.sovereignty.SovereigntyReport;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The key hierarchy: {@code GET /api/v1/encryption} (admin and auditor: the master key's provider, location and
 * versions, and every key-encryption key's version and dates, never a key) and {@code POST
 * /api/v1/encryption/rotate-master} (admin: a new master version re-wraps every KEK; {@code {"destroyPrevious":
 * true}} then destroys the earlier versions). Rotating one project's KEK is {@code POST
 * /api/v1/projects/{name}/rotate-key} ({@link ProjectsResource}).
 */
public final class EncryptionResource implements Routes {
    private final KeyHierarchy keys;

    public EncryptionResource(KeyHierarchy keys) {
        this.keys = requireNonNull(keys, "keys is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.get("/api/v1/encryption", Action.READ_AUDIT, ctx -> {
            ctx.queryParamMap().keySet().stream().findFirst().ifPresent(name -> {
                throw FactoryException.invalidParam(name, "unknown parameter '" + name + "'; this endpoint takes none");
            });
            ctx.json(status(keys));
        });
        routes.post("/api/v1/encryption/rotate-master", Action.MANAGE_ENCRYPTION, this::rotateMaster);
    }

    private void rotateMaster(Context ctx) {
        JsonNode body = optionalObject(ctx, Set.of("destroyPrevious"));
        JsonNode destroy = body.get("destroyPrevious");
        if (destroy != null && !destroy.isNull() && !destroy.isBoolean()) {
            throw FactoryException.invalidParam("destroyPrevious", "'destroyPrevious' must be a boolean, not "
                    + JsonBodies.kind(destroy));
        }
        KeyHierarchy.MasterRotation r = keys.rotateMaster(destroy != null && destroy.asBoolean(false),
                Authentication.principal(ctx));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("previousVersion", r.previousVersion());
        out.put("version", r.version());
        out.put("keksRewrapped", r.keksRewrapped());
        out.put("destroyedVersions", r.destroyedVersions());
        ctx.json(out);
    }

    /** The hierarchy as the API and the CLI show it. */
    static Map<String, Object> status(KeyHierarchy keys) {
        MasterKeys master = keys.master();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("provider", master.kind().id());
        m.put("location", master.location());
        List<Integer> versions = master.versions();
        m.put("versions", versions);
        m.put("current", versions.getLast());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("master", m);
        out.put("keys", keys.keks().stream().map(SovereigntyReport::kek).toList());
        return out;
    }

    /**
     * The body as a JSON object, or an empty one when there is none; fields other than {@code allowed} are a 400, so a
     * misspelt option is never silently ignored.
     */
    static JsonNode optionalObject(Context ctx, Set<String> allowed) {
        JsonNode body = ctx.body().isBlank() ? Json.mapper().createObjectNode() : JsonBodies.object(ctx);
        for (String field : (Iterable<String>) () -> body.fieldNames()) {
            if (!allowed.contains(field)) {
                throw FactoryException.invalidParam(field, "unknown field '" + field + "'"
                        + (allowed.isEmpty() ? "; this endpoint takes no body" : "; allowed: " + allowed));
            }
        }
        return body;
    }
}
