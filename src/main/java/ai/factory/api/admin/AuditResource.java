package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.api.Access;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.admin.AuditWire;
import ai.factory.api.codec.admin.AuditWire.Content;
import ai.factory.api.codec.admin.AuditWire.RecordList;
import ai.factory.api.codec.admin.AuditWire.Verification;
import ai.factory.security.Action;
import ai.factory.security.Principal;
import ai.factory.security.Projects;
import ai.factory.security.Resource;
import ai.factory.security.audit.AuditContent;
import ai.factory.security.audit.AuditEvent;
import ai.factory.security.audit.AuditLog;
import ai.factory.security.audit.AuditQuery;
import ai.factory.security.audit.AuditRecord;
import ai.factory.security.audit.AuditVerification;
import ai.factory.security.audit.AuditVerifier;
import io.javalin.http.Context;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The audit trail (admin and auditor): {@code GET /api/v1/audit} with filters, {@code GET /api/v1/audit/verify},
 * {@code GET /api/v1/audit/public-key}, the key to verify with offline, and
 * {@code GET /api/v1/audit/content/{project}/{sha256}}, the text a call of a project that logs content left (the
 * record's detail names it).
 */
public final class AuditResource implements Routes {
    private static final Set<String> QUERY_PARAMS = Set.of("principal", "project", "action", "outcome", "from", "to",
            "limit");
    private static final Set<String> RANGE_PARAMS = Set.of("from", "to");

    private final AuditLog audit;
    private final AuditVerifier verifier;
    private final AuditContent content;
    private final Access access;

    public AuditResource(AuditLog audit, AuditVerifier verifier, AuditContent content, Access access) {
        this.audit = requireNonNull(audit, "audit is null");
        this.verifier = requireNonNull(verifier, "verifier is null");
        this.content = requireNonNull(content, "content is null");
        this.access = requireNonNull(access, "access is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.get("/api/v1/audit", Action.READ_AUDIT, Contract.of("Search the audit trail, newest first", null,
                RecordList.class), this::query);
        routes.get("/api/v1/audit/verify", Action.READ_AUDIT, Contract.of(
                "Check the audit chain and its signed digests", null, Verification.class), ctx -> {
            checkParams(ctx, RANGE_PARAMS);
            Optional<Instant> from = time(ctx, "from");
            Optional<Instant> to = time(ctx, "to");
            checkRange(from, to);
            ctx.json(verification(verifier.verify(from, to), audit.droppedCount()));
        });
        routes.get("/api/v1/audit/public-key", Action.READ_AUDIT, Contract.of(
                "The Ed25519 public key that verifies the audit digests", null, AuditWire.PublicKey.class), ctx -> {
            checkParams(ctx, Set.of());
            ctx.json(new AuditWire.PublicKey("Ed25519", audit.key().keyId(), audit.key().publicKeyPem()));
        });
        routes.get("/api/v1/audit/content/{project}/{sha256}", Action.READ_AUDIT, Contract.of(
                "The content a call of a project that logs content left", null, Content.class), ctx -> {
            checkParams(ctx, Set.of());
            String project = Projects.checkName(ctx.pathParam("project"));
            // The route checked the caller's own project; the content is the named project's.
            access.require(ctx, Action.READ_AUDIT, new Resource.Project(project));
            AuditContent.Entry e = content.read(project, ctx.pathParam("sha256"));
            ctx.json(new Content(e.project(), e.sha256(), e.requestId(), e.at(), Json.mapper().readTree(e.content())));
        });
    }

    /** The chain's state as {@code GET /api/v1/audit/verify} answers it. */
    static Verification verification(AuditVerification v, long dropped) {
        return new Verification(v.ok(), v.records(), v.digests(), v.firstSeq(), v.lastSeq(), v.undigested(),
                v.lastDigestAt().orElse(null), dropped, v.problem().map(p -> new AuditWire.Problem(
                        p.kind().name().toLowerCase(Locale.ROOT), p.seq(), p.message())).orElse(null));
    }

    private void query(Context ctx) {
        checkParams(ctx, QUERY_PARAMS);
        Optional<String> outcome = text(ctx, "outcome");
        if (outcome.isPresent() && !outcome.get().equals(AuditEvent.SUCCESS) && !outcome.get().equals(AuditEvent.FAILURE)) {
            throw FactoryException.invalidParam("outcome", "'outcome' must be success or failure, not '"
                    + outcome.get() + "'");
        }
        Optional<Instant> from = time(ctx, "from");
        Optional<Instant> to = time(ctx, "to");
        checkRange(from, to);
        int limit = AuditQuery.DEFAULT_LIMIT;
        Optional<String> limitText = text(ctx, "limit");
        if (limitText.isPresent()) {
            try {
                limit = Integer.parseInt(limitText.get());
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > AuditQuery.MAX_LIMIT) {
                throw FactoryException.invalidParam("limit", "'limit' must be a whole number from 1 to "
                        + AuditQuery.MAX_LIMIT + ", not '" + limitText.get() + "'");
            }
        }
        List<AuditRecord> records = audit.store().query(new AuditQuery(text(ctx, "principal"), text(ctx, "project"),
                text(ctx, "action"), outcome, from, to, limit));
        // Each record is its project's: a site policy may hold an auditor to some projects. Records of calls that
        // were never authenticated (no project) count as the default project's.
        Map<String, Boolean> readable = new HashMap<>();
        ctx.json(new RecordList(records.stream()
                .filter(r -> readable.computeIfAbsent(r.event().project().isEmpty() ? Principal.DEFAULT_PROJECT
                        : r.event().project(), p -> access.allows(ctx, Action.READ_AUDIT, new Resource.Project(p))))
                .map(AuditResource::record).toList()));
    }

    static void checkParams(Context ctx, Set<String> allowed) {
        for (var e : ctx.queryParamMap().entrySet()) {
            if (!allowed.contains(e.getKey())) {
                throw FactoryException.invalidParam(e.getKey(), "unknown parameter '" + e.getKey() + "'"
                        + (allowed.isEmpty() ? "; this endpoint takes none" : "; use " + String.join(", ",
                        allowed.stream().sorted().toList())));
            }
            if (e.getValue().size() > 1) {
                throw FactoryException.invalidParam(e.getKey(), "'" + e.getKey() + "' is given more than once");
            }
        }
    }

    static Optional<String> text(Context ctx, String name) {
        String v = ctx.queryParam(name);
        if (v == null) {
            return Optional.empty();
        }
        if (v.isBlank() || v.length() > 300) {
            throw FactoryException.invalidParam(name, "'" + name + "' must be 1 to 300 characters");
        }
        return Optional.of(v);
    }

    static Optional<Instant> time(Context ctx, String name) {
        return text(ctx, name).map(v -> AuditQuery.parseTime(name, v));
    }

    static void checkRange(Optional<Instant> from, Optional<Instant> to) {
        if (from.isPresent() && to.isPresent() && !from.get().isBefore(to.get())) {
            throw FactoryException.invalidParam("to", "'to' must be after 'from'");
        }
    }

    static AuditWire.Record record(AuditRecord r) {
        AuditEvent e = r.event();
        return new AuditWire.Record(r.seq(), e.at(), e.principalId(), e.principalName(), e.project(), e.action(),
                e.resource(), e.decision(), e.outcome(), e.status(), e.client(), e.requestId(), e.bytesIn(),
                e.bytesOut(), e.promptTokens(), e.completionTokens(), e.detail(), r.prevHash(), r.hash());
    }
}
