package ai.factory.security.audit;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.config.AuditConfig;
import ai.factory.security.audit.AuditVerification.Kind;
import ai.factory.storage.Database;
import ai.factory.storage.TestDatabases;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Someone who can write the database, against a stopped store on real H2 and PostgreSQL: each way of tampering
 * with it fails verification (with the public key and the anchor the factory keeps in its home, as
 * {@code factory audit verify --home} reads them) at the first broken record, and fails against an anchor an
 * auditor took before. The tampering is plain SQL over JDBC; where an attacker would recompute hashes or signatures,
 * the test does so with the algorithm docs/audit.md publishes.
 *
 * <p>Each case builds a fresh chain in the class's one database per kind: records 1 (the writer's start), 2 to 19
 * (eighteen events), 20 (its stop), digests over 1, 2-6, 7-11, 12-16 and the final one over 17-20.
 */
class AuditTamperTest {
    private static final AuditConfig EVERY_FIVE = new AuditConfig(5, Duration.ofHours(1));
    private static final int EVENTS = 18;

    @TempDir
    static Path dir;

    private static final Map<TestDatabases.Kind, Site> SITES = new EnumMap<>(TestDatabases.Kind.class);

    /** A database and a factory home (public key, anchor) of one kind, shared by the class's cases. */
    private record Site(TestDatabases.Kind kind, TestDatabases.Scratch scratch, Database db, Path home) {
        HomeAnchor homeAnchor() {
            return new HomeAnchor(home.resolve("audit.anchor"), scratch.config());
        }

        AuditStore store() {
            return new AuditStore(db.jdbi());
        }
    }

    private static synchronized Site site(TestDatabases.Kind kind) throws Exception {
        if (!SITES.containsKey(kind)) {
            Path home = Files.createDirectories(dir.resolve(kind.name()));
            TestDatabases.Scratch scratch = TestDatabases.scratch(kind, home);
            SITES.put(kind, new Site(kind, scratch, Database.open(scratch.config()), home));
        }
        return SITES.get(kind);
    }

    @AfterAll
    static void closeSites() {
        SITES.values().forEach(s -> {
            s.db().close();
            s.scratch().close();
        });
    }

    private final AuditKey key = AuditKey.generate();

    /**
     * Clears the site and writes a chain as a factory would, with its home anchor and, on embedded H2, a closing
     * final digest; the public key goes to the home's {@code audit.pub}.
     */
    private Site freshChain(TestDatabases.Kind kind) throws Exception {
        Site site = site(kind);
        site.db().jdbi().useHandle(h -> {
            h.execute("DELETE FROM audit_digests");
            h.execute("DELETE FROM audit_records");
        });
        Files.deleteIfExists(site.home().resolve("audit.anchor"));
        Files.writeString(site.home().resolve("audit.pub"), key.publicKeyPem());
        try (AuditLog log = new AuditLog(site.store(), key, EVERY_FIVE, AuditChainTest.CLOCK,
                new SimpleMeterRegistry(), new AuditLog.Options(kind == TestDatabases.Kind.H2,
                Optional.of(site.homeAnchor()), written -> {}))) {
            for (int i = 0; i < EVENTS; i++) {
                log.record(AuditChainTest.event(i));
            }
            assertThat(log.awaitWritten(Duration.ofMinutes(1))).isTrue();
        }
        return site;
    }

    /** As {@code factory audit verify --home}: the home's public key, its anchor, and any anchors given. */
    private static AuditVerification verify(Site site, boolean homeAnchor, List<AuditAnchor> anchors) throws Exception {
        return verifier(site, homeAnchor).verify(new AuditVerifier.Options(Optional.empty(), Optional.empty(),
                anchors, true));
    }

    private static AuditVerifier verifier(Site site, boolean homeAnchor) throws Exception {
        var publicKey = AuditKey.parsePublicKey(Files.readString(site.home().resolve("audit.pub")));
        return new AuditVerifier(site.store(), publicKey, EVERY_FIVE, () -> homeAnchor
                ? site.homeAnchor().read().map(List::of).orElse(List.of()) : List.of());
    }

