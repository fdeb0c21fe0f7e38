package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.Json;
import ai.factory.LongTest;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.cluster.Assignments;
import ai.factory.cluster.ReplicaHost;
import ai.factory.cluster.ReplicaWork;
import ai.factory.cluster.Worker;
import ai.factory.config.Setting;
import ai.factory.engine.TextModelInfo;
import ai.factory.storage.TestDatabases;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control plane at fleet scale, measured: 1,000 simulated workers join a real control plane (the join API, their
 * own keys and certificates from the cluster CA) and heartbeat over mutual TLS; each reports whatever it is assigned
 * as ready without loading it. Deployments then go through the real scheduler: the time from the API call to the
 * assignments recorded (the placement decision) and to the deployment ready (which waits for the workers' next
 * heartbeats), and, once workers holding replicas stop, the time until those replicas are placed again. Prints its
 * numbers for docs/benchmarks.md; run with {@code ./factory test --long -Dtest=ClusterScaleTest}.
 */
@LongTest
@ServerTest
class ClusterScaleTest {
    private static final int WORKERS = Integer.getInteger("factory.scale.workers", 1_000);
    private static final int DEPLOYMENTS = 40;
    private static final int REPLICAS = 2;
    private static final TextModelInfo INFO = new TextModelInfo(512, 2, 32_000, null, "<s>", "</s>", true);

    @TempDir
    Path dir;

    /** A worker's replicas as it would report them once loaded; nothing is loaded. */
    static final class Simulated implements ReplicaHost {
        final Map<String, ReplicaWork> running = new ConcurrentHashMap<>();

        @Override
        public List<Assignments.Reported> reports() {
            return running.keySet().stream().map(id -> new Assignments.Reported(id, Assignments.Phase.READY, "", INFO))
                    .toList();
        }

        @Override
        public void reconcile(List<ReplicaWork> assigned) {
            running.keySet().retainAll(assigned.stream().map(ReplicaWork::assignment).toList());
            assigned.forEach(w -> running.putIfAbsent(w.assignment(), w));
        }
    }

