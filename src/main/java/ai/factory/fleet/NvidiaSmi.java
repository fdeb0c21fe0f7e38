package ai.factory.fleet;

import static ai.factory.fleet.ToolOutput.child;
import static ai.factory.fleet.ToolOutput.childElement;
import static ai.factory.fleet.ToolOutput.childElements;
import static ai.factory.fleet.ToolOutput.malformed;
import static ai.factory.fleet.ToolOutput.missing;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/** Reads what {@code nvidia-smi} prints: the CSV GPU query for the list, the XML report for MIG and NVLink fabric. */
public final class NvidiaSmi {
    static final String TOOL = "nvidia-smi";
    /** The query whose output {@link #parseQuery} reads; the fields in this order. */
    public static final List<String> QUERY = List.of("nvidia-smi",
            "--query-gpu=index,uuid,name,memory.total,memory.used,compute_cap,driver_version",
            "--format=csv,noheader,nounits");
    public static final List<String> REPORT = List.of("nvidia-smi", "-q", "-x");

    /** What the XML report adds to a GPU of the query. */
    public record Details(List<MigInstance> mig, Optional<String> nvlinkDomain) {
        public Details {
            mig = List.copyOf(mig);
            java.util.Objects.requireNonNull(nvlinkDomain, "nvlinkDomain is null");
        }
    }

    private NvidiaSmi() {}

    /** The GPUs in the output of {@link #QUERY}: one line per GPU, memory in MiB. */
    public static List<NvidiaGpu> parseQuery(String csv) {
        List<NvidiaGpu> gpus = new ArrayList<>();
        int lineNo = 0;
        for (String line : csv.lines().toList()) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split(",", -1);
            if (f.length != 7) {
                throw malformed(TOOL, "line " + lineNo + " has " + f.length + " fields, expected 7: '" + line.strip() + "'");
            }
            for (int i = 0; i < f.length; i++) {
                f[i] = f[i].strip();
            }
            String where = "line " + lineNo + ": ";
            gpus.add(new NvidiaGpu(ToolOutput.integer(TOOL, where + "index", f[0]), f[1], f[2],
                    missing(f[3]) ? 0 : ToolOutput.bytes(TOOL, f[3], "MiB"),
                    missing(f[4]) ? 0 : ToolOutput.bytes(TOOL, f[4], "MiB"),
                    missing(f[5]) ? "unknown" : f[5], missing(f[6]) ? "unknown" : f[6], List.of(), Optional.empty()));
        }
        return gpus;
    }

    /** MIG instances and NVLink fabric domain per GPU UUID, from the output of {@link #REPORT}. */
    public static Map<String, Details> parseReport(String xml) {
        Document doc = ToolOutput.xml(TOOL, xml);
        Element root = doc.getDocumentElement();
        if (!root.getTagName().equals("nvidia_smi_log")) {
            throw malformed(TOOL, "the XML root is <" + root.getTagName() + ">, not <nvidia_smi_log>");
        }
        Map<String, Details> out = new LinkedHashMap<>();
        for (Element gpu : childElements(root, "gpu")) {
            String uuid = child(gpu, "uuid");
            if (missing(uuid)) {
                throw malformed(TOOL, "a <gpu> has no <uuid>");
            }
            List<MigInstance> mig = new ArrayList<>();
            for (Element m : childElements(childElement(gpu, "mig_devices"), "mig_device")) {
                mig.add(migInstance(uuid, m));
            }
            out.put(uuid, new Details(mig, nvlinkDomain(childElement(gpu, "fabric"))));
        }
        return out;
    }

    private static MigInstance migInstance(@Nullable String uuid, Element m) {
        String where = "MIG device of " + uuid + ": ";
        Element memory = childElement(m, "fb_memory_usage");
        String total = child(memory, "total");
        String used = child(memory, "used");
        String sms = child(childElement(childElement(m, "device_attributes"), "shared"), "multiprocessor_count");
        return new MigInstance(ToolOutput.integer(TOOL, where + "index", child(m, "index")),
                ToolOutput.integer(TOOL, where + "gpu_instance_id", child(m, "gpu_instance_id")),
                ToolOutput.integer(TOOL, where + "compute_instance_id", child(m, "compute_instance_id")),
                missing(sms) ? 0 : ToolOutput.integer(TOOL, where + "multiprocessor_count", sms),
                missing(total) ? 0 : ToolOutput.bytes(TOOL, total, "MiB"),
                missing(used) ? 0 : ToolOutput.bytes(TOOL, used, "MiB"));
    }

    /**
     * The NVLink domain a GPU belongs to: the fabric's cluster UUID and clique id, reported once the fabric manager
     * has registered the GPU ({@code <state>Completed</state>}); absent on GPUs without a managed fabric.
     */
    private static Optional<String> nvlinkDomain(@Nullable Element fabric) {
        if (fabric == null) {
            return Optional.empty();
        }
        String state = child(fabric, "state");
        String cluster = child(fabric, "clusterUuid");
        String clique = child(fabric, "cliqueId");
        if (cluster == null || missing(cluster) || !"Completed".equalsIgnoreCase(state) || cluster.matches("[0-]+")) {
            return Optional.empty();
        }
        return Optional.of(missing(clique) ? cluster : cluster + "/" + clique);
    }

    /** The query's GPUs with the report's details added, matched by UUID. */
    public static List<NvidiaGpu> merge(List<NvidiaGpu> gpus, Map<String, Details> details) {
        return gpus.stream().map(g -> {
            Details d = details.get(g.uuid());
            return d == null ? g : g.withDetails(d.mig(), d.nvlinkDomain());
        }).toList();
    }
}
