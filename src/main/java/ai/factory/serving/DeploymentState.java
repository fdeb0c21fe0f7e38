package ai.factory.serving;

import static java.util.Objects.requireNonNull;

import ai.factory.engine.Engine;
import java.util.List;

/**
 * Where a deployment is in its life, with what it holds there. Pending → Loading(0 of n) → … → Loading(n-1 of n) →
 * Ready(replicas); Pending or Loading → Failed(reason); any state but Draining → Draining. (Scaling changes a ready
 * deployment's replicas in place, {@link LiveDeployment#rescale}: it stays Ready.)
 *
 * <p>Pending: recorded, its load not begun. Loading: {@code loaded} of its {@code replicas} engines are open.
 * Ready: its engines serve calls. Failed: it could not load, and holds nothing (no engine, no GPU). Draining: it is
 * being deleted, or the factory is stopping; nothing moves it on. {@link #allows} is the one place that says which
 * moves are allowed; {@link #id} is what the API and the deployments table call the state.
 */
public sealed interface DeploymentState {
    /** {@code pending}, {@code loading}, {@code ready}, {@code failed} or {@code draining}. */
    String id();

    record Pending() implements DeploymentState {
        @Override
        public String id() {
            return "pending";
        }
    }

    record Loading(int loaded, int replicas) implements DeploymentState {
        public Loading {
            if (replicas < 1 || loaded < 0 || loaded >= replicas) {
                throw new IllegalArgumentException("loading " + loaded + " of " + replicas + " replicas");
            }
        }

        @Override
        public String id() {
            return "loading";
        }
    }

    /** Serving, on {@code replicas} (one engine per replica, in replica order). */
    record Ready(List<Engine> replicas) implements DeploymentState {
        public Ready {
            replicas = List.copyOf(requireNonNull(replicas, "replicas is null"));
            if (replicas.isEmpty()) {
                throw new IllegalArgumentException("a ready deployment has at least one replica");
            }
        }

        @Override
        public String id() {
            return "ready";
        }
    }

    record Failed(String reason) implements DeploymentState {
        public Failed {
            requireNonNull(reason, "reason is null");
        }

        @Override
        public String id() {
            return "failed";
        }
    }

    record Draining() implements DeploymentState {
        @Override
        public String id() {
            return "draining";
        }
    }

    /** Whether the deployment has come to rest: ready, or failed. */
    default boolean settled() {
        return this instanceof Ready || this instanceof Failed;
    }

    /**
     * Whether a deployment in state {@code from} may move to {@code to}: the lifecycle's every allowed move, and only
     * those. A load reports progress (Loading to Loading) only forward, for as many replicas as it began with.
     */
    static boolean allows(DeploymentState from, DeploymentState to) {
        requireNonNull(from, "from is null");
        requireNonNull(to, "to is null");
        return switch (from) {
            case Pending p -> to instanceof Loading l && l.loaded() == 0 || to instanceof Failed
                    || to instanceof Draining;
            case Loading l -> switch (to) {
                case Loading next -> next.replicas() == l.replicas() && next.loaded() > l.loaded();
                case Ready r -> r.replicas().size() == l.replicas();
                case Failed f -> true;
                case Draining d -> true;
                case Pending p -> false;
            };
            case Ready r -> to instanceof Draining;
            case Failed f -> to instanceof Draining;
            case Draining d -> false;
        };
    }
}
