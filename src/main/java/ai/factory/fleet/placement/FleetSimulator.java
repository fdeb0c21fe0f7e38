package ai.factory.fleet.placement;

import static java.util.Objects.requireNonNull;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Replays a synthetic, seeded stream of replica arrivals, departures and node failures against a
 * {@link PlacementEngine}. Everything but the two timing figures is a function of the options alone.
 */
public final class FleetSimulator {
    private static final long GIB = 1L << 30;

    /** A workload: replica sizes, priorities and projects. */
    public enum Mix {
        /** 1, 2, 4 and 8 devices at 40/30/20/10%; priorities 0/1/2 at 70/20/10%; 10 projects, each capped at 20% of the fleet. */
        STANDARD;

        public static Mix parse(String text) {
            for (Mix m : values()) {
                if (m.name().equalsIgnoreCase(text.strip())) {
                    return m;
                }
            }
            throw new IllegalArgumentException("unknown mix '" + text + "'; use standard");
        }
    }

    public record Options(int nodes, int gpusPerNode, Mix mix, long seed, int events, PlacementEngine.Scoring scoring) {
        public Options {
            requireNonNull(mix, "mix is null");
            requireNonNull(scoring, "scoring is null");
            if (nodes < 1 || gpusPerNode < 1 || gpusPerNode > 64 || events < 1) {
                throw new IllegalArgumentException("nodes and events must be at least 1, gpus per node between 1 and 64");
            }
        }
    }

    /** What a run found; {@code placementsPerSecond} and {@code elapsedMillis} are timings, the rest is deterministic. */
    public record Report(Options options, long decisions, long placed, long rejectedQuota, long rejectedCapacity,
                         long rejectedUnsatisfiable, long preemptions, long lost, long nodeFailures,
                         double utilisationAtFirstRejection, double finalUtilisation, double fragmentation,
                         int runningReplicas, double placementsPerSecond, double elapsedMillis) {
        public long rejected() {
            return rejectedQuota + rejectedCapacity + rejectedUnsatisfiable;
        }

        /** Fields in a stable order for JSON. */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("nodes", options.nodes());
            m.put("gpusPerNode", options.gpusPerNode());
            m.put("mix", options.mix().name().toLowerCase(Locale.ROOT));
            m.put("scoring", options.scoring().name().toLowerCase(Locale.ROOT).replace('_', '-'));
            m.put("seed", options.seed());
            m.put("events", options.events());
            m.put("decisions", decisions);
            m.put("placed", placed);
            m.put("rejected", rejected());
            m.put("rejectedQuota", rejectedQuota);
            m.put("rejectedCapacity", rejectedCapacity);
            m.put("rejectedUnsatisfiable", rejectedUnsatisfiable);
            m.put("preemptions", preemptions);
            m.put("lost", lost);
            m.put("nodeFailures", nodeFailures);
            m.put("utilisationAtFirstRejection", round(utilisationAtFirstRejection));
            m.put("finalUtilisation", round(finalUtilisation));
            m.put("fragmentation", round(fragmentation));
            m.put("runningReplicas", runningReplicas);
            m.put("placementsPerSecond", Math.round(placementsPerSecond));
            m.put("elapsedMillis", Math.round(elapsedMillis));
            return m;
        }

