package ai.factory.fleet;

import static ai.factory.fleet.ToolOutput.malformed;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads {@code neuron-ls --json-output}: an array with one object per Neuron device ({@code neuron_device},
 * {@code bdf}, {@code connected_to}, {@code nc_count}, {@code memory_size} in bytes, {@code neuron_processes}).
 */
public final class NeuronLs {
    static final String TOOL = "neuron-ls";
    public static final List<String> COMMAND = List.of("neuron-ls", "--json-output");

    private NeuronLs() {}

    public static List<NeuronDevice> parse(String json) {
        JsonNode root = ToolOutput.json(TOOL, json);
        JsonNode list = root.isArray() ? root : root.path("neuron_devices");
        if (!list.isArray()) {
            throw malformed(TOOL, "expected a JSON array of devices");
        }
        List<NeuronDevice> devices = new ArrayList<>();
        for (JsonNode d : list) {
            int index = number(d, "neuron_device", true);
            List<Integer> connected = new ArrayList<>();
            for (JsonNode c : d.path("connected_to")) {
                if (!c.canConvertToInt()) {
                    throw malformed(TOOL, "device " + index + ": connected_to holds '" + c + "'");
                }
                connected.add(c.asInt());
            }
            String name = d.path("device_type").isTextual() ? d.path("device_type").asText() : "neuron";
            devices.add(new NeuronDevice(index, name, number(d, "nc_count", true),
                    size(d, index), d.path("bdf").asText(""), connected, d.path("neuron_processes").size()));
        }
        return devices;
    }

    private static int number(JsonNode d, String field, boolean required) {
        JsonNode n = d.path(field);
        if (n.isIntegralNumber() && n.canConvertToInt() && n.asInt() >= 0) {
            return n.asInt();
        }
        if (!required && n.isMissingNode()) {
            return 0;
        }
        throw malformed(TOOL, "'" + field + "' is missing or not a count in " + d);
    }

    private static long size(JsonNode d, int index) {
        JsonNode n = d.path("memory_size");
        if (n.isMissingNode() || n.isNull()) {
            return 0;
        }
        if (!n.isIntegralNumber() || n.asLong() < 0) {
            throw malformed(TOOL, "device " + index + ": memory_size is not a byte count: " + n);
        }
        return n.asLong();
    }
}
