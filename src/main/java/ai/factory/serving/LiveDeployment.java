package ai.factory.serving;

import static java.util.Objects.requireNonNull;

import ai.factory.engine.Engine;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;

/**
 * One deployment of this node as it lives in memory: what it serves, its state (which carries what the state holds,
 * the engines of a ready one), and the GPUs it holds. Every change of state goes through {@link #transition}, which
 * allows only what {@link DeploymentState#allows} allows, under this object's lock; the GPUs are given back through
 * {@link #takePlacements}, which hands them to one caller only, so that a load ending and a delete racing it never
 * release them twice.
 */
final class LiveDeployment {
    private Deployment current;
    /** The GPUs (or CPU) of each replica while held; empty before placing and after release. */
    private List<ReplicaPlacement> placements;
    private final CompletableFuture<Deployment> settled = new CompletableFuture<>();
    /** Set while a change of its replica count is under way: one at a time. */
    final java.util.concurrent.atomic.AtomicBoolean scaling = new java.util.concurrent.atomic.AtomicBoolean();
    /** Replicas that left it (scaled down) and are still finishing their calls. */
    final java.util.concurrent.atomic.AtomicInteger leaving = new java.util.concurrent.atomic.AtomicInteger();

    LiveDeployment(Deployment deployment, List<ReplicaPlacement> placements) {
        this.current = requireNonNull(deployment, "deployment is null");
        this.placements = List.copyOf(requireNonNull(placements, "placements is null"));
    }

    String id() {
        return current.id();
    }

    synchronized Deployment snapshot() {
        return current;
    }

    synchronized DeploymentState state() {
        return current.state();
    }

    /**
     * Moves to {@code next} if the lifecycle allows it from the state it is in now; returns the state it left, or
     * empty when the move was refused (nothing changed). Once moved, {@code record} hears the move (the state left,
     * the state reached), and only then does reaching a settled state, or Draining, complete {@link #settled}: one who
     * waited for it finds the move recorded.
     */
    Optional<DeploymentState> transition(DeploymentState next, BiConsumer<DeploymentState, DeploymentState> record) {
        Deployment after;
        DeploymentState before;
        synchronized (this) {
            before = current.state();
            if (!DeploymentState.allows(before, next)) {
                return Optional.empty();
            }
            current = current.withState(next);
            after = current;
        }
        try {
            record.accept(before, next);
        } finally {
            if (next.settled() || next instanceof DeploymentState.Draining) {
                settled.complete(after);
            }
        }
        return Optional.of(before);
    }

    /** As {@link #transition(DeploymentState, BiConsumer)}, recording nothing. */
    Optional<DeploymentState> transition(DeploymentState next) {
        return transition(next, (before, after) -> { });
    }

    /** Completes with the deployment once it is ready or failed, or as it was when it began draining. */
    CompletableFuture<Deployment> settled() {
        return settled;
    }

    synchronized List<ReplicaPlacement> placements() {
        return placements;
    }

    /**
     * Serves on {@code engines} from now on (more or fewer than before), with {@code spec} and {@code placements} to
     * match; false, changing nothing, once the deployment is no longer ready (it began draining).
     */
    synchronized boolean rescale(List<Engine> engines, DeploymentSpec spec, List<ReplicaPlacement> placed) {
        if (!(current.state() instanceof DeploymentState.Ready)) {
            return false;
        }
        current = current.withSpec(spec).withState(new DeploymentState.Ready(engines));
        placements = List.copyOf(placed);
        return true;
    }

    /** Records where a restored deployment's replicas were placed; false (nothing recorded) once it is draining. */
    synchronized boolean place(List<ReplicaPlacement> chosen) {
        if (current.state() instanceof DeploymentState.Draining) {
            return false;
        }
        placements = List.copyOf(chosen);
        return true;
    }

    /** The placements still held, now no longer recorded here: the caller releases them. Empty for every later call. */
    synchronized List<ReplicaPlacement> takePlacements() {
        List<ReplicaPlacement> held = placements;
        placements = List.of();
        return held;
    }
}
