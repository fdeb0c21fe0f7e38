package ai.factory.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.storage.Database;
import ai.factory.storage.TestDatabases;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Leadership among control-plane replicas on a real PostgreSQL (a schema of its own): one leads at a time, the lock
 * moves when the leader's connection ends, and a write fenced by a term that is no longer current fails.
 */
@ai.factory.ServerTest // one test runs iptables
class LeadershipTest {
    @TempDir
    Path dir;

    @Test
    void oneLeadsAndTheLockMovesWhenItsConnectionEnds() {
        try (Database db = TestDatabases.open(TestDatabases.Kind.POSTGRESQL, dir)) {
            Jdbi jdbi = db.jdbi();
            List<String> told = new CopyOnWriteArrayList<>();
            try (Leadership first = Leadership.on(jdbi, Clock.systemUTC());
                    Leadership second = Leadership.on(jdbi, Clock.systemUTC())) {
                first.listen(new Told("first", told));
                second.listen(new Told("second", told));
                assertThat(first.isLeader()).as("the first to start leads at once").isTrue();
                assertThat(second.isLeader()).isFalse();
                long term = first.term();
                jdbi.useTransaction(first::fence);
                assertThatThrownBy(() -> jdbi.useTransaction(second::fence)).isInstanceOf(FactoryException.class)
                        .satisfies(e -> assertThat(((FactoryException) e).code()).isEqualTo(ErrorCode.UNAVAILABLE))
                        .hasMessageContaining("does not lead");

                // The leader's lock connection ends (its process died, its network broke): the database lets go.
                int ended = jdbi.withHandle(h -> h.createQuery("SELECT pg_terminate_backend(pid) FROM pg_locks "
                                + "WHERE locktype = 'advisory' AND granted AND classid::bigint = :hi AND objid::bigint = :lo "
                                + "AND objsubid = 1").bind("hi", (first.lockKey() >>> 32))
                        .bind("lo", first.lockKey() & 0xffffffffL).mapTo(Boolean.class).list()).size();
                assertThat(ended).as("the leader's lock session").isEqualTo(1);
                await().atMost(Duration.ofSeconds(5)).until(second::isLeader);
                assertThat(second.term()).isGreaterThan(term);
                assertThatThrownBy(() -> jdbi.useTransaction(first::fence)).isInstanceOf(FactoryException.class);
                await().atMost(Duration.ofSeconds(5)).until(() -> !first.isLeader());
                jdbi.useTransaction(second::fence);
                assertThat(told).contains("first elected", "first deposed", "second elected");
            }
        }
    }

