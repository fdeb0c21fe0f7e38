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

    /** A workload: replica sizes, priorities and projects; 10 projects, each capped at 20% of the fleet. */
    public enum Mix {
        /** 1, 2, 4 and 8 devices at 40/30/20/10%, 16–80 GiB each; priorities 0/1/2 at 70/20/10%. */
        STANDARD("standard"),
        /** Inference of small models: 1 device at 85%, 2 at 15%, 8–40 GiB each; priorities 0/1/2 at 50/40/10%. */
        INFERENCE_SMALL("inference-small"),
        /** Training jobs: whole nodes (8 devices) at 60%, 4 at 30%, 2 at 10%, 60–80 GiB each; priorities 0/1 at 80/20%. */
        TRAINING_LARGE("training-large"),
        /**
         * Nodes of two NVLink domains (half the devices each); half the replicas are tensor-parallel over 2 or 4
         * devices of one domain, the rest 1 or 2 devices anywhere; priorities as standard.
         */
        MIXED_TP("mixed-tp");

        private final String id;

        Mix(String id) {
            this.id = id;
        }

        /** The name as written on the command line and in reports. */
        public String id() {
            return id;
        }

        public static Mix parse(String text) {
            for (Mix m : values()) {
                if (m.id.equalsIgnoreCase(text.strip()) || m.name().equalsIgnoreCase(text.strip())) {
                    return m;
                }
            }
            throw new IllegalArgumentException("unknown mix '" + text + "'; use " + String.join(", ",
                    java.util.Arrays.stream(values()).map(Mix::id).toList()));
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
            m.put("mix", options.mix().id());
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
            // The figure the placement target is stated in: the share of accelerators in use when the first
            // request found no room (1.0 when none was refused).
            m.put("utilisation", round(utilisationAtFirstRejection));
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
        List<Integer> domains = o.mix() == Mix.MIXED_TP && o.gpusPerNode() >= 2
                ? List.of(o.gpusPerNode() / 2, o.gpusPerNode() - o.gpusPerNode() / 2)
                : List.of(o.gpusPerNode());
        for (int i = 0; i < o.nodes(); i++) {
            nodes.add(new PlacementNode("node-" + i, "nvidia", o.gpusPerNode(), 80 * GIB, domains));
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
                ReplicaRequest request = request(o.mix(), random, nextId++, o.gpusPerNode(), projects);
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

    /** The next replica of {@code mix}, drawn from {@code random}. */
    static ReplicaRequest request(Mix mix, SplittableRandom random, long id, int gpusPerNode, int projects) {
        double s = random.nextDouble();
        double p = random.nextDouble();
        String project = "project-" + random.nextInt(projects);
        return switch (mix) {
            case STANDARD -> new ReplicaRequest(id, project, p < 0.7 ? 0 : p < 0.9 ? 1 : 2, "nvidia",
                    Math.min(gpusPerNode, s < 0.4 ? 1 : s < 0.7 ? 2 : s < 0.9 ? 4 : 8), (16 + random.nextInt(64)) * GIB);
            case INFERENCE_SMALL -> new ReplicaRequest(id, project, p < 0.5 ? 0 : p < 0.9 ? 1 : 2, "nvidia",
                    Math.min(gpusPerNode, s < 0.85 ? 1 : 2), (8 + random.nextInt(32)) * GIB);
            case TRAINING_LARGE -> new ReplicaRequest(id, project, p < 0.8 ? 0 : 1, "nvidia",
                    Math.min(gpusPerNode, s < 0.6 ? 8 : s < 0.9 ? 4 : 2), (60 + random.nextInt(20)) * GIB);
            case MIXED_TP -> {
                boolean tensorParallel = s < 0.5;
                int largestDomain = Math.max(1, gpusPerNode / 2);
                int gpus = tensorParallel ? Math.min(largestDomain, s < 0.3 ? 2 : 4) : Math.min(gpusPerNode, s < 0.8 ? 1 : 2);
                yield new ReplicaRequest(id, project, p < 0.7 ? 0 : p < 0.9 ? 1 : 2, "nvidia", gpus,
                        (16 + random.nextInt(64)) * GIB, tensorParallel);
            }
        };
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
