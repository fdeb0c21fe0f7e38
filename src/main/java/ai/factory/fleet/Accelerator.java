package ai.factory.fleet;

import java.util.OptionalLong;

/**
 * One accelerator device on a node. A closed set: each kind carries the facts that only it has (MIG and NVLink
 * domains on NVIDIA, NeuronCores and the device ring on Trainium, compute units on AMD), so placement can match
 * on the kind exhaustively, while what every kind has (index, name, memory) is common here.
 */
public sealed interface Accelerator permits NvidiaGpu, NeuronDevice, AmdGpu {
    /** The kind as written in the API and in metric tags. */
    enum Kind {
        NVIDIA("nvidia"), NEURON("neuron"), AMD("amd");

        private final String id;

        Kind(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }
    }

    Kind kind();

    /** The device's index as its own tool numbers it. */
    int index();

    String name();

    long memoryTotalBytes();

    /** Device memory in use, where the tool reports it. */
    OptionalLong memoryUsedBytes();
}