    static Stream<Arguments> matrix() {
        return TestDatabases.both().flatMap(kind -> Stream.of(Tamper.values())
                .map(t -> Arguments.of(kind, Named.of(t.name().toLowerCase().replace('_', ' '), t))));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("matrix")
    void tamperingFailsVerificationAtTheFirstBrokenRecordAndAgainstAnEarlierAnchor(TestDatabases.Kind kind,
                                                                                   Tamper tamper) throws Exception {
        Site site = freshChain(kind);
        AuditAnchor kept = AuditAnchor.of(site.store().lastDigest().orElseThrow());
        assertThat(kept.seq()).isEqualTo(20);
        assertThat(site.homeAnchor().read()).contains(kept);
        AuditVerification before = verify(site, true, List.of(kept));
        assertThat(before.ok()).as("%s", before).isTrue();
        assertThat(before.records()).isEqualTo(20);
        assertThat(before.anchors()).isEqualTo(2);

        tamper.apply(new Attack(site, key));

        AuditVerification v = verify(site, true, List.of());
        assertThat(v.ok()).as("verify after %s", tamper).isFalse();
        AuditVerification.Problem p = v.problem().orElseThrow();
        assertThat(p.seq()).as("the first broken record: %s", p).isEqualTo(tamper.firstBroken);
        assertThat(p.kind()).as("%s", p).isEqualTo(tamper.kind);

        AuditVerification againstAnchor = verify(site, false, List.of(kept));
        assertThat(againstAnchor.ok()).as("verify --anchor after %s", tamper).isFalse();

        AuditVerification atStart = verifier(site, true).verifyAtStart(List.of());
        // A start reads the digests and the records since the last one, not every record they cover.
        assertThat(atStart.ok()).as("start check after %s: %s", tamper, atStart.problem()).isEqualTo(!tamper.seenAtStart);
    }

    @Test
    void aRecordAppendedAfterACleanShutdownOnEmbeddedH2Fails() throws Exception {
        Site site = freshChain(TestDatabases.Kind.H2);
        assertThat(site.store().lastDigest().orElseThrow().closing()).isTrue();
        Attack attack = new Attack(site, key);
        AuditRecord last = site.store().head().orElseThrow();
        attack.insert(21, AuditChainTest.event(999, last.event().at()), last.hash());
        AuditVerification v = verify(site, true, List.of());
        assertThat(v.problem()).hasValueSatisfying(p -> {
            assertThat(p.kind()).isEqualTo(Kind.UNSIGNED);
            assertThat(p.seq()).isEqualTo(21);
            assertThat(p.message()).contains("stopped cleanly");
        });
        assertThat(verifier(site, true).verifyAtStart(List.of()).ok()).isFalse();
    }

    @Test
    void anAnchorFromAnotherDatabaseIsNotHeldAgainstThisOne() throws Exception {
        Site site = freshChain(TestDatabases.Kind.H2);
        Path file = site.home().resolve("audit.anchor");
        assertThat(Files.readString(file)).contains("database " + site.scratch().config().url().split(";")[0]);
        new HomeAnchor(file, new ai.factory.config.DatabaseConfig("jdbc:postgresql://db.example/other", null, null))
                .write(AuditAnchor.of(site.store().lastDigest().orElseThrow()));
        assertThat(site.homeAnchor().read()).isEmpty();
        Files.writeString(file, "database " + site.scratch().config().url().split(";")[0] + "\nfa1:20:nothex\n");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> site.homeAnchor().read())
                .hasMessageContaining("is damaged");
    }

