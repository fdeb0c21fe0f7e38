package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.api.Authentication;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.admin.ProjectWire;
import ai.factory.api.codec.admin.ProjectWire.CreateProject;
import ai.factory.api.codec.admin.ProjectWire.DeletedProject;
import ai.factory.api.codec.admin.ProjectWire.KeyRotation;
import ai.factory.api.codec.admin.ProjectWire.NoBody;
import ai.factory.api.codec.admin.ProjectWire.ProjectList;
import ai.factory.api.codec.admin.ProjectWire.UpdateProject;
import ai.factory.security.Action;
import ai.factory.tenancy.Project;
import ai.factory.tenancy.Projects;
import ai.factory.security.keys.KeyHierarchy;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import ai.factory.config.ModelsConfig;
import ai.factory.models.ModelSignatures;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Projects (tenants): {@code /api/v1/projects} (site admins). Deleting one undeploys, revokes and deletes
 * everything it owns, and destroys its keys; {@code POST /api/v1/projects/{name}/rotate-key} gives it a fresh
 * key-encryption key, re-wrapping its data keys.
 */
public final class ProjectsResource implements Routes {
    private final Projects projects;
    private final KeyHierarchy keys;
    private final ModelSignatures signatures;

    public ProjectsResource(Projects projects, KeyHierarchy keys, ModelSignatures signatures) {
        this.projects = requireNonNull(projects, "projects is null");
        this.keys = requireNonNull(keys, "keys is null");
        this.signatures = requireNonNull(signatures, "signatures is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.post("/api/v1/projects", Action.MANAGE_PROJECTS,
                Contract.of("Create a project", CreateProject.class, ProjectWire.Project.class), this::create);
        routes.get("/api/v1/projects", Action.READ_PROJECTS, Contract.of("List projects", null, ProjectList.class),
                ctx -> {
                    var rules = signatures.projectPolicies();
                    ctx.json(new ProjectList(projects.list().stream().map(p -> project(p, rules.get(p.name())))
                            .toList()));
                });
        routes.get("/api/v1/projects/{name}", Action.READ_PROJECTS,
                Contract.of("Show a project", null, ProjectWire.Project.class),
                ctx -> ctx.json(project(projects.get(ctx.pathParam("name")))));
        routes.patch("/api/v1/projects/{name}", Action.MANAGE_PROJECTS,
                Contract.of("Change a project's settings (content logging, model-signature policy)",
                        UpdateProject.class,
                        ProjectWire.Project.class), this::update);
        routes.delete("/api/v1/projects/{name}", Action.MANAGE_PROJECTS,
                Contract.of("Delete a project with everything it owns, destroying its keys", null,
                        DeletedProject.class), ctx -> {
            Projects.Deleted d = projects.delete(ctx.pathParam("name"), Authentication.principal(ctx));
            ctx.json(new DeletedProject(d.project(), d.deployments(), d.keysRevoked(), d.models()));
        });
        routes.post("/api/v1/projects/{name}/rotate-key", Action.MANAGE_ENCRYPTION,
                Contract.of("Give a project a fresh key-encryption key", NoBody.class, KeyRotation.class), ctx -> {
            WireJson.bind(EncryptionResource.optionalBody(ctx, NoBody.FIELDS), NoBody.class);
            String name = projects.get(ctx.pathParam("name")).name();
            KeyHierarchy.KekRotation r = keys.rotateKek(name, Authentication.principal(ctx));
            ctx.json(new KeyRotation(r.owner(), r.previousVersion(), r.version(), r.dataKeysRewrapped()));
        });
    }

    private void create(Context ctx) {
        CreateProject body = WireJson.read(ctx.bodyAsBytes(), CreateProject.class);
        ctx.status(201).json(project(projects.create(body.name(), Authentication.principal(ctx))));
    }

    private void update(Context ctx) {
        JsonNode tree = WireJson.tree(ctx.bodyAsBytes());
        tree.fieldNames().forEachRemaining(field -> {
            if (!UpdateProject.FIELDS.contains(field)) {
                throw FactoryException.invalidParam(field, "'" + field + "' can't be changed; a project's "
                        + "settings are: " + String.join(", ", UpdateProject.FIELDS));
            }
        });
        UpdateProject body = WireJson.bind(tree, UpdateProject.class);
        Project p = projects.get(ctx.pathParam("name"));
        String name = p.name();
        // Everything is checked before anything changes, so that a refused request changes nothing.
        Optional<ModelsConfig.SignaturePolicy> policy = Optional.empty();
        if (body.signaturePolicy() != null && !body.signaturePolicy().equalsIgnoreCase("site")) {
            try {
                policy = Optional.of(ModelsConfig.SignaturePolicy.parse(body.signaturePolicy()));
            } catch (IllegalArgumentException e) {
                throw FactoryException.invalidParam("signaturePolicy", "signaturePolicy is off, warn, require or "
                        + "site (the site's applies), not '" + body.signaturePolicy() + "'");
            }
        }
        String signers = body.trustedSigners() == null || body.trustedSigners().equalsIgnoreCase("site") ? null
                : body.trustedSigners();
        if (signers != null) {
            ai.factory.security.signing.ModelSigning.Trust.parse(signers, "trustedSigners");
        }
        Boolean on = body.contentLogging();
        if (Boolean.TRUE.equals(on)) {
            // Logged content is encrypted under the project's key, made now (not on a request's path).
            keys.ensureKek(name);
        }
        if (body.trustedSigners() != null) {
            signatures.setProjectSigners(name, signers, Authentication.principal(ctx));
        }
        if (body.signaturePolicy() != null) {
            signatures.setProjectPolicy(name, policy.orElse(null), Authentication.principal(ctx));
        }
        if (on != null) {
            p = projects.setContentLogging(name, on, Authentication.principal(ctx));
        }
        ctx.json(project(p));
    }

    private ProjectWire.Project project(Project p) {
        return project(p, signatures.projectRules(p.name()).orElse(null));
    }

    private static ProjectWire.Project project(Project p, ModelSignatures.@Nullable ProjectRules rules) {
        ModelsConfig.SignaturePolicy policy = rules == null ? null : rules.policy();
        String signers = rules == null ? null : rules.signers();
        return new ProjectWire.Project(p.name(), p.createdAt(), p.createdBy(), p.contentLogging(),
                policy == null ? null : policy.id(), signers == null ? null
                        : ai.factory.security.signing.ModelSigning.Trust.parse(signers, "trustedSigners").describe());
    }
}
