package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.api.Access;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.admin.UsageWire;
import ai.factory.api.codec.admin.UsageWire.UsageReport;
import ai.factory.security.Action;
import ai.factory.tenancy.Projects;
import ai.factory.security.Resource;
import ai.factory.security.audit.AuditStore;
import io.javalin.http.Context;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What projects consumed: {@code GET /api/v1/usage[?project=&from=&to=]}, inference requests, tokens and bytes by
 * project and model, summed from the audit trail (so a project's usage is as tamper-evident as its records). A
 * project admin sees its own project, auditors and admins every project, deleted ones included.
 */
public final class UsageResource implements Routes {
    private static final Set<String> PARAMS = Set.of("project", "from", "to");

    private final AuditStore store;
    private final Access access;

    public UsageResource(AuditStore store, Access access) {
        this.store = requireNonNull(store, "store is null");
        this.access = requireNonNull(access, "access is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.get("/api/v1/usage", Action.READ_USAGE, Contract.of(
                "Inference requests, tokens and bytes by project and model, from the audit trail", null,
                UsageReport.class), this::usage);
    }

    private void usage(Context ctx) {
        AuditResource.checkParams(ctx, PARAMS);
        Optional<String> project = AuditResource.text(ctx, "project").map(Projects::checkName);
        project.ifPresent(p -> access.require(ctx, Action.READ_USAGE, new Resource.Project(p)));
        Optional<Instant> from = AuditResource.time(ctx, "from");
        Optional<Instant> to = AuditResource.time(ctx, "to");
        AuditResource.checkRange(from, to);
        List<AuditStore.Usage> rows = store.usage(project, from, to).stream()
                .filter(u -> access.allows(ctx, Action.READ_USAGE, new Resource.Project(u.project())))
                .toList();
        ctx.json(new UsageReport(from.orElse(null), to.orElse(null), rows.stream().map(UsageResource::usage)
                .toList()));
    }

    private static UsageWire.Usage usage(AuditStore.Usage u) {
        return new UsageWire.Usage(u.project(), u.model(), u.requests(), u.failed(), u.promptTokens(),
                u.completionTokens(), u.bytesIn(), u.bytesOut());
    }
}
