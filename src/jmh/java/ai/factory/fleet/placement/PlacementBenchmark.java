package ai.factory.fleet.placement;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Placement decisions per second on a large, busy fleet: {@code nodes} nodes of {@code gpusPerNode} devices, filled
 * with the standard mix of {@link FleetSimulator} (1/2/4/8-device replicas, three priorities, ten projects with
 * quotas) until the first request finds no room. Each operation is one decision for a new replica of the same mix,
 * then one departure of a random running replica, so the fleet stays full and decisions keep meeting quotas,
 * fragmentation and preemption, as in a steady state. The goal for issue 7 is at least 10,000 decisions/s at
 * 10,000 nodes × 8 devices.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx2g")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class PlacementBenchmark {
    private static final int PROJECTS = 10;

    @Param({"10000"})
    int nodes;

    @Param({"8"})
    int gpusPerNode;

    @Param({"BIN_PACK", "SPREAD"})
    PlacementEngine.Scoring scoring;

    private PlacementEngine engine;
    private SplittableRandom random;
    private List<Long> live;
    private long nextId;

    @Setup(Level.Trial)
    public void fill() {
        List<PlacementNode> fleet = new ArrayList<>(nodes);
        for (int i = 0; i < nodes; i++) {
            fleet.add(new PlacementNode("node-" + i, "nvidia", gpusPerNode, 80L << 30));
        }
        // The quotas FleetSimulator gives its projects: a fifth of the fleet each.
        Map<String, Integer> quotas = new HashMap<>();
        for (int p = 0; p < PROJECTS; p++) {
            quotas.put("project-" + p, Math.max(gpusPerNode, nodes * gpusPerNode / 5));
        }
        engine = new PlacementEngine(fleet, quotas, scoring);
        random = new SplittableRandom(1);
        live = new ArrayList<>();
        nextId = 1;
        while (true) {
            PlacementResult result = engine.place(FleetSimulator.request(FleetSimulator.Mix.STANDARD, random, nextId++, gpusPerNode, PROJECTS));
            if (result instanceof PlacementResult.Rejected r && r.reason() == PlacementResult.Reason.NO_CAPACITY) {
                break;
            }
            track(result);
        }
    }

    @Benchmark
    public PlacementResult placeAndRelease() {
        PlacementResult result = engine.place(FleetSimulator.request(FleetSimulator.Mix.STANDARD, random, nextId++, gpusPerNode, PROJECTS));
        track(result);
        int at = random.nextInt(live.size());
        long gone = live.get(at);
        live.set(at, live.getLast());
        live.removeLast();
        engine.release(gone);
        return result;
    }

    /** Keeps {@link #live} to the replicas running; evicted and lost ones leave it lazily, by a failed release. */
    private void track(PlacementResult result) {
        if (result instanceof PlacementResult.Placed p) {
            live.add(p.replicaId());
        }
    }
}