    /** Each way someone who can write the database might rewrite history, with where verification must stop. */
    enum Tamper {
        DELETE_ALL_DIGESTS(1, Kind.DIGEST_MISSING, true) {
            @Override
            void apply(Attack a) throws Exception {
                a.sql("DELETE FROM audit_digests");
            }
        },
        DELETE_ONE_DIGEST(7, Kind.DIGEST_MISSING, true) {
            @Override
            void apply(Attack a) throws Exception {
                a.sql("DELETE FROM audit_digests WHERE first_seq = 7");
            }
        },
        DELETE_TAIL_WITH_ITS_DIGEST(17, Kind.DELETED, true) {
            @Override
            void apply(Attack a) throws Exception {
                a.sql("DELETE FROM audit_records WHERE seq >= 17");
                a.sql("DELETE FROM audit_digests WHERE first_seq = 17");
            }
        },
        EDIT_AND_REHASH_WITH_DIGESTS(9, Kind.EDITED, true) {
            @Override
            void apply(Attack a) throws Exception {
                a.sql("UPDATE audit_records SET principal_name = 'someone-else' WHERE seq = 9");
                a.rehashFrom(9);
            }
        },
        EDIT_AND_REHASH_WITHOUT_DIGESTS(1, Kind.DIGEST_MISSING, true) {
            @Override
            void apply(Attack a) throws Exception {
                a.sql("DELETE FROM audit_digests");
                a.sql("UPDATE audit_records SET principal_name = 'someone-else' WHERE seq = 9");
                a.rehashFrom(9);
            }
        },
        REORDER_RECORDS(9, Kind.REORDERED, false) {
            @Override
            void apply(Attack a) throws Exception {
                a.sql("UPDATE audit_records SET seq = -1 WHERE seq = 9");
                a.sql("UPDATE audit_records SET seq = 9 WHERE seq = 10");
                a.sql("UPDATE audit_records SET seq = 10 WHERE seq = -1");
            }
        },
        INSERT_A_FORGED_RECORD(9, Kind.EDITED, true) {
            @Override
            void apply(Attack a) throws Exception {
                a.sql("UPDATE audit_records SET seq = -seq - 1 WHERE seq >= 9");
                a.sql("UPDATE audit_records SET seq = -seq WHERE seq < 0");
                AuditRecord before = a.site.store().record(8).orElseThrow();
                a.insert(9, AuditChainTest.event(500, before.event().at()), before.hash());
                a.rehashFrom(10);
            }
        },
        REPLACE_THE_PUBLIC_KEY(1, Kind.FORGED_DIGEST, true) {
            @Override
            void apply(Attack a) throws Exception {
                a.sql("UPDATE audit_records SET principal_name = 'someone-else' WHERE seq = 9");
                a.rehashFrom(9);
                AuditKey mine = AuditKey.generate();
                a.resignDigests(mine);
                Files.writeString(a.site.home().resolve("audit.pub"), mine.publicKeyPem());
                // With the key kept elsewhere, the re-signed digests fail from the first.
                AuditVerification withKept = new AuditVerifier(a.site.store(), a.genuine.publicKey(), EVERY_FIVE)
                        .verify(Optional.empty(), Optional.empty());
                assertThat(withKept.problem()).hasValueSatisfying(p -> {
                    assertThat(p.kind()).isEqualTo(Kind.FORGED_DIGEST);
                    assertThat(p.seq()).isEqualTo(1);
                });
            }
        };

        final long firstBroken;
        final Kind kind;
        final boolean seenAtStart;

        Tamper(long firstBroken, Kind kind, boolean seenAtStart) {
            this.firstBroken = firstBroken;
            this.kind = kind;
            this.seenAtStart = seenAtStart;
        }

        abstract void apply(Attack a) throws Exception;
    }

    /** What someone with the database's JDBC URL and the published formats can do. */
    static final class Attack {
        private static final String COLUMNS = "seq, at, principal_id, principal_name, project, action, resource, "
                + "decision, outcome, status, client, request_id, bytes_in, bytes_out, prompt_tokens, "
                + "completion_tokens, detail, prev_hash, hash";

        private final Site site;
        private final AuditKey genuine;

        Attack(Site site, AuditKey genuine) {
            this.site = site;
            this.genuine = genuine;
        }

        void sql(String statement) throws SQLException {
            try (Connection c = connection(); Statement s = c.createStatement()) {
                s.executeUpdate(statement);
            }
        }

