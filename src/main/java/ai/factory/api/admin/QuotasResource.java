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
import ai.factory.api.codec.admin.QuotaWire;
import ai.factory.api.codec.admin.QuotaWire.QuotaList;
import ai.factory.api.codec.admin.QuotaWire.SetQuota;
import ai.factory.engine.Priority;
import ai.factory.models.ModelRef;
import ai.factory.quotas.Limits;
import ai.factory.quotas.Quota;
import ai.factory.quotas.QuotaScope;
import ai.factory.quotas.Quotas;
import ai.factory.security.Action;
import ai.factory.security.ApiKey;
import ai.factory.security.ApiKeys;
import ai.factory.security.Resource;
import ai.factory.tenancy.Projects;
import io.javalin.http.Context;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Quotas: {@code GET /api/v1/quotas[?project=]}, {@code PUT /api/v1/quotas} (one scope's limits, replacing what it
 * had) and {@code DELETE /api/v1/quotas?project=&key=&model=}. A project's own limits (on every model or on one) are
 * set by site admins; project admins set their keys' limits, within the project's. Everyone in a project reads its
 * quotas; auditors read every project's.
 */
public final class QuotasResource implements Routes {
    private static final Set<String> LIST_PARAMS = Set.of("project");
    private static final Set<String> SCOPE_PARAMS = Set.of("project", "key", "model");
    private static final List<String> FIELDS = java.util.Arrays.stream(SetQuota.class.getRecordComponents())
            .map(java.lang.reflect.RecordComponent::getName).toList();

    private final Quotas quotas;
    private final Projects projects;
    private final ApiKeys keys;
    private final Access access;

