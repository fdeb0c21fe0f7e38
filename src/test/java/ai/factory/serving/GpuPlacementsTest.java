package ai.factory.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.FactoryException;
import ai.factory.fleet.Accelerator;
import ai.factory.fleet.GpuAllocator;
import ai.factory.fleet.NvidiaGpu;
import ai.factory.fleet.capacity.CacheType;
import ai.factory.fleet.capacity.Footprint;
import ai.factory.models.ModelFile;
import ai.factory.models.ModelFormat;
import ai.factory.models.ModelName;
import ai.factory.models.ModelVersion;
import java.time.Instant;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Where replicas run on a node of 8 × 80 GiB GPUs (as discovery would report them), for a model of 80 layers of
 * 1 GiB: too big for one GPU, so each replica takes two. The natives' GPU backend is a switch here; on this
 * machine's CPU-only natives it is off, which the server test covers.
 */
class GpuPlacementsTest {
    private static final long GIB = 1L << 30;
    private static final long MIB = 1L << 20;

    private static final Footprint BIG = new Footprint(Collections.nCopies(80, GIB), GIB / 2, GIB, 40 * MIB, GIB,
            8192, CacheType.F16);
    private static final Supplier<Footprint> FOOTPRINT = () -> BIG;
    private static final long HOST_FREE = 512 * GIB;

    private static List<Accelerator> eightGpus() {
        return IntStream.range(0, 8).<Accelerator>mapToObj(i -> new NvidiaGpu(i, "GPU-" + i, "NVIDIA H100 80GB HBM3",
                80 * GIB, 0, "9.0", "580.65", List.of(), Optional.empty())).toList();
    }

    private static ModelVersion version(ModelFormat format) {
        return new ModelVersion(ModelName.parse("acme/big"), 1, format, Map.of(),
                List.of(new ModelFile("model.gguf", "0".repeat(64), 86 * GIB)), Instant.EPOCH, "admin", "test");
    }

    private static DeploymentSpec spec(int replicas, int gpuLayers) {
        return new DeploymentSpec(replicas, 4, 2048, 0, 64, gpuLayers);
    }

    @Test
    void autoPutsEveryLayerOfEachReplicaOnItsOwnPairOfGpus() {
        GpuPlacements placements = new GpuPlacements(new GpuAllocator(eightGpus()), () -> true);
        List<ReplicaPlacement> chosen = placements.reserve("dep-1", version(ModelFormat.GGUF),
                spec(3, DeploymentSpec.GPU_LAYERS_AUTO), FOOTPRINT, HOST_FREE);
        Set<Integer> used = new HashSet<>();
        for (ReplicaPlacement p : chosen) {
            assertThat(p.gpuLayers()).isEqualTo(ReplicaPlacement.ALL_LAYERS);
            assertThat(p.gpus()).hasSize(2);
            assertThat(p.layersPerGpu().stream().mapToInt(Integer::intValue).sum()).isEqualTo(80);
            assertThat(p.bytesPerGpu()).isLessThanOrEqualTo(80 * GIB);
            assertThat(p.hostBytes()).isEqualTo(GIB / 2);
            assertThat(used.addAll(p.gpus())).as("GPUs %s already held", p.gpus()).isTrue();
        }
        assertThat(placements.allocator().freeGpus()).isEqualTo(2);
        placements.release("dep-1", 3);
        assertThat(placements.allocator().freeGpus()).isEqualTo(8);
    }

