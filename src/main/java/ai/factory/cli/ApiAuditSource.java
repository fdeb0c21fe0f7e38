package ai.factory.cli;

import static java.util.Objects.requireNonNull;

import ai.factory.api.codec.admin.AuditWire;
import ai.factory.security.audit.AuditDigest;
import ai.factory.security.audit.AuditEvent;
import ai.factory.security.audit.AuditRecord;
import ai.factory.security.audit.AuditSource;
import org.jspecify.annotations.Nullable;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The chain as a running factory serves it ({@code GET /api/v1/audit/chain…}), for {@code factory audit verify}
 * while the factory holds its embedded database. The command checks every record and digest itself with the public
 * key it was given, as it does offline: the server's word is taken for nothing but which rows there are.
 */
final class ApiAuditSource implements AuditSource {
    private static final int RECORD_PAGE = 1000;
    private static final int DIGEST_PAGE = 100;

    private final FactoryClient client;
    /** The head read with the last digest, in that order, by the same request. */
    private @Nullable Long head;

    ApiAuditSource(FactoryClient client) {
        this.client = requireNonNull(client, "client is null");
    }

    @Override
    public Optional<AuditDigest> lastDigest() {
        AuditWire.ChainHead chain = client.get("/api/v1/audit/chain", AuditWire.ChainHead.class);
        head = chain.headSeq();
        return Optional.ofNullable(chain.lastDigest()).map(ApiAuditSource::digest);
    }

    /** The head read with the last {@link #lastDigest}, which the server reads after it; else read now. */
    @Override
    public long headSeq() {
        if (head == null) {
            lastDigest();
        }
        return requireNonNull(head, "lastDigest reads the head");
    }

    @Override
    public List<AuditRecord> records(long from, long to, int limit) {
        if (from > to) {
            return List.of();
        }
        return client.get("/api/v1/audit/chain/records?fromSeq=" + from + "&toSeq=" + to + "&limit="
                        + Math.min(limit, RECORD_PAGE), AuditWire.RecordList.class).records().stream()
                .map(ApiAuditSource::record).toList();
    }

    @Override
    public List<AuditDigest> digests(long fromLastSeq, long toLastSeq, int limit, boolean withRecordHashes) {
        if (toLastSeq < 1 || fromLastSeq > toLastSeq) {
            return List.of();
        }
        return client.get("/api/v1/audit/chain/digests?fromSeq=" + Math.max(1, fromLastSeq) + "&toSeq=" + toLastSeq
                        + "&limit=" + Math.min(limit, DIGEST_PAGE) + "&recordHashes=" + withRecordHashes,
                AuditWire.DigestList.class).digests().stream().map(ApiAuditSource::digest).toList();
    }

    @Override
    public Optional<long[]> seqRange(Optional<Instant> from, Optional<Instant> to) {
        StringBuilder query = new StringBuilder();
        from.ifPresent(f -> query.append("&from=").append(URLEncoder.encode(f.toString(), StandardCharsets.UTF_8)));
        to.ifPresent(t -> query.append("&to=").append(URLEncoder.encode(t.toString(), StandardCharsets.UTF_8)));
        AuditWire.ChainHead chain = client.get("/api/v1/audit/chain"
                + (query.isEmpty() ? "" : "?" + query.substring(1)), AuditWire.ChainHead.class);
        return chain.rangeFirstSeq() == null ? Optional.empty()
                : Optional.of(new long[] {chain.rangeFirstSeq(), chain.rangeLastSeq()});
    }

    private static AuditRecord record(AuditWire.Record r) {
        return new AuditRecord(r.seq(), new AuditEvent(r.at(), r.principalId(), r.principalName(), r.project(),
                r.action(), r.resource(), r.decision(), r.outcome(), r.status(), r.client(), r.requestId(),
                r.bytesIn(), r.bytesOut(), r.promptTokens(), r.completionTokens(), r.detail()),
                String.valueOf(r.prevHash()), String.valueOf(r.hash()));
    }

    private static AuditDigest digest(AuditWire.Digest d) {
        Optional<AuditDigest.Cadence> cadence = Optional.empty();
        if (d.version() != 1) {
            try {
                cadence = Optional.of(new AuditDigest.Cadence(d.every(), Duration.ofMillis(d.intervalMillis())));
            } catch (IllegalArgumentException e) {
                // As the store reads such a row: as signed, for the signature check to refuse.
                cadence = Optional.of(new AuditDigest.Cadence(1, Duration.ofMillis(1)));
            }
        }
        return new AuditDigest(d.version() == 1 ? 1 : AuditDigest.CURRENT_VERSION, d.firstSeq(), d.lastSeq(),
                d.count(), d.firstAt(), d.lastAt(), String.valueOf(d.headHash()), d.createdAt(),
                String.valueOf(d.keyId()), String.valueOf(d.prevDigest()), cadence, d.closing(),
                String.valueOf(d.recordsHash()), Optional.ofNullable(d.recordHashes()),
                String.valueOf(d.signature()));
    }
}