    /**
     * A network partition between the leader and the database (its lock session's packets dropped both ways with
     * iptables, the connection left open, as a broken switch leaves it): the database ends the session once its
     * keepalives go unanswered, and the other replica leads within seconds; the cut-off leader steps down by itself.
     * Needs root and iptables: required under CI where {@code .ci/run} finds them, skipped elsewhere, saying why.
     */
    @Test
    void aLeaderCutOffFromTheDatabaseByTheNetworkIsReplacedWithinSeconds() throws Exception {
        String why = partitionUnavailable();
        if ("true".equalsIgnoreCase(System.getenv("FACTORY_TEST_REQUIRE_PARTITION"))) {
            assertThat(why).as("iptables to cut a connection (required here)").isNull();
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(why == null, why);
        try (Database db = TestDatabases.open(TestDatabases.Kind.POSTGRESQL, dir)) {
            Jdbi jdbi = db.jdbi();
            String server = jdbi.withHandle(h -> h.createQuery("SELECT host(inet_server_addr())")
                    .mapTo(String.class).findOne().orElse("a Unix socket"));
            org.junit.jupiter.api.Assumptions.assumeTrue("127.0.0.1".equals(server), "the test cuts a connection on "
                    + "IPv4 loopback; this PostgreSQL is at " + server);
            try (Leadership first = Leadership.on(jdbi, Clock.systemUTC());
                    Leadership second = Leadership.on(jdbi, Clock.systemUTC())) {
                assertThat(first.isLeader()).isTrue();
                long term = first.term();
                int clientPort = jdbi.withHandle(h -> h.createQuery("SELECT a.client_port FROM pg_locks l JOIN "
                                + "pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND "
                                + "l.classid::bigint = :hi AND l.objid::bigint = :lo").bind("hi", first.lockKey() >>> 32)
                        .bind("lo", first.lockKey() & 0xffffffffL).mapTo(Integer.class).one());
                int serverPort = jdbi.withHandle(h -> h.createQuery("SELECT inet_server_port()").mapTo(Integer.class)
                        .one());
                List<List<String>> rules = List.of(
                        List.of("INPUT", "-i", "lo", "-p", "tcp", "--sport", String.valueOf(clientPort), "--dport",
                                String.valueOf(serverPort), "-m", "comment", "--comment", PARTITION_TAG, "-j", "DROP"),
                        List.of("INPUT", "-i", "lo", "-p", "tcp", "--sport", String.valueOf(serverPort), "--dport",
                                String.valueOf(clientPort), "-m", "comment", "--comment", PARTITION_TAG, "-j", "DROP"));
                long cut = System.nanoTime();
                try {
                    for (List<String> rule : rules) {
                        iptables("-I", rule);
                    }
                    await().atMost(Duration.ofSeconds(20)).until(second::isLeader);
                    long tookMs = (System.nanoTime() - cut) / 1_000_000;
                    System.out.println("leadership moved " + tookMs + " ms after the leader was cut off");
                    assertThat(second.term()).isGreaterThan(term);
                    await().atMost(Duration.ofSeconds(10)).until(() -> !first.isLeader());
                    assertThatThrownBy(() -> jdbi.useTransaction(first::fence)).isInstanceOf(FactoryException.class);
                    jdbi.useTransaction(second::fence);
                } finally {
                    IOException left = null;
                    for (List<String> rule : rules) {
                        try {
                            iptables("-D", rule);
                        } catch (IOException e) {
                            left = e;
                        }
                    }
                    if (left != null) {
                        throw left;
                    }
                }
            }
        }
    }

    /** Marks the rules this test adds, so that one a killed run left can be found. */
    private static final String PARTITION_TAG = "factory-test-partition";

    /** Null where iptables can cut a connection here; else why not. */
    private static @org.jspecify.annotations.Nullable String partitionUnavailable() {
        try {
            Process p = new ProcessBuilder("iptables", "-w", "-S", "INPUT").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                return "iptables cannot be used here (root is needed): " + out.strip();
            }
            // Rules a killed run left behind.
            for (String line : out.lines().filter(l -> l.contains(PARTITION_TAG) && l.startsWith("-A ")).toList()) {
                iptables("-D", java.util.Arrays.asList(line.substring(3).replace("\"", "").split(" ")));
            }
            return null;
        } catch (IOException e) {
            return "iptables is not installed: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private static void iptables(String action, List<String> rule) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of("iptables", "-w", action));
        command.addAll(rule);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out.strip());
        }
    }

    @Test
    void aLeaderWhoseTermMovedOnIsFencedOffAndLetsTheLockGo() {
        try (Database db = TestDatabases.open(TestDatabases.Kind.POSTGRESQL, dir)) {
            Jdbi jdbi = db.jdbi();
            try (Leadership first = Leadership.on(jdbi, Clock.systemUTC());
                    Leadership second = Leadership.on(jdbi, Clock.systemUTC())) {
                assertThat(first.isLeader()).isTrue();
                // Another leader took a term while this one still believed it led.
                jdbi.useHandle(h -> h.createUpdate("UPDATE cluster_leader SET term = term + 1, holder = 'elsewhere'")
                        .execute());
                assertThatThrownBy(() -> jdbi.useTransaction(h -> {
                    first.fence(h);
                    h.createUpdate("DELETE FROM replica_assignments").execute();
                })).isInstanceOf(FactoryException.class).hasMessageContaining("does not lead");
                assertThat(first.isLeader()).as("it knows it no longer leads").isFalse();
                // It let the lock go: one of the two takes it again, in a term of its own.
                await().atMost(Duration.ofSeconds(5)).until(() -> first.isLeader() || second.isLeader());
                Leadership leader = first.isLeader() ? first : second;
                assertThat(first.isLeader() && second.isLeader()).isFalse();
                long current = jdbi.withHandle(h -> h.createQuery("SELECT term FROM cluster_leader")
                        .mapTo(Long.class).one());
                assertThat(leader.term()).isEqualTo(current).isGreaterThan(2);
                jdbi.useTransaction(leader::fence);
            }
        }
    }

    @Test
    void controlPlaneReplicasAreListedWithThisOneFirstAndTheDeadLeftOut() {
        try (Database db = TestDatabases.open(TestDatabases.Kind.POSTGRESQL, dir)) {
            Jdbi jdbi = db.jdbi();
            try (Leadership first = Leadership.on(jdbi, Clock.systemUTC());
                    Leadership second = Leadership.on(jdbi, Clock.systemUTC())) {
                first.announce(URI.create("https://10.0.0.1:7443"));
                second.announce(URI.create("https://10.0.0.2:7443"));
                assertThat(second.replicas(Duration.ofSeconds(10))).containsExactly(URI.create("https://10.0.0.2:7443"),
                        URI.create("https://10.0.0.1:7443"));
                // A replica killed a minute ago: its row stays, unseen since.
                java.sql.Timestamp old = java.sql.Timestamp.from(java.time.Instant.now().minusSeconds(60));
                jdbi.useHandle(h -> h.createUpdate("INSERT INTO control_replicas (id, cluster_url, started_at, seen_at) "
                        + "VALUES ('cp-dead', 'https://10.0.0.3:7443', :old, :old)").bind("old", old).execute());
                await().atMost(Duration.ofSeconds(3)).until(() -> second.replicas(Duration.ofSeconds(10))
                        .equals(List.of(URI.create("https://10.0.0.2:7443"), URI.create("https://10.0.0.1:7443"))));
                assertThat(first.all()).extracting(Leadership.ControlReplica::id).contains("cp-dead");
                jdbi.useHandle(h -> h.createUpdate("DELETE FROM control_replicas WHERE id = 'cp-dead'").execute());
            }
            int left = jdbi.withHandle(h -> h.createQuery("SELECT count(*) FROM control_replicas").mapTo(Integer.class)
                    .one());
            assertThat(left).as("a replica that stops leaves the list").isZero();
        }
    }

    @Test
    void aFactoryOnH2IsTheOnlyProcessOnItsDatabaseAndLeadsFromTheStart() {
        try (Database db = TestDatabases.open(TestDatabases.Kind.H2, dir);
                Leadership sole = Leadership.on(db.jdbi(), Clock.systemUTC())) {
            assertThat(sole.isLeader()).isTrue();
            db.jdbi().useTransaction(sole::fence);
        }
    }

    private record Told(String who, List<String> told) implements Leadership.Listener {
        @Override
        public void elected(long term) {
            told.add(who + " elected");
        }

        @Override
        public void deposed(long term) {
            told.add(who + " deposed");
        }
    }
}
