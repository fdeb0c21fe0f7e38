package ai.factory.fleet;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.OptionalLong;

/**
 * An AWS Neuron device (Inferentia or Trainium), as {@code neuron-ls} lists it: its NeuronCores, its device
 * memory, its PCI address and the devices it is linked to in the NeuronLink ring.
 */
public record NeuronDevice(int index, String name, int neuronCores, long memoryTotalBytes, String pciAddress,
                           List<Integer> connectedTo, int processes) implements Accelerator {
    public NeuronDevice {
        if (index < 0 || neuronCores < 0 || memoryTotalBytes < 0 || processes < 0) {
            throw new IllegalArgumentException("Neuron device numbers must not be negative");
        }
        requireNonNull(name, "name is null");
        requireNonNull(pciAddress, "pciAddress is null");
        connectedTo = List.copyOf(connectedTo);
    }

    @Override
    public Kind kind() {
        return Kind.NEURON;
    }

    @Override
    public OptionalLong memoryUsedBytes() {
        return OptionalLong.empty();
    }
}
