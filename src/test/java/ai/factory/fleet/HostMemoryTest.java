package ai.factory.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The host memory ledger: free is the lesser of the machine's free memory less what is held but not yet allocated,
 * and the limit less everything held; serving takes memory from work below it only when that makes enough room.
 * The machine's free memory is a number the test sets, standing in for {@code MemAvailable}.
 */
class HostMemoryTest {
    private static final long MIB = 1 << 20;
    private final AtomicLong machine = new AtomicLong(1000 * MIB);

    /** Work below serving that holds {@code bytes} under "job" until asked to yield (or refuses when stubborn). */
    private final class Work implements HostMemory.Yielder {
        final HostMemory memory;
        final List<String> askedBy = new ArrayList<>();
        boolean stubborn;

        Work(HostMemory memory, long bytes) {
            this.memory = memory;
            assertThat(memory.tryHold("job", bytes)).isTrue();
            memory.allocated("job");
            machine.addAndGet(-bytes);
            memory.yieldingWork(this);
        }

        @Override
        public long yieldableBytes() {
            return memory.held("job");
        }

        @Override
        public boolean yieldMemory(String to, Duration timeout) {
            askedBy.add(to);
            if (stubborn) {
                return false;
            }
            machine.addAndGet(memory.held("job"));
            memory.release("job");
            return true;
        }
    }

    @Test
    void whatIsHeldButNotYetAllocatedCountsAgainstTheMachinesFreeMemory() {
        HostMemory memory = new HostMemory(machine::get, OptionalLong.empty());
        assertThat(memory.free()).isEqualTo(1000 * MIB);
        assertThat(memory.tryHold("a", 300 * MIB)).isTrue();
        assertThat(memory.free()).as("loading: not yet in MemAvailable").isEqualTo(700 * MIB);
        machine.addAndGet(-300 * MIB);
        memory.allocated("a");
        assertThat(memory.free()).as("loaded: MemAvailable shows it, counted once").isEqualTo(700 * MIB);
        assertThat(memory.tryHold("b", 800 * MIB)).isFalse();
        assertThat(memory.held("b")).isZero();
        memory.release("a");
        machine.addAndGet(300 * MIB);
        assertThat(memory.free()).isEqualTo(1000 * MIB);
    }

    @Test
    void underALimitEverythingHeldCounts() {
        HostMemory memory = new HostMemory(machine::get, OptionalLong.of(500 * MIB));
        assertThat(memory.capacity()).isEqualTo(500 * MIB);
        assertThat(memory.tryHold("a", 300 * MIB)).isTrue();
        memory.allocated("a");
        machine.addAndGet(-300 * MIB);
        assertThat(memory.free()).isEqualTo(200 * MIB);
        assertThat(memory.tryHold("b", 201 * MIB)).isFalse();
        assertThat(memory.tryHold("a", 500 * MIB)).as("what an owner holds is not counted against itself").isTrue();
        assertThatThrownBy(() -> new HostMemory(machine::get, OptionalLong.of(0)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void servingTakesTheMemoryOfWorkBelowItWhenThatMakesEnoughRoom() {
        HostMemory memory = new HostMemory(machine::get, OptionalLong.of(500 * MIB));
        Work work = new Work(memory, 300 * MIB);
        List<String> released = new ArrayList<>();
        memory.onRelease(() -> released.add("released"));

        assertThat(memory.reserve("deployment d", 400 * MIB, "d", Duration.ofSeconds(5))).isTrue();
        assertThat(work.askedBy).containsExactly("d");
        assertThat(memory.held("deployment d")).isEqualTo(400 * MIB);
        assertThat(memory.held("job")).isZero();
        assertThat(released).containsExactly("released");
        assertThat(memory.tryHold("job", 300 * MIB)).as("the work waits while serving holds it").isFalse();
    }

    @Test
    void workBelowServingIsLeftAloneWhenItsMemoryWouldNotBeEnoughOrItDoesNotYield() {
        HostMemory memory = new HostMemory(machine::get, OptionalLong.of(500 * MIB));
        Work work = new Work(memory, 300 * MIB);

        assertThat(memory.reserve("deployment big", 501 * MIB, "big", Duration.ofSeconds(5))).isFalse();
        assertThat(work.askedBy).as("not asked: its memory would not be enough").isEmpty();
        assertThat(memory.held("deployment big")).isZero();

        work.stubborn = true;
        assertThat(memory.reserve("deployment d", 400 * MIB, "d", Duration.ofMillis(200))).isFalse();
        assertThat(work.askedBy).containsExactly("d");
        assertThat(memory.held("deployment d")).as("nothing held after a refusal").isZero();
        assertThat(memory.held("job")).isEqualTo(300 * MIB);
        assertThat(memory.reserve("deployment small", 200 * MIB, "small", Duration.ofSeconds(5))).isTrue();
        assertThat(work.askedBy).as("fits without taking anything").hasSize(1);
    }
}
