package ai.factory.fleet;

import static ai.factory.fleet.ToolOutput.malformed;
import static ai.factory.fleet.ToolOutput.missing;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * Reads {@code amd-smi static --json}: one object per GPU with {@code gpu}, {@code asic} (market name, target
 * graphics version, compute units), {@code bus.bdf}, {@code driver.version} and {@code vram.size}. Older releases
 * print a bare array and the size as {@code "196592 MB"}; newer ones wrap the array in {@code gpu_data} and write
 * the size as {@code {"value": 196592, "unit": "MB"}}; both are read.
 */
public final class AmdSmi {
    static final String TOOL = "amd-smi";
    public static final List<String> COMMAND = List.of("amd-smi", "static", "--json");

    private AmdSmi() {}

    public static List<AmdGpu> parse(String json) {
        JsonNode root = ToolOutput.json(TOOL, json);
        JsonNode list = root.isArray() ? root : root.path("gpu_data");
        if (!list.isArray()) {
            throw malformed(TOOL, "expected a JSON array of GPUs (or an object with 'gpu_data')");
        }
        List<AmdGpu> gpus = new ArrayList<>();
        for (JsonNode g : list) {
            JsonNode index = g.path("gpu");
            if (!index.isIntegralNumber() || index.asInt() < 0) {
                throw malformed(TOOL, "a GPU has no 'gpu' index: " + g);
            }
            JsonNode asic = g.path("asic");
            gpus.add(new AmdGpu(index.asInt(), text(asic, "market_name", "AMD GPU"),
                    vram(g.path("vram").path("size"), index.asInt()), OptionalLong.empty(), text(asic, "target_graphics_version", "unknown"),
                    count(asic.path("num_compute_units")), text(g.path("bus"), "bdf", ""),
                    text(g.path("driver"), "version", "unknown")));
        }
        return gpus;
    }

    private static String text(JsonNode parent, String field, String otherwise) {
        JsonNode n = parent.path(field);
        return n.isValueNode() && !missing(n.asText()) ? n.asText() : otherwise;
    }

    private static int count(JsonNode n) {
        if (n.isIntegralNumber()) {
            return Math.max(0, n.asInt());
        }
        return n.isTextual() && n.asText().matches("\\d{1,9}") ? Integer.parseInt(n.asText()) : 0;
    }

    private static long vram(JsonNode size, int gpu) {
        if (size.isMissingNode() || size.isNull() || (size.isTextual() && missing(size.asText()))) {
            return 0;
        }
        if (size.isObject()) {
            JsonNode value = size.path("value");
            if (!value.isNumber()) {
                return 0;
            }
            return ToolOutput.bytes(TOOL, value.asLong() + " " + size.path("unit").asText("MB"), "MB");
        }
        if (size.isTextual() || size.isIntegralNumber()) {
            return ToolOutput.bytes(TOOL, size.asText(), "MB");
        }
        throw malformed(TOOL, "GPU " + gpu + ": vram.size is " + size);
    }
}