    @Test
    void placementAndFailoverAtAThousandWorkers() throws Exception {
        TestModels.tinyLlama();
        try (TestDatabases.Scratch database = TestDatabases.scratch(TestDatabases.Kind.POSTGRESQL, dir)) {
            Map<Setting, String> settings = TestCluster.controlPlane(database);
            settings.put(Setting.CLUSTER_HEARTBEAT_DEADLINE, "15s");
            settings.put(Setting.DB_POOL_SIZE, "20");
            try (TestFactory control = TestFactory.start(dir.resolve("control"), settings)) {
                String token = json(control.post("/api/v1/nodes/tokens", control.adminKey(),
                        "{\"expires\": \"1h\", \"uses\": " + WORKERS + "}")).path("token").asText();
                List<Worker> workers = Collections.synchronizedList(new ArrayList<>());
                Map<Worker, Simulated> hosts = new ConcurrentHashMap<>();
                long joinStart = System.nanoTime();
                try (ExecutorService joining = Executors.newFixedThreadPool(8)) {
                    List<Future<?>> joins = new ArrayList<>();
                    for (int i = 0; i < WORKERS; i++) {
                        String name = String.format("sim-%04d", i);
                        joins.add(joining.submit(() -> {
                            Worker w = Worker.start(dir.resolve("workers").resolve(name), URI.create(control.url()),
                                    token, name, "test", () -> Json.mapper().valueToTree(TestCluster.INVENTORY),
                                    Optional.empty());
                            Simulated host = new Simulated();
                            w.serve(host, 1); // serves nowhere: no call is made to it
                            hosts.put(w, host);
                            workers.add(w);
                        }));
                    }
                    for (Future<?> j : joins) {
                        j.get();
                    }
                }
                double joinSeconds = (System.nanoTime() - joinStart) / 1e9;
                Map<Worker, Thread> beating = new ConcurrentHashMap<>();
                for (Worker w : workers) {
                    beating.put(w, Thread.ofVirtual().start(() -> {
                        try {
                            w.run("test", () -> Json.mapper().valueToTree(TestCluster.INVENTORY));
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }));
                }
                await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofSeconds(1)).until(() -> json(
                        control.get("/api/v1/nodes", control.adminKey())).path("nodes").findValuesAsText("health")
                        .stream().filter("up"::equals).count() == WORKERS);

                HttpResponse<String> imported = control.post("/api/v1/models/acme/tiny/versions", control.adminKey(),
                        "{\"path\": \"" + TestModels.tinyLlama().toAbsolutePath() + "\"}");
                assertThat(imported.statusCode()).as(imported.body()).isEqualTo(201);
                // The deployments come as a burst, each on its own thread, each timed on its own.
                List<Double> placed = Collections.synchronizedList(new ArrayList<>());
                List<Double> ready = Collections.synchronizedList(new ArrayList<>());
                try (Connection db = DriverManager.getConnection(database.config().url(), database.config().user(),
                        database.config().password())) {
                    try (ExecutorService burst = Executors.newVirtualThreadPerTaskExecutor()) {
                        List<Future<?>> all = new ArrayList<>();
                        for (int d = 0; d < DEPLOYMENTS; d++) {
                            all.add(burst.submit(() -> {
                                long start = System.nanoTime();
                                HttpResponse<String> created = control.post("/api/v1/deployments", control.adminKey(),
                                        "{\"model\": \"acme/tiny\", \"replicas\": " + REPLICAS + ", \"context\": 512}");
                                assertThat(created.statusCode()).as(created.body()).isEqualTo(202);
                                String id = json(created).path("id").asText();
                                try (Connection own = DriverManager.getConnection(database.config().url(),
                                        database.config().user(), database.config().password())) {
                                    while (assigned(own, id) < REPLICAS) {
                                        Thread.sleep(2);
                                    }
                                }
                                placed.add((System.nanoTime() - start) / 1e6);
                                await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(50)).until(() ->
                                        json(control.get("/api/v1/deployments/" + id, control.adminKey())).path("state")
                                                .asText(), "ready"::equals);
                                ready.add((System.nanoTime() - start) / 1e6);
                                return null;
                            }));
                        }
                        for (Future<?> f : all) {
                            f.get();
                        }
                    }

                    // Then one at a time: what one placement takes when nothing queues before it.
                    List<Double> alone = new ArrayList<>();
                    for (int d = 0; d < 10; d++) {
                        long start = System.nanoTime();
                        HttpResponse<String> created = control.post("/api/v1/deployments", control.adminKey(),
                                "{\"model\": \"acme/tiny\", \"replicas\": 1, \"context\": 512}");
                        String id = json(created).path("id").asText();
                        while (assigned(db, id) < 1) {
                            Thread.sleep(1);
                        }
                        alone.add((System.nanoTime() - start) / 1e6);
                        assertThat(control.send(control.request("/api/v1/deployments/" + id, control.adminKey())
                                .DELETE()).statusCode()).isEqualTo(200);
                        await().atMost(Duration.ofSeconds(10)).until(() -> assigned(db, id) == 0);
                    }
                    System.out.printf("one deployment of 1 replica at a time: API call to assigned p50 %.1f ms, "
                            + "p99 %.1f ms%n", percentile(alone, 50), percentile(alone, 99));

                    // Ten workers holding replicas stop: their replicas are placed again on the others.
                    List<String> victims = new ArrayList<>();
                    try (ResultSet rs = db.createStatement().executeQuery("SELECT DISTINCT node_id FROM "
                            + "replica_assignments ORDER BY node_id LIMIT 10")) {
                        while (rs.next()) {
                            victims.add(rs.getString(1));
                        }
                    }
                    long stopped = System.nanoTime();
                    for (Worker w : workers) {
                        if (victims.contains(w.joined().nodeId())) {
                            beating.get(w).interrupt();
                        }
                    }
                    await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(50)).until(() ->
                            onNodes(db, victims) == 0
                                    && count(db, "SELECT count(*) FROM replica_assignments") == DEPLOYMENTS * REPLICAS);
                    double failoverSeconds = (System.nanoTime() - stopped) / 1e9;
                    int total = count(db, "SELECT count(*) FROM replica_assignments");
                    System.out.printf("%d workers joined in %.1f s (%.0f joins/s, 8 at a time)%n", WORKERS, joinSeconds,
                            WORKERS / joinSeconds);
                    System.out.printf("%d deployments of %d replicas at once: API call to all assigned p50 %.1f ms, p99 "
                            + "%.1f ms; to ready p50 %.0f ms, p99 %.0f ms%n", DEPLOYMENTS, REPLICAS, percentile(placed, 50),
                            percentile(placed, 99), percentile(ready, 50), percentile(ready, 99));
                    System.out.printf("10 workers stopped: their replicas placed again on others %.1f s later "
                            + "(deadline 15 s); %d assignments in all%n", failoverSeconds, total);
                    assertThat(total).isEqualTo(DEPLOYMENTS * REPLICAS);
                }
                beating.values().forEach(Thread::interrupt);
            }
        }
    }

    private static int assigned(Connection db, String deployment) throws Exception {
        try (var s = db.prepareStatement("SELECT count(*) FROM replica_assignments WHERE deployment_id = ?")) {
            s.setString(1, deployment);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private static int onNodes(Connection db, List<String> nodes) throws Exception {
        try (var s = db.prepareStatement("SELECT count(*) FROM replica_assignments WHERE node_id = ANY (?)")) {
            s.setArray(1, db.createArrayOf("varchar", nodes.toArray()));
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private static int count(Connection db, String sql) throws Exception {
        try (ResultSet rs = db.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static double percentile(List<Double> values, int p) {
        List<Double> sorted = values.stream().sorted().toList();
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
    }
}
