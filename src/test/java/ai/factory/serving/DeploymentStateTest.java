package ai.factory.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.engine.Engine;
import ai.factory.models.ModelName;
import ai.factory.serving.DeploymentState.Draining;
import ai.factory.serving.DeploymentState.Failed;
import ai.factory.serving.DeploymentState.Loading;
import ai.factory.serving.DeploymentState.Pending;
import ai.factory.serving.DeploymentState.Ready;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The deployment lifecycle: every move it allows, the ones it refuses, and the ids the API and the table show. */
class DeploymentStateTest {
    /** An engine that serves nothing: a ready state needs replicas to hold. */
    private static final Engine REPLICA = new IdleEngine();

    private static final DeploymentState PENDING = new Pending();
    private static final DeploymentState LOADING_0_OF_2 = new Loading(0, 2);
    private static final DeploymentState LOADING_1_OF_2 = new Loading(1, 2);
    private static final DeploymentState READY_2 = new Ready(List.of(REPLICA, REPLICA));
    private static final DeploymentState FAILED = new Failed("out of memory");
    private static final DeploymentState DRAINING = new Draining();

    static Stream<Arguments> allowed() {
        return Stream.of(
                Arguments.of(PENDING, LOADING_0_OF_2),
                Arguments.of(PENDING, FAILED),
                Arguments.of(PENDING, DRAINING),
                Arguments.of(LOADING_0_OF_2, LOADING_1_OF_2),
                Arguments.of(LOADING_1_OF_2, READY_2),
                Arguments.of(LOADING_0_OF_2, READY_2),
                Arguments.of(LOADING_0_OF_2, FAILED),
                Arguments.of(LOADING_1_OF_2, DRAINING),
                Arguments.of(READY_2, DRAINING),
                Arguments.of(FAILED, DRAINING));
    }

    static Stream<Arguments> refused() {
        return Stream.of(
                Arguments.of(PENDING, PENDING),
                Arguments.of(PENDING, LOADING_1_OF_2),
                Arguments.of(PENDING, READY_2),
                Arguments.of(LOADING_0_OF_2, PENDING),
                Arguments.of(LOADING_1_OF_2, LOADING_0_OF_2),
                Arguments.of(LOADING_1_OF_2, LOADING_1_OF_2),
                Arguments.of(LOADING_0_OF_2, new Loading(1, 3)),
                Arguments.of(LOADING_1_OF_2, new Ready(List.of(REPLICA))),
                Arguments.of(READY_2, LOADING_0_OF_2),
                Arguments.of(READY_2, FAILED),
                Arguments.of(READY_2, READY_2),
                Arguments.of(FAILED, LOADING_0_OF_2),
                Arguments.of(FAILED, READY_2),
                Arguments.of(FAILED, new Failed("again")),
                Arguments.of(DRAINING, PENDING),
                Arguments.of(DRAINING, LOADING_0_OF_2),
                Arguments.of(DRAINING, READY_2),
                Arguments.of(DRAINING, FAILED),
                Arguments.of(DRAINING, DRAINING));
    }

    @ParameterizedTest(name = "{0} → {1}")
    @MethodSource("allowed")
    void allowsTheMovesOfTheLifecycle(DeploymentState from, DeploymentState to) {
        assertThat(DeploymentState.allows(from, to)).isTrue();
        LiveDeployment live = live(from);
        assertThat(live.transition(to)).hasValue(from);
        assertThat(live.state()).isEqualTo(to);
    }

    @ParameterizedTest(name = "{0} → {1}")
    @MethodSource("refused")
    void refusesEveryOtherMoveAndChangesNothing(DeploymentState from, DeploymentState to) {
        assertThat(DeploymentState.allows(from, to)).isFalse();
        LiveDeployment live = live(from);
        assertThat(live.transition(to)).isEmpty();
        assertThat(live.state()).isSameAs(from);
        assertThat(live.settled()).isNotDone();
    }

    @Test
    void settlesWhenReadyFailedOrDrainingAndNotBefore() {
        LiveDeployment live = live(PENDING);
        live.transition(LOADING_0_OF_2);
        live.transition(LOADING_1_OF_2);
        assertThat(live.settled()).isNotDone();
        live.transition(READY_2);
        assertThat(live.settled()).isCompletedWithValueMatching(d -> d.state() == READY_2);

        LiveDeployment failing = live(PENDING);
        failing.transition(FAILED);
        assertThat(failing.settled()).isCompletedWithValueMatching(d -> "out of memory".equals(d.reason()));

        LiveDeployment deleted = live(LOADING_0_OF_2);
        deleted.transition(DRAINING);
        assertThat(deleted.settled()).isCompletedWithValueMatching(d -> d.state() instanceof Draining);
    }

    @Test
    void placementsAreGivenBackOnceAndNotTakenWhileDraining() {
        LiveDeployment live = new LiveDeployment(deployment(PENDING), List.of(ReplicaPlacement.cpu(0)));
        assertThat(live.takePlacements()).hasSize(1);
        assertThat(live.takePlacements()).as("a second release finds nothing to give back").isEmpty();
        assertThat(live.place(List.of(ReplicaPlacement.cpu(0)))).isTrue();
        live.transition(DRAINING);
        assertThat(live.place(List.of(ReplicaPlacement.cpu(0)))).as("a drained deployment holds nothing new").isFalse();
        assertThat(live.takePlacements()).hasSize(1);
    }

    @Test
    void theApiAndTheTableKeepTheirStateNames() {
        Map<DeploymentState, String> ids = Map.of(PENDING, "pending", LOADING_1_OF_2, "loading", READY_2, "ready",
                FAILED, "failed", DRAINING, "draining");
        ids.forEach((state, id) -> assertThat(state.id()).isEqualTo(id));
        assertThat(deployment(FAILED).reason()).isEqualTo("out of memory");
        assertThat(deployment(READY_2).reason()).isNull();
    }

    @Test
    void statesRefuseImpossibleData() {
        assertThatThrownBy(() -> new Loading(2, 2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Loading(-1, 2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Ready(List.of())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Failed(null)).isInstanceOf(NullPointerException.class);
    }

    private static LiveDeployment live(DeploymentState state) {
        return new LiveDeployment(deployment(state), List.of());
    }

    private static Deployment deployment(DeploymentState state) {
        return new Deployment("dep-1", "default", ModelName.parse("acme/tiny"), 1, new DeploymentSpec(2, 1, 0, 0, 1),
                state, Instant.EPOCH, "p-admin");
    }
}