    public QuotasResource(Quotas quotas, Projects projects, ApiKeys keys, Access access) {
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.projects = requireNonNull(projects, "projects is null");
        this.keys = requireNonNull(keys, "keys is null");
        this.access = requireNonNull(access, "access is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.get("/api/v1/quotas", Action.READ_QUOTAS, Contract.of("Quotas of projects and keys, with what their "
                + "budgets spent this day and month", null, QuotaList.class), this::list);
        routes.put("/api/v1/quotas", Action.MANAGE_QUOTAS, Contract.of("Set the limits of a project, a key or either "
                + "on one model (replacing what it had)", SetQuota.class, QuotaWire.Quota.class), this::set);
        routes.delete("/api/v1/quotas", Action.MANAGE_QUOTAS, Contract.of("Remove a scope's quota", null,
                QuotaWire.Quota.class), this::remove);
    }

    private void list(Context ctx) {
        AuditResource.checkParams(ctx, LIST_PARAMS);
        Optional<String> project = AuditResource.text(ctx, "project").map(Projects::checkName);
        project.ifPresent(p -> access.require(ctx, Action.READ_QUOTAS, new Resource.Project(p),
                () -> Projects.notFound(p)));
        Map<String, String> keyIds = keyIds();
        ctx.json(new QuotaList(quotas.zone().getId(), quotas.list().stream()
                .filter(q -> project.isEmpty() || q.scope().project().equals(project.get()))
                .filter(q -> access.allows(ctx, Action.READ_QUOTAS, new Resource.Project(q.scope().project())))
                .map(q -> wire(q, keyIds)).toList()));
    }

    private void set(Context ctx) {
        JsonNode tree = WireJson.tree(ctx.bodyAsBytes());
        if (tree.isObject()) {
            // A misspelt limit ("tokensPerday") must not pass as no limit at all.
            for (String field : (Iterable<String>) tree::fieldNames) {
                if (!FIELDS.contains(field)) {
                    throw FactoryException.invalidParam(field, "unknown field '" + field + "'; a quota takes "
                            + String.join(", ", FIELDS));
                }
            }
        }
        SetQuota body = WireJson.bind(tree, SetQuota.class);
        QuotaScope scope = scope(ctx, body.project(), body.key(), body.model());
        Limits limits = new Limits(body.rpm(), body.tpm(), body.concurrency(), body.tokensPerDay(),
                body.tokensPerMonth(), body.priority() == null ? null : Priority.parse(body.priority(), "priority"),
                body.accelerators());
        if (limits.isEmpty()) {
            throw FactoryException.invalidParam("rpm", "set at least one limit (rpm, tpm, concurrency, tokensPerDay, "
                    + "tokensPerMonth, accelerators) or a priority; DELETE /api/v1/quotas removes a quota");
        }
        ctx.json(wire(quotas.set(scope, limits, Authentication.principal(ctx).id()), keyIds()));
    }

    private void remove(Context ctx) {
        AuditResource.checkParams(ctx, SCOPE_PARAMS);
        String project = AuditResource.text(ctx, "project").orElseThrow(() -> FactoryException.invalidParam("project",
                "name the quota's project: ?project=NAME[&key=ID][&model=NS/MODEL]"));
        QuotaScope scope = scope(ctx, project, AuditResource.text(ctx, "key").orElse(null),
                AuditResource.text(ctx, "model").orElse(null));
        Quota quota = quotas.find(scope).orElseThrow(() -> noQuota(scope));
        quotas.remove(scope);
        ctx.json(wire(quota, keyIds()));
    }

    /**
     * The scope named, once the caller may set its limits: a key's need {@code manageQuotas} on the key (project
     * admins have it for their project's keys), a project's own need {@code manageProjects} too (site admins).
     */
    private QuotaScope scope(Context ctx, String project, @Nullable String key, @Nullable String model) {
        Projects.checkName(project);
        projects.get(project);
        access.require(ctx, Action.MANAGE_QUOTAS, new Resource.Project(project), () -> Projects.notFound(project));
        String modelName = model == null || model.isBlank() ? "" : modelName(model);
        if (key == null || key.isBlank()) {
            access.require(ctx, Action.MANAGE_PROJECTS, new Resource.Project(project));
            return new QuotaScope(project, "", modelName);
        }
        ApiKey k = keys.find(key).or(() -> keys.list().stream().filter(found -> found.principal().id().equals(key))
                        .findFirst())
                .filter(found -> found.principal().project().equals(project))
                .orElseThrow(() -> FactoryException.about(ErrorCode.NOT_FOUND, "key", "no API key with id '" + key
                        + "' in project '" + project + "'"));
        access.require(ctx, Action.MANAGE_QUOTAS, new Resource.Key(k.id(), project, k.principal().role()),
                () -> FactoryException.about(ErrorCode.NOT_FOUND, "key", "no API key with id '" + key + "'"));
        // Calls carry the key's principal, which the audit trail records too: the quota is kept under it.
        return new QuotaScope(project, k.principal().id(), modelName);
    }

    private static String modelName(String model) {
        ModelRef ref = ModelRef.parse(model);
        if (ref.version().isPresent()) {
            throw FactoryException.invalidParam("model", "a quota applies to every version of a model: name it "
                    + "without ':" + ref.version().getAsInt() + "'");
        }
        return ref.name().toString();
    }

    private static FactoryException noQuota(QuotaScope scope) {
        return new FactoryException(ErrorCode.NOT_FOUND, "no quota is set on " + scope.describe());
    }

    /** Each key's id by its principal, as quotas name keys. */
    private Map<String, String> keyIds() {
        Map<String, String> ids = new java.util.HashMap<>();
        keys.list().forEach(k -> ids.put(k.principal().id(), k.id()));
        return ids;
    }

    private QuotaWire.Quota wire(Quota q, Map<String, String> keyIds) {
        Limits l = q.limits();
        QuotaScope s = q.scope();
        Quotas.Spent spent = quotas.spent(s);
        String keyId = !s.isKey() ? null : keyIds.getOrDefault(s.key(), s.key());
        return new QuotaWire.Quota(s.project(), keyId, s.isKey() ? s.key() : null, s.isModel() ? s.model() : null,
                l.rpm(),
                l.tpm(), l.concurrency(), l.tokensPerDay(), l.tokensPerMonth(),
                l.priority() == null ? null : l.priority().id(), l.accelerators(),
                l.tokensPerDay() == null ? null : spent.today(), l.tokensPerMonth() == null ? null : spent.thisMonth(),
                q.updatedAt(), q.updatedBy());
    }
}
