package ai.factory.serving;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.engine.EmbeddingEngine;
import ai.factory.engine.Engine;
import ai.factory.engine.TextEngine;
import ai.factory.models.ModelRef;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * Picks the replica that serves a call to a model named {@code namespace/model[:version]}: among the deployments of
 * that model (of that version, when it names one), newest version first, the first that is ready, and among its
 * replicas that are {@linkplain TextEngine#available() available} the one with the fewest active and waiting
 * requests.
 */
final class ReplicaRouter {
    private ReplicaRouter() {}

    /**
     * The replica for a call to {@code model}; NOT_FOUND ({@link Deployments#notServed}) when no deployment serves it,
     * UNAVAILABLE with the state of its newest deployment while none is ready.
     */
    static Engine route(String model, Collection<Deployment> deployments) {
        return replicas(model, deployments).stream().min(Comparator.comparingInt(ReplicaRouter::busy)).orElseThrow();
    }

    /** The replicas of the deployment that serves {@code model}; fails as {@link #route} does. */
    static List<Engine> replicas(String model, Collection<Deployment> deployments) {
        ModelRef ref = ModelRef.parse(model);
        List<Deployment> candidates = deployments.stream()
                .filter(d -> d.model().equals(ref.name()))
                .filter(d -> ref.version().isEmpty() || ref.version().getAsInt() == d.version())
                .sorted(Comparator.comparingInt(Deployment::version).reversed()
                        .thenComparing(Deployment::createdAt))
                .toList();
        if (candidates.isEmpty()) {
            throw Deployments.notServed(model);
        }
        for (Deployment d : candidates) {
            if (d.state() instanceof DeploymentState.Ready ready) {
                List<Engine> available = ready.replicas().stream()
                        .filter(e -> !(e instanceof TextEngine t) || t.available()).toList();
                if (available.isEmpty()) {
                    throw new FactoryException(ErrorCode.UNAVAILABLE, "no replica of the model '" + model + "' takes "
                            + "calls right now: deployment " + d.id() + " is moving its replicas to other workers; "
                            + "try again");
                }
                return available;
            }
        }
        Deployment d = candidates.getFirst();
        throw new FactoryException(ErrorCode.UNAVAILABLE, "the model '" + model + "' is not ready (deployment "
                + d.id() + " is " + d.state().id() + (d.reason() == null ? "" : ": " + d.reason()) + ")");
    }

    static int busy(Engine e) {
        return switch (e) {
            case TextEngine t -> t.load().active() + t.load().waiting() + TextReplicas.routed(t);
            case EmbeddingEngine x -> 0;
        };
    }
}