        void insert(long seq, AuditEvent e, String prevHash) throws SQLException {
            try (Connection c = connection(); PreparedStatement s = c.prepareStatement("INSERT INTO audit_records ("
                    + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                s.setLong(1, seq);
                s.setTimestamp(2, java.sql.Timestamp.from(e.at()));
                s.setString(3, e.principalId());
                s.setString(4, e.principalName());
                s.setString(5, e.project());
                s.setString(6, e.action());
                s.setString(7, e.resource());
                s.setString(8, e.decision());
                s.setString(9, e.outcome());
                s.setInt(10, e.status());
                s.setString(11, e.client());
                s.setString(12, e.requestId());
                s.setLong(13, e.bytesIn());
                s.setLong(14, e.bytesOut());
                s.setLong(15, e.promptTokens());
                s.setLong(16, e.completionTokens());
                s.setString(17, e.detail());
                s.setString(18, prevHash);
                s.setString(19, AuditHashing.hash(seq, e, prevHash));
                s.executeUpdate();
            }
        }

        /** Recomputes every hash from record {@code from} on, so each record again gives its hash and links. */
        void rehashFrom(long from) throws SQLException {
            try (Connection c = connection()) {
                String prev = from == 1 ? AuditHashing.GENESIS : hashOf(c, from - 1);
                List<Object[]> updates = new ArrayList<>();
                try (PreparedStatement q = c.prepareStatement("SELECT " + COLUMNS + " FROM audit_records "
                        + "WHERE seq >= ? ORDER BY seq")) {
                    q.setLong(1, from);
                    try (ResultSet rs = q.executeQuery()) {
                        while (rs.next()) {
                            long seq = rs.getLong("seq");
                            String hash = AuditHashing.hash(seq, event(rs), prev);
                            updates.add(new Object[] {prev, hash, seq});
                            prev = hash;
                        }
                    }
                }
                try (PreparedStatement u = c.prepareStatement("UPDATE audit_records SET prev_hash = ?, hash = ? "
                        + "WHERE seq = ?")) {
                    for (Object[] row : updates) {
                        u.setString(1, (String) row[0]);
                        u.setString(2, (String) row[1]);
                        u.setLong(3, (Long) row[2]);
                        u.executeUpdate();
                    }
                }
            }
        }

        /** Signs every digest again with {@code key}, over the records as they now are, each linked to the last. */
        void resignDigests(AuditKey key) throws SQLException {
            List<AuditDigest> digests = site.store().digests(1, Long.MAX_VALUE, 1000, false);
            String prev = "";
            try (Connection c = connection(); PreparedStatement u = c.prepareStatement("UPDATE audit_digests SET "
                    + "head_hash = ?, key_id = ?, prev_digest = ?, records_hash = ?, record_hashes = ?, "
                    + "signature = ? WHERE first_seq = ?")) {
                for (AuditDigest d : digests) {
                    StringBuilder hashes = new StringBuilder();
                    String head = "";
                    for (long seq = d.firstSeq(); seq <= d.lastSeq(); seq++) {
                        head = hashOf(c, seq);
                        hashes.append(head, 0, AuditDigest.PREFIX);
                    }
                    AuditDigest resigned = key.sign(AuditDigest.unsigned(d.firstSeq(), d.lastSeq(), d.firstAt(),
                            d.lastAt(), head, d.createdAt(), key.keyId(), prev, d.cadence().orElseThrow(),
                            d.closing(), hashes.toString()));
                    u.setString(1, head);
                    u.setString(2, resigned.keyId());
                    u.setString(3, prev);
                    u.setString(4, resigned.recordsHash());
                    u.setString(5, hashes.toString());
                    u.setString(6, resigned.signature());
                    u.setLong(7, d.firstSeq());
                    u.executeUpdate();
                    prev = resigned.hash();
                }
            }
        }

        private Connection connection() throws SQLException {
            return java.sql.DriverManager.getConnection(site.scratch().config().url(), site.scratch().config().user(),
                    site.scratch().config().password());
        }

        private static String hashOf(Connection c, long seq) throws SQLException {
            try (PreparedStatement q = c.prepareStatement("SELECT hash FROM audit_records WHERE seq = ?")) {
                q.setLong(1, seq);
                try (ResultSet rs = q.executeQuery()) {
                    if (!rs.next()) {
                        throw new IllegalStateException("no record " + seq);
                    }
                    return rs.getString(1);
                }
            }
        }

        private static AuditEvent event(ResultSet rs) throws SQLException {
            Instant at = rs.getTimestamp("at").toInstant();
            return new AuditEvent(at, rs.getString("principal_id"), rs.getString("principal_name"),
                    rs.getString("project"), rs.getString("action"), rs.getString("resource"),
                    rs.getString("decision"), rs.getString("outcome"), rs.getInt("status"), rs.getString("client"),
                    rs.getString("request_id"), rs.getLong("bytes_in"), rs.getLong("bytes_out"),
                    rs.getLong("prompt_tokens"), rs.getLong("completion_tokens"), rs.getString("detail"));
        }
    }
}
