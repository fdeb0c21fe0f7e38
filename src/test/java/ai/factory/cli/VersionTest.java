package ai.factory.cli;

import ai.factory.BuildInfo;
import static ai.factory.cli.FactoryCliTest.cli;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.ServerTest;
import ai.factory.engine.llama.LlamaRuntime;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code factory -V}: the build, the commit, the llama.cpp natives and the Java runtime, without a server. */
@ServerTest
class VersionTest {
    @Test
    void namesTheVersionTheCommitTheNativesAndJava() throws Exception {
        FactoryCliTest.Run run = cli("-V");
        assertThat(run.exit()).as(run.err()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).matches("factory \\d+\\.\\d+\\.\\d+(-SNAPSHOT)? \\(commit ([0-9a-f]{7,}|unknown)"
                + "(, with local changes)?\\)");
        headCommit().ifPresent(head -> assertThat(lines.get(0)).as("the checkout's HEAD, as git names it")
                .contains("(commit " + head));
        assertThat(lines.get(1)).contains("the pinned natives are node-llama-cpp ").doesNotContain("${");
        LlamaRuntime.onDisk().ifPresentOrElse(
                natives -> assertThat(lines.get(1)).startsWith("llama.cpp " + natives.version().orElse("(version not in its file name)") + " from "
                        + natives.library().getParent()),
                () -> assertThat(lines.get(1)).startsWith("llama.cpp: no natives found"));
        assertThat(lines.get(2)).startsWith("Java " + Runtime.version());

        assertThat(cli("up", "-V").out()).as("a command's -V").isEqualTo(run.out());
        assertThat(cli("audit", "verify", "--version").out()).isEqualTo(run.out());
    }

    @Test
    void theVersionCommandCarriesTheFactorysOwnSbom() throws Exception {
        FactoryCliTest.Run json = cli("version", "--json");
        assertThat(json.exit()).as(json.err()).isZero();
        var v = ai.factory.Json.mapper().readTree(json.out());
        assertThat(v.path("llamaNatives").path("package").asText()).isEqualTo("node-llama-cpp");
        assertThat(v.path("llamaNatives").path("pinned").asText()).matches("\\d+\\.\\d+\\.\\d+");
        assertThat(v.at("/sbom/format").asText()).isEqualTo("CycloneDX 1.6");
        // Where the natives came from, as the launcher recorded it when it fetched them.
        ai.factory.engine.llama.LlamaRuntime.onDisk().flatMap(n -> n.provenance()).ifPresent(p -> {
            assertThat(v.at("/llamaNatives/npmPackage").asText()).startsWith("@node-llama-cpp/");
            assertThat(v.at("/llamaNatives/npmVersion").asText()).isEqualTo(v.at("/llamaNatives/pinned").asText());
            assertThat(v.at("/llamaNatives/llamaCppCommit").asText()).matches("[0-9a-f]{40}|");
            assertThat(v.at("/sbom/natives").asBoolean()).isTrue();
        });
        FactoryCliTest.Run sbom = cli("version", "--sbom");
        assertThat(sbom.exit()).isZero();
        var bom = ai.factory.Json.mapper().readTree(sbom.out());
        assertThat(bom.path("bomFormat").asText()).isEqualTo("CycloneDX");
        assertThat(bom.path("components").size()).isEqualTo(v.at("/sbom/components").asInt()).isGreaterThan(50);
        // The runtime's libraries are in it with their versions and package URLs; the tests' are not.
        List<String> purls = new java.util.ArrayList<>();
        bom.path("components").forEach(c -> purls.add(c.path("purl").asText()));
        assertThat(purls).anyMatch(p -> p.startsWith("pkg:maven/com.fasterxml.jackson.core/jackson-databind@"))
                .anyMatch(p -> p.startsWith("pkg:maven/io.javalin/javalin@"))
                .noneMatch(p -> p.contains("/junit-jupiter") || p.contains("/assertj-core"));
        if (v.at("/sbom/natives").asBoolean()) {
            // The natives this installation loads join it, with the registry's hash and their llama.cpp commit.
            var natives = java.util.stream.StreamSupport.stream(bom.path("components").spliterator(), false)
                    .filter(c -> c.path("purl").asText().startsWith("pkg:npm/%40node-llama-cpp/")).findFirst();
            assertThat(natives).isPresent();
            assertThat(natives.get().path("version").asText()).isEqualTo(v.at("/llamaNatives/pinned").asText());
        }
        String digest = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(sbom.out().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertThat(v.at("/sbom/sha256").asText()).isEqualTo(digest);
        assertThat(cli("version").out()).contains("SBOM: CycloneDX 1.6, ", " components, sha256 " + digest);
    }

    @Test
    void aBuildThatCouldNotFillItInSaysSo() {
        Properties unfilled = new Properties();
        unfilled.setProperty("version", "${project.version}");
        unfilled.setProperty("commit", "${build.commit}");
        unfilled.setProperty("modified", "${build.modified}");
        assertThat(BuildInfo.of(unfilled).factoryLine()).isEqualTo("factory dev (commit unknown)");

        Properties archive = new Properties();
        archive.setProperty("version", "1.2.0");
        archive.setProperty("commit", "unknown");
        archive.setProperty("modified", "false");
        archive.setProperty("llamaNativesVersion", "3.22.1");
        assertThat(BuildInfo.of(archive).factoryLine()).isEqualTo("factory 1.2.0 (commit unknown)");
        assertThat(BuildInfo.of(archive).llamaNatives()).contains("3.22.1");
    }

    /** The short commit of the checkout the tests run in, when git and a .git are there. */
    private static java.util.Optional<String> headCommit() throws Exception {
        try {
            Process git = new ProcessBuilder("git", "rev-parse", "--short=7", "HEAD").redirectErrorStream(true).start();
            String out = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return git.waitFor(1, TimeUnit.MINUTES) && git.exitValue() == 0 ? java.util.Optional.of(out)
                    : java.util.Optional.empty();
        } catch (java.io.IOException noGit) {
            return java.util.Optional.empty();
        }
    }
}
