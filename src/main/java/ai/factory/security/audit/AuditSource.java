package ai.factory.security.audit;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Where a verifier reads the chain from: the database itself ({@link AuditStore}), or a running factory's API
 * (the command line's {@code audit verify} while the factory holds its embedded database). The verifier trusts
 * nothing it reads: every record is hashed again and every digest checked with the public key it was given.
 */
public interface AuditSource {
    /** The newest digest, without its record list; read before {@link #headSeq} so the head is never behind it. */
    Optional<AuditDigest> lastDigest();

    /** The highest sequence number in the chain; 0 when there is none. */
    long headSeq();

    /** Records with {@code from <= seq <= to} in sequence order, at most {@code limit}. */
    List<AuditRecord> records(long from, long to, int limit);

    /**
     * Digests with {@code fromLastSeq <= lastSeq <= toLastSeq} in order of {@code lastSeq}, at most {@code limit};
     * with their record lists when {@code withRecordHashes}.
     */
    List<AuditDigest> digests(long fromLastSeq, long toLastSeq, int limit, boolean withRecordHashes);

    /** The lowest and highest sequence numbers of records made in {@code [from, to)}; empty if none. */
    Optional<long[]> seqRange(Optional<Instant> from, Optional<Instant> to);
}
