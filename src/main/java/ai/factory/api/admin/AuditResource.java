package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
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
import ai.factory.identity.Principal;
import ai.factory.tenancy.Projects;
import ai.factory.security.Resource;
import ai.factory.security.audit.AuditAnchor;
import ai.factory.security.content.AuditContent;
import ai.factory.security.audit.AuditDigest;
import ai.factory.security.audit.AuditEvent;
import ai.factory.security.audit.AuditLog;
import ai.factory.security.audit.AuditQuery;
import ai.factory.security.audit.AuditRecord;
import ai.factory.security.audit.AuditStartCheck;
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
 * {@code GET /api/v1/audit/public-key}, the key to verify with offline, {@code GET /api/v1/audit/anchor}, the newest
 * signed digest as a line to keep elsewhere, {@code GET /api/v1/audit/chain[/records|/digests]}, the chain as stored
 * for a verifier that checks it itself ({@code factory audit verify} while the factory holds its embedded database),
 * and {@code GET /api/v1/audit/content/{project}/{sha256}}, the text a call of a project that logs content left (the
 * record's detail names it).
 */
public final class AuditResource implements Routes {
    private static final Set<String> QUERY_PARAMS = Set.of("principal", "project", "action", "outcome", "from", "to",
            "limit");
    private static final Set<String> RANGE_PARAMS = Set.of("from", "to");
    private static final Set<String> SEQ_PARAMS = Set.of("fromSeq", "toSeq", "limit");
    private static final Set<String> DIGEST_PARAMS = Set.of("fromSeq", "toSeq", "limit", "recordHashes");
    private static final int MAX_CHAIN_RECORDS = 1000;
    private static final int MAX_CHAIN_DIGESTS = 100;

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
        routes.get("/api/v1/audit/anchor", Action.READ_AUDIT, Contract.of(
                "The newest signed digest as one line to keep outside the factory", null, AuditWire.Anchor.class),
                ctx -> {
                    checkParams(ctx, Set.of());
                    AuditDigest d = audit.store().lastDigest().filter(x -> x.version() != 1).orElseThrow(() ->
                            new FactoryException(ErrorCode.NOT_FOUND, "no signed digest yet"));
                    AuditAnchor a = AuditAnchor.of(d);
                    ctx.json(new AuditWire.Anchor(a.text(), a.seq(), a.digestHash(), a.keyId(), d.createdAt()));
                });
        routes.get("/api/v1/audit/chain", Action.READ_AUDIT, Contract.of(
                "The chain's newest digest and highest record, for a verifier that reads it page by page", null,
                AuditWire.ChainHead.class), ctx -> {
            checkParams(ctx, RANGE_PARAMS);
            Optional<Instant> from = time(ctx, "from");
            Optional<Instant> to = time(ctx, "to");
            checkRange(from, to);
            // The digest first, then the head: the head is never behind the digest read.
            Optional<AuditDigest> last = audit.store().lastDigest();
            long head = audit.store().headSeq();
            Optional<long[]> range = from.isEmpty() && to.isEmpty() ? Optional.empty()
                    : audit.store().seqRange(from, to);
            ctx.json(new AuditWire.ChainHead(head, last.map(AuditResource::digest).orElse(null),
                    range.map(r -> r[0]).orElse(null), range.map(r -> r[1]).orElse(null)));
        });
        routes.get("/api/v1/audit/chain/records", Action.READ_AUDIT, Contract.of(
                "Records as stored, in sequence order, for a verifier", null, RecordList.class), ctx -> {
            checkParams(ctx, SEQ_PARAMS);
            long fromSeq = seq(ctx, "fromSeq", 1);
            long toSeq = seq(ctx, "toSeq", Long.MAX_VALUE);
            int limit = limit(ctx, MAX_CHAIN_RECORDS);
            List<AuditRecord> records = audit.store().records(fromSeq, toSeq, limit);
            // A chain cannot be checked with holes in it: every record must be the caller's to read.
            Map<String, Boolean> readable = new HashMap<>();
            for (AuditRecord r : records) {
                String project = r.event().project().isEmpty() ? Principal.DEFAULT_PROJECT : r.event().project();
                if (!readable.computeIfAbsent(project, p -> access.allows(ctx, Action.READ_AUDIT,
                        new Resource.Project(p)))) {
                    throw new FactoryException(ErrorCode.FORBIDDEN, "record " + r.seq() + " is of project '"
                            + project + "', whose audit records you may not read; the whole chain takes a key that "
                            + "may read every project's (or verify offline from the database)");
                }
            }
            ctx.json(new RecordList(records.stream().map(AuditResource::record).toList()));
        });
        routes.get("/api/v1/audit/chain/digests", Action.READ_AUDIT, Contract.of(
                "Signed digests whose last record is in [fromSeq, toSeq], in order, for a verifier", null,
                AuditWire.DigestList.class), ctx -> {
            checkParams(ctx, DIGEST_PARAMS);
            long fromSeq = seq(ctx, "fromSeq", 1);
            long toSeq = seq(ctx, "toSeq", Long.MAX_VALUE);
            int limit = limit(ctx, MAX_CHAIN_DIGESTS);
            Optional<String> hashes = text(ctx, "recordHashes");
            if (hashes.isPresent() && !hashes.get().equals("true") && !hashes.get().equals("false")) {
                throw FactoryException.invalidParam("recordHashes", "'recordHashes' must be true or false, not '"
                        + hashes.get() + "'");
            }
            ctx.json(new AuditWire.DigestList(audit.store().digests(fromSeq, toSeq, limit,
                    hashes.map(Boolean::parseBoolean).orElse(false)).stream().map(AuditResource::digest).toList()));
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
    public static Verification verification(AuditVerification v, long dropped) {
        return new Verification(v.ok(), v.records(), v.digests(), v.firstSeq(), v.lastSeq(), v.undigested(),
                v.lastDigestAt().orElse(null), dropped, v.problem().map(AuditResource::problem).orElse(null),
                v.cadence().map(c -> new AuditWire.Cadence(c.every(), c.interval().toString())).orElse(null),
                v.anchors(), v.warning().map(AuditResource::problem).orElse(null),
                v.latest().map(AuditAnchor::text).orElse(null));
    }

    /** What the factory found when it started, as the sovereignty report shows it. */
    public static AuditWire.StartCheck startCheck(AuditStartCheck c) {
        return new AuditWire.StartCheck(c.ok(), c.accepted(), c.at(), c.result().problem().map(AuditResource::problem)
                .orElse(null));
    }

    public static AuditWire.Problem problem(AuditVerification.Problem p) {
        return new AuditWire.Problem(p.kind().name().toLowerCase(Locale.ROOT), p.seq(), p.message());
    }

    static AuditWire.Digest digest(AuditDigest d) {
        return new AuditWire.Digest(d.version(), d.firstSeq(), d.lastSeq(), d.count(), d.firstAt(), d.lastAt(),
                d.headHash(), d.createdAt(), d.keyId(), d.prevDigest(), d.cadence().map(AuditDigest.Cadence::every)
                .orElse(0), d.cadence().map(c -> c.interval().toMillis()).orElse(0L), d.closing(), d.recordsHash(),
                d.recordHashes().orElse(null), d.signature(), d.hash());
    }

    private static long seq(Context ctx, String name, long otherwise) {
        return wholeNumber(ctx, name, otherwise, 1, Long.MAX_VALUE, "a record number, 1 or more");
    }

    private static int limit(Context ctx, int max) {
        return (int) wholeNumber(ctx, "limit", max, 1, max, "a whole number from 1 to " + max);
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
        int limit = (int) wholeNumber(ctx, "limit", AuditQuery.DEFAULT_LIMIT, 1, AuditQuery.MAX_LIMIT,
                "a whole number from 1 to " + AuditQuery.MAX_LIMIT);
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

    /**
     * A whole-number query parameter from {@code min} to {@code max}, or {@code otherwise} when it is absent; anything
     * else is a 400 saying it must be {@code what}.
     */
    static long wholeNumber(Context ctx, String name, long otherwise, long min, long max, String what) {
        Optional<String> v = text(ctx, name);
        if (v.isEmpty()) {
            return otherwise;
        }
        try {
            long n = Long.parseLong(v.get());
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw FactoryException.invalidParam(name, "'" + name + "' must be " + what + ", not '" + v.get() + "'");
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
