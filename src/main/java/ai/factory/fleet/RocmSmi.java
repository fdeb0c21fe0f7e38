package ai.factory.fleet;

import static ai.factory.fleet.ToolOutput.malformed;
import static ai.factory.fleet.ToolOutput.missing;

import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads {@code rocm-smi --showproductname --showmeminfo vram --json}, the older AMD tool that discovery asks where
 * {@code amd-smi} is not installed: an object with one {@code cardN} entry per GPU holding {@code Card Series},
 * {@code GFX Version} and {@code VRAM Total (Used) Memory (B)} as strings. Key case varies between releases.
 */
public final class RocmSmi {
    static final String TOOL = "rocm-smi";
    public static final List<String> COMMAND = List.of("rocm-smi", "--showproductname", "--showmeminfo", "vram", "--json");
    private static final Pattern CARD = Pattern.compile("card(\\d{1,4})");

    private RocmSmi() {}

    public static List<AmdGpu> parse(String json) {
        JsonNode root = ToolOutput.json(TOOL, json);
        if (!root.isObject()) {
            throw malformed(TOOL, "expected a JSON object of cards");
        }
        List<AmdGpu> gpus = new ArrayList<>();
        for (Map.Entry<String, JsonNode> card : root.properties()) {
            Matcher m = CARD.matcher(card.getKey());
            if (!m.matches()) {
                continue; // "system" and other summaries
            }
            int index = Integer.parseInt(m.group(1));
            JsonNode c = card.getValue();
            String total = field(c, "VRAM Total Memory (B)");
            String used = field(c, "VRAM Total Used Memory (B)");
            String series = field(c, "Card Series");
            String gfx = field(c, "GFX Version");
            gpus.add(new AmdGpu(index, series == null || missing(series) ? "AMD GPU" : series,
                    missing(total) ? 0 : ToolOutput.bytes(TOOL, total, "B"),
                    missing(used) ? OptionalLong.empty() : OptionalLong.of(ToolOutput.bytes(TOOL, used, "B")),
                    gfx == null || missing(gfx) ? "unknown" : gfx, 0, "", "unknown"));
        }
        gpus.sort(Comparator.comparingInt(AmdGpu::index));
        return gpus;
    }

    private static @Nullable String field(JsonNode card, String name) {
        for (Map.Entry<String, JsonNode> f : card.properties()) {
            if (f.getKey().toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT)) && f.getValue().isValueNode()) {
                return f.getValue().asText();
            }
        }
        return null;
    }
}
