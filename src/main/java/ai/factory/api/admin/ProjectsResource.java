package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.api.Authentication;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.JsonBodies;
import ai.factory.api.Routes;
import ai.factory.security.Action;
import ai.factory.security.Project;
import ai.factory.security.Projects;
import ai.factory.security.keys.KeyHierarchy;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Projects (tenants): {@code /api/v1/projects} (site admins). Deleting one undeploys, revokes and deletes
 * everything it owns, and destroys its keys; {@code POST /api/v1/projects/{name}/rotate-key} gives it a fresh
 * key-encryption key, re-wrapping its data keys.
 */
public final class ProjectsResource implements Routes {
    private final Projects projects;
    private final KeyHierarchy keys;

    public ProjectsResource(Projects projects, KeyHierarchy keys) {
        this.projects = requireNonNull(projects, "projects is null");
        this.keys = requireNonNull(keys, "keys is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.post("/api/v1/projects", Action.MANAGE_PROJECTS, this::create);
        routes.get("/api/v1/projects", Action.READ_PROJECTS, ctx -> ctx.json(Map.of("projects",
                projects.list().stream().map(ProjectsResource::project).toList())));
        routes.get("/api/v1/projects/{name}", Action.READ_PROJECTS,
                ctx -> ctx.json(project(projects.get(ctx.pathParam("name")))));
        routes.patch("/api/v1/projects/{name}", Action.MANAGE_PROJECTS, this::update);
        routes.delete("/api/v1/projects/{name}", Action.MANAGE_PROJECTS, ctx -> {
            Projects.Deleted d = projects.delete(ctx.pathParam("name"), Authentication.principal(ctx));
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("name", d.project());
            out.put("undeployed", d.deployments());
            out.put("keysRevoked", d.keysRevoked());
            out.put("modelsDeleted", d.models());
            ctx.json(out);
        });
        routes.post("/api/v1/projects/{name}/rotate-key", Action.MANAGE_ENCRYPTION, ctx -> {
            EncryptionResource.optionalObject(ctx, Set.of());
            String name = projects.get(ctx.pathParam("name")).name();
            KeyHierarchy.KekRotation r = keys.rotateKek(name, Authentication.principal(ctx));
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("project", r.owner());
            out.put("previousVersion", r.previousVersion());
            out.put("version", r.version());
            out.put("dataKeysRewrapped", r.dataKeysRewrapped());
            ctx.json(out);
        });
    }

    private void create(Context ctx) {
        JsonNode body = JsonBodies.object(ctx);
        String name = JsonBodies.requiredString(body, "name");
        ctx.status(201).json(project(projects.create(name, Authentication.principal(ctx))));
    }

    private void update(Context ctx) {
        JsonNode body = JsonBodies.object(ctx);
        body.fieldNames().forEachRemaining(field -> {
            if (!field.equals("contentLogging")) {
                throw FactoryException.invalidParam(field, "'" + field + "' can't be changed; a project's "
                        + "settings are: contentLogging");
            }
        });
        boolean on = JsonBodies.requiredBoolean(body, "contentLogging");
        String name = projects.get(ctx.pathParam("name")).name();
        if (on) {
            // Logged content is encrypted under the project's key, made now (not on a request's path).
            keys.ensureKek(name);
        }
        ctx.json(project(projects.setContentLogging(name, on, Authentication.principal(ctx))));
    }

    static Map<String, Object> project(Project p) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", p.name());
        out.put("createdAt", p.createdAt());
        out.put("createdBy", p.createdBy());
        out.put("contentLogging", p.contentLogging());
        return out;
    }
}
