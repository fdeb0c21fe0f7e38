package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.api.Authentication;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.admin.EncryptionWire.MasterRotation;
import ai.factory.api.codec.admin.EncryptionWire.RotateMaster;
import ai.factory.api.codec.admin.EncryptionWire;
import ai.factory.security.Action;
import ai.factory.security.keys.KeyHierarchy;
import ai.factory.security.keys.MasterKeys;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.util.List;

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
        routes.get("/api/v1/encryption", Action.READ_AUDIT, Contract.of(
                "The master key and every key-encryption key's version and dates (never a key)", null,
                EncryptionWire.Status.class), ctx -> {
            ctx.queryParamMap().keySet().stream().findFirst().ifPresent(name -> {
                throw FactoryException.invalidParam(name, "unknown parameter '" + name + "'; this endpoint takes none");
            });
            ctx.json(status(keys));
        });
        routes.post("/api/v1/encryption/rotate-master", Action.MANAGE_ENCRYPTION, Contract.of(
                "Rotate the master key, re-wrapping every key-encryption key", RotateMaster.class,
                MasterRotation.class), this::rotateMaster);
    }

    private void rotateMaster(Context ctx) {
        JsonNode tree = optionalBody(ctx, RotateMaster.FIELDS);
        JsonNode destroy = tree.get("destroyPrevious");
        if (destroy != null && !destroy.isNull() && !destroy.isBoolean()) {
            // Said as it always was ("a boolean"), which scripts and tests match on.
            throw FactoryException.invalidParam("destroyPrevious", "'destroyPrevious' must be a boolean, not "
                    + WireJson.kind(destroy));
        }
        RotateMaster body = WireJson.bind(tree, RotateMaster.class);
        KeyHierarchy.MasterRotation r = keys.rotateMaster(body.destroy(), Authentication.principal(ctx));
        ctx.json(new MasterRotation(r.previousVersion(), r.version(), r.keksRewrapped(), r.destroyedVersions()));
    }

    /** The hierarchy as the API and the CLI show it. */
    static EncryptionWire.Status status(KeyHierarchy keys) {
        MasterKeys master = keys.master();
        List<Integer> versions = master.versions();
        return new EncryptionWire.Status(
                new EncryptionWire.Master(master.kind().id(), master.location(), versions, versions.getLast()),
                keys.keks().stream().map(EncryptionResource::kek).toList());
    }

    /** One owner's key-encryption key as the API shows it (never the key): its versions and dates. */
    static EncryptionWire.Kek kek(KeyHierarchy.KekInfo k) {
        return new EncryptionWire.Kek(k.owner(), k.version(), k.masterVersion(), k.createdAt(), k.rotatedAt(),
                k.dataKeys());
    }

    /**
     * The body as a JSON object, or an empty one when there is none, to bind to the endpoint's record; fields other
     * than {@code allowed} are a 400, so a misspelt option is never silently ignored.
     */
    static JsonNode optionalBody(Context ctx, List<String> allowed) {
        byte[] bytes = ctx.bodyAsBytes();
        if (new String(bytes, StandardCharsets.UTF_8).isBlank()) {
            return Json.mapper().createObjectNode();
        }
        JsonNode body = WireJson.tree(bytes);
        for (String field : (Iterable<String>) body::fieldNames) {
            if (!allowed.contains(field)) {
                throw FactoryException.invalidParam(field, "unknown field '" + field + "'"
                        + (allowed.isEmpty() ? "; this endpoint takes no body" : "; allowed: " + allowed));
            }
        }
        return body;
    }
}
