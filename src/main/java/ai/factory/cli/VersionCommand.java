package ai.factory.cli;

import ai.factory.BuildInfo;
import ai.factory.Json;
import ai.factory.engine.llama.LlamaRuntime;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code factory version [--json]}: what {@code -V} says (the factory's version and commit, the llama.cpp natives it
 * would load, the Java runtime) and the factory's own SBOM: the CycloneDX document the build put into the jar, its
 * SHA-256 and how many components it lists. No server needed.
 */
@Command(name = "version", mixinStandardHelpOptions = true,
        description = "The factory's version, commit, llama.cpp natives and Java, and its SBOM (CycloneDX, in the "
                + "jar: META-INF/sbom/factory.cdx.json) with its SHA-256; --json for a document, --sbom for the SBOM.")
final class VersionCommand implements Callable<Integer> {
    static final String SBOM = BuildInfo.SBOM;

    @Spec CommandSpec spec;

    @Option(names = "--json", description = "Print a JSON document.") boolean json;

    @Option(names = "--sbom", description = "Print the SBOM itself (CycloneDX JSON).") boolean sbom;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        byte[] built = BuildInfo.sbom().orElse(null);
        // The build's SBOM lists the Maven dependencies; the natives this installation loads join it (npm package,
        // integrity hash, llama.cpp commit), as the launcher recorded where they came from.
        var provenance = LlamaRuntime.onDisk().flatMap(LlamaRuntime.OnDisk::provenance);
        byte[] document = built == null ? null : provenance.map(p -> p.addTo(built)).orElse(built);
        if (sbom) {
            if (document == null) {
                spec.commandLine().getErr().println("this build has no SBOM (built without the CycloneDX plugin's run)");
                return 1;
            }
            out.print(new String(document, java.nio.charset.StandardCharsets.UTF_8));
            out.flush();
            return 0;
        }
        BuildInfo build = BuildInfo.load();
        ObjectNode v = Json.mapper().createObjectNode();
        v.put("version", build.version().orElse("dev"));
        v.put("commit", build.commit().orElse("unknown"));
        v.put("modified", build.modified());
        ObjectNode natives = v.putObject("llamaNatives");
        natives.put("package", "node-llama-cpp");
        natives.put("pinned", build.llamaNatives().orElse("unknown"));
        LlamaRuntime.onDisk().ifPresent(n -> {
            natives.put("library", n.library().toString());
            natives.put("llamaCpp", n.version().orElse("unknown"));
            n.provenance().ifPresent(p -> {
                natives.put("npmPackage", p.packageName());
                natives.put("npmVersion", p.version());
                natives.put("integrity", p.integrity());
                natives.put("llamaCppCommit", p.llamaCppCommit());
            });
        });
        v.put("java", Runtime.version().toString());
        if (document != null) {
            JsonNode bom = Json.mapper().readTree(document);
            ObjectNode s = v.putObject("sbom");
            s.put("format", "CycloneDX " + bom.path("specVersion").asText());
            s.put("resource", SBOM.substring(1));
            s.put("sha256", ai.factory.storage.Sha256.hex(document));
            s.put("buildSha256", BuildInfo.sbomSha256().orElseThrow());
            s.put("natives", provenance.isPresent());
            s.put("components", bom.path("components").size());
        }
        if (json) {
            ModelsCommand.printJson(out, v);
            return 0;
        }
        for (String line : new FactoryCli.Version().getVersion()) {
            out.println(line);
        }
        out.println(document == null ? "SBOM: none in this build"
                : "SBOM: " + v.at("/sbom/format").asText() + ", " + v.at("/sbom/components").asInt()
                        + " components, sha256 " + v.at("/sbom/sha256").asText() + " ('factory version --sbom' prints it)");
        out.flush();
        return 0;
    }
}
