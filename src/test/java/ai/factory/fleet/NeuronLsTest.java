package ai.factory.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.FactoryException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NeuronLsTest {
    @Test
    void trn2ListsSixteenDevicesWithEightCoresAnd96GiBInATorus() {
        List<NeuronDevice> devices = NeuronLs.parse(Fixtures.read("neuron/trn2-48xlarge.json"));
        assertThat(devices).hasSize(16);
        assertThat(devices).extracting(NeuronDevice::neuronCores).containsOnly(8);
        assertThat(devices).extracting(NeuronDevice::memoryTotalBytes).containsOnly(96L << 30);
        assertThat(devices.getFirst()).isEqualTo(
                new NeuronDevice(0, "neuron", 8, 103079215104L, "cc:00.0", List.of(12, 1, 4, 3), 1));
        assertThat(devices.get(5).connectedTo()).containsExactly(1, 6, 9, 4);
        assertThat(devices.get(5).processes()).isZero();
        assertThat(devices.getFirst().memoryUsedBytes()).isEmpty();
    }

    @Test
    void missingMemoryAndNullListsAreTolerated() {
        assertThat(NeuronLs.parse(Fixtures.read("neuron/inf2-xlarge-missing-memory.json"))).containsExactly(
                new NeuronDevice(0, "neuron", 2, 0, "00:1f.0", List.of(), 0));
    }

    @ParameterizedTest
    @ValueSource(strings = {"neuron/truncated.json", "neuron/not-json.txt"})
    void truncatedOrGarbageIsAClearError(String fixture) {
        assertThatThrownBy(() -> NeuronLs.parse(Fixtures.read(fixture)))
                .isInstanceOf(FactoryException.class)
                .hasMessageStartingWith("neuron-ls output is not as expected: not valid JSON");
    }

    @Test
    void deviceWithoutCoreCountIsAClearError() {
        assertThatThrownBy(() -> NeuronLs.parse("[{\"neuron_device\": 0, \"nc_count\": \"eight\"}]"))
                .isInstanceOf(FactoryException.class).hasMessageContaining("'nc_count' is missing or not a count");
        assertThatThrownBy(() -> NeuronLs.parse("{\"devices\": 3}"))
                .isInstanceOf(FactoryException.class).hasMessageContaining("expected a JSON array");
    }
}