        private static double round(double v) {
            return Math.round(v * 10_000) / 10_000.0;
        }
    }

    private FleetSimulator() {}

    public static Report run(Options o) {
        SplittableRandom random = new SplittableRandom(o.seed());
        List<PlacementNode> nodes = new ArrayList<>(o.nodes());
        for (int i = 0; i < o.nodes(); i++) {
            nodes.add(new PlacementNode("node-" + i, "nvidia", o.gpusPerNode(), 80 * GIB));
        }
        int projects = 10;
        Map<String, Integer> quotas = new HashMap<>();
        int quota = (int) Math.max(o.gpusPerNode(), (long) o.nodes() * o.gpusPerNode() / 5);
        for (int p = 0; p < projects; p++) {
            quotas.put("project-" + p, quota);
        }
        PlacementEngine engine = new PlacementEngine(nodes, quotas, o.scoring());
        List<Long> live = new ArrayList<>();
        Map<Long, Integer> position = new HashMap<>();
        ArrayDeque<Integer> failed = new ArrayDeque<>();
        long decisions = 0, placed = 0, quotaRejects = 0, capacityRejects = 0, unsatisfiable = 0, preemptions = 0,
                lost = 0, failures = 0, nanos = 0;
        double atFirstRejection = Double.NaN;
        long nextId = 1;
        for (int event = 0; event < o.events(); event++) {
            double roll = random.nextDouble();
            List<PlacementResult> results;
            if (roll < 0.0005) {
                int node = random.nextInt(o.nodes());
                if (failed.contains(node)) {
                    continue;
                }
                failed.add(node);
                failures++;
                long t = System.nanoTime();
                results = engine.fail("node-" + node);
                nanos += System.nanoTime() - t;
            } else if (roll < 0.001) {
                if (failed.isEmpty()) {
                    continue;
                }
                engine.recover("node-" + failed.poll());
                continue;
            } else if (roll < (Double.isNaN(atFirstRejection) ? 0.9 : 0.55) || live.isEmpty()) {
                ReplicaRequest request = request(random, nextId++, o.gpusPerNode(), projects);
                long t = System.nanoTime();
                PlacementResult result = engine.place(request);
                nanos += System.nanoTime() - t;
                results = List.of(result);
            } else {
                int at = random.nextInt(live.size());
                long id = live.get(at);
                remove(live, position, id);
                engine.release(id);
                continue;
            }
            for (PlacementResult result : results) {
                decisions++;
                switch (result) {
                    case PlacementResult.Placed p -> {
                        placed++;
                        preemptions += p.evicted().size();
                        lost += p.lost().size();
                        p.lost().forEach(id -> remove(live, position, id));
                        if (!position.containsKey(p.replicaId())) {
                            position.put(p.replicaId(), live.size());
                            live.add(p.replicaId());
                        }
                    }
                    case PlacementResult.Rejected r -> {
                        switch (r.reason()) {
                            case QUOTA -> quotaRejects++;
                            case NO_CAPACITY -> {
                                capacityRejects++;
                                if (Double.isNaN(atFirstRejection)) {
                                    atFirstRejection = (double) engine.usedGpus() / engine.totalGpus();
                                }
                            }
                            case UNSATISFIABLE -> unsatisfiable++;
                        }
                        if (position.containsKey(r.replicaId())) {
                            remove(live, position, r.replicaId());
                            lost++;
                        }
                    }
                }
            }
        }
        double seconds = nanos / 1e9;
        return new Report(o, decisions, placed, quotaRejects, capacityRejects, unsatisfiable, preemptions, lost, failures,
                Double.isNaN(atFirstRejection) ? 0 : atFirstRejection,
                engine.totalGpus() == 0 ? 0 : (double) engine.usedGpus() / engine.totalGpus(), engine.fragmentation(),
                engine.runningReplicas(), seconds == 0 ? 0 : decisions / seconds, nanos / 1e6);
    }

    private static ReplicaRequest request(SplittableRandom random, long id, int gpusPerNode, int projects) {
        double s = random.nextDouble();
        int gpus = Math.min(gpusPerNode, s < 0.4 ? 1 : s < 0.7 ? 2 : s < 0.9 ? 4 : 8);
        double p = random.nextDouble();
        int priority = p < 0.7 ? 0 : p < 0.9 ? 1 : 2;
        String project = "project-" + random.nextInt(projects);
        long memory = (16 + random.nextInt(64)) * GIB;
        return new ReplicaRequest(id, project, priority, "nvidia", gpus, memory);
    }

    /** Swap-removes {@code id} from {@code live}, keeping {@code position} in step. */
    private static void remove(List<Long> live, Map<Long, Integer> position, long id) {
        Integer at = position.remove(id);
        if (at == null) {
            return;
        }
        long last = live.removeLast();
        if (at < live.size()) {
            live.set(at, last);
            position.put(last, at);
        }
    }
}