    @Test
    void aWorkerPlacesEachAssignedReplicaOnItsOwnGpusAndGivesThemBackByTheAssignment() {
        GpuPlacements worker = new GpuPlacements(new GpuAllocator(eightGpus()), () -> true);
        ReplicaPlacement first = worker.placeGguf("asg-1", "acme/big:1", DeploymentSpec.GPU_LAYERS_AUTO, FOOTPRINT,
                HOST_FREE);
        ReplicaPlacement second = worker.placeGguf("asg-2", "acme/big:1", 40, FOOTPRINT, HOST_FREE);
        assertThat(first.gpuLayers()).isEqualTo(ReplicaPlacement.ALL_LAYERS);
        assertThat(first.gpus()).hasSize(2);
        assertThat(second.gpus()).hasSize(1).doesNotContainAnyElementsOf(first.gpus());
        assertThat(worker.placeGguf("asg-3", "acme/big:1", 0, FOOTPRINT, HOST_FREE).onGpu()).isFalse();
        assertThat(worker.allocator().freeGpus()).isEqualTo(5);
        worker.allocator().release("asg-1");
        assertThat(worker.allocator().freeGpus()).isEqualTo(7);
        // Natives without a GPU backend: auto runs on the CPU; a layer count is refused, saying how to get one.
        GpuPlacements cpuNatives = new GpuPlacements(new GpuAllocator(eightGpus()), () -> false);
        assertThat(cpuNatives.placeGguf("asg-4", "acme/big:1", DeploymentSpec.GPU_LAYERS_AUTO, FOOTPRINT, HOST_FREE)
                .onGpu()).isFalse();
        assertThatThrownBy(() -> cpuNatives.placeGguf("asg-5", "acme/big:1", 40, FOOTPRINT, HOST_FREE))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.getMessage())
                        .contains("'gpuLayers' 40 asked", "FACTORY_LLAMA_VARIANT=cuda"));
    }

    @Test
    void aProjectsAcceleratorQuotaCapsTheGpusItsReplicasTake() {
        GpuPlacements placements = new GpuPlacements(new GpuAllocator(eightGpus()), () -> true);
        // 3 GPUs left by the quota: the first replica takes two (all its layers), the second the one left (some of
        // its layers), the third none (the CPU), though five GPUs are free.
        List<ReplicaPlacement> chosen = placements.reserve("dep-1", version(ModelFormat.GGUF),
                spec(3, DeploymentSpec.GPU_LAYERS_AUTO), FOOTPRINT, HOST_FREE, 3, "acme");
        assertThat(chosen.get(0).gpus()).hasSize(2);
        assertThat(chosen.get(1).gpus()).hasSize(1);
        assertThat(chosen.get(1).gpuLayers()).isBetween(1, 79);
        assertThat(chosen.get(2).onGpu()).isFalse();
        assertThat(placements.allocator().freeGpus()).isEqualTo(5);
        // A layer count the quota leaves no GPU for is refused, holding nothing, saying why.
        assertThatThrownBy(() -> placements.reserve("dep-2", version(ModelFormat.GGUF), spec(1, 40), FOOTPRINT,
                HOST_FREE, 0, "acme")).isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.getMessage())
                .contains("accelerator quota of project acme", "factory quotas set acme --accelerators N"));
        // One the quota's GPUs cannot hold (80 layers of 1 GiB on one 80 GiB GPU), too.
        assertThatThrownBy(() -> placements.placeGguf("asg-1", "acme/big:1", 80, 1, FOOTPRINT, HOST_FREE))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.getMessage())
                        .contains("don't fit on the project's accelerator quota's 1 free nvidia GPU(s)"));
        assertThat(placements.placeGguf("asg-2", "acme/big:1", 40, 0 + 1, FOOTPRINT, HOST_FREE).gpus()).hasSize(1);
        assertThat(placements.placeGguf("asg-3", "acme/big:1", DeploymentSpec.GPU_LAYERS_AUTO, 0, FOOTPRINT,
                HOST_FREE).onGpu()).isFalse();
        assertThat(placements.allocator().freeGpus()).isEqualTo(4);
    }

    @Test
    void autoFallsBackToTheCpuForReplicasNoFreeGpuHolds() {
        GpuPlacements placements = new GpuPlacements(new GpuAllocator(eightGpus()), () -> true);
        List<ReplicaPlacement> chosen = placements.reserve("dep-1", version(ModelFormat.GGUF),
                spec(5, DeploymentSpec.GPU_LAYERS_AUTO), FOOTPRINT, HOST_FREE);
        assertThat(chosen).filteredOn(ReplicaPlacement::onGpu).hasSize(4);
        assertThat(chosen.getLast().onGpu()).isFalse();
        assertThat(chosen.getLast().hostBytes()).isEqualTo(BIG.total());
    }

    @Test
    void explicitLayersTakeAsFewGpusAsHoldThem() {
        GpuPlacements placements = new GpuPlacements(new GpuAllocator(eightGpus()), () -> true);
        ReplicaPlacement half = placements.reserve("dep-1", version(ModelFormat.GGUF), spec(1, 40), FOOTPRINT, HOST_FREE)
                .getFirst();
        assertThat(half.gpuLayers()).isEqualTo(40);
        assertThat(half.gpus()).hasSize(1);
        assertThat(half.layersPerGpu()).containsExactly(40);
        assertThat(half.hostBytes()).isGreaterThan(40 * GIB);
        ReplicaPlacement all = placements.reserve("dep-2", version(ModelFormat.GGUF), spec(1, 500), FOOTPRINT, HOST_FREE)
                .getFirst();
        assertThat(all.gpuLayers()).isEqualTo(ReplicaPlacement.ALL_LAYERS);
        assertThat(all.gpus()).hasSize(2).doesNotContainAnyElementsOf(half.gpus());
    }

    @Test
    void explicitLayersThatWouldOversubscribeAreRefusedWithTheNumbersAndNothingIsHeld() {
        GpuPlacements placements = new GpuPlacements(new GpuAllocator(eightGpus()), () -> true);
        placements.reserve("dep-1", version(ModelFormat.GGUF), spec(1, 80), FOOTPRINT, HOST_FREE);
        assertThatThrownBy(() -> placements.reserve("dep-2", version(ModelFormat.GGUF), spec(4, 80), FOOTPRINT, HOST_FREE))
                .isInstanceOfSatisfying(FactoryException.class, e -> {
                    assertThat(e.param()).isEqualTo("gpuLayers");
                    assertThat(e.getMessage()).contains("80 of 80 layers of acme/big:1 don't fit", "0 free nvidia GPU(s)");
                });
        assertThat(placements.allocator().freeGpus()).as("the refused deployment holds nothing").isEqualTo(6);
        assertThat(placements.allocator().allocations()).extracting(GpuAllocator.Allocation::owner)
                .containsExactly("dep-1#0");
    }

    @Test
    void withoutAGpuBackendExplicitLayersAreRefusedAndAutoRunsOnTheCpu() {
        GpuPlacements placements = new GpuPlacements(new GpuAllocator(eightGpus()), () -> false);
        assertThatThrownBy(() -> placements.reserve("d", version(ModelFormat.GGUF), spec(1, 8), FOOTPRINT, HOST_FREE))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.getMessage())
                        .contains("'gpuLayers' 8 asked", "no GPU backend", "FACTORY_LLAMA_VARIANT=cuda"));
        assertThat(placements.reserve("d", version(ModelFormat.GGUF), spec(2, DeploymentSpec.GPU_LAYERS_AUTO), FOOTPRINT,
                HOST_FREE)).noneMatch(ReplicaPlacement::onGpu);
        assertThat(placements.allocator().freeGpus()).isEqualTo(8);
    }

    @Test
    void withoutGpusExplicitLayersAreRefusedAndZeroLayersNeverTouchesTheGpus() {
        GpuPlacements none = new GpuPlacements(new GpuAllocator(List.of()), () -> true);
        assertThatThrownBy(() -> none.reserve("d", version(ModelFormat.GGUF), spec(1, 8), FOOTPRINT, HOST_FREE))
                .hasMessageContaining("discovery found no GPU");
        GpuPlacements placements = new GpuPlacements(new GpuAllocator(eightGpus()), () -> true);
        assertThat(placements.reserve("d", version(ModelFormat.GGUF), spec(3, 0), () -> {
            throw new AssertionError("a CPU deployment needs no footprint");
        }, HOST_FREE)).noneMatch(ReplicaPlacement::onGpu);
        assertThatThrownBy(() -> placements.reserve("e", version(ModelFormat.ONNX), spec(1, 4), FOOTPRINT, HOST_FREE))
                .hasMessageContaining("GGUF models only");
        assertThat(placements.allocator().freeGpus()).isEqualTo(8);
    }
}
