package ai.factory.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.ServerTest;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.StructLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every struct the bindings pass to llama.cpp has, field by field, the offset and size the C compiler gives
 * it from the pinned {@code llama.h}. A tiny C program prints them; the Java layouts must agree exactly.
 */
@ServerTest
class LlamaLayoutTest {
    @TempDir
    Path dir;

    @Test
    void javaLayoutsMatchThePinnedHeaderFieldByField() throws Exception {
        Path source = LlamaTestSupport.source();
        LlamaTestSupport.require(onPath("gcc"), "gcc");

        Map<String, Long> expected = new LinkedHashMap<>();
        StringBuilder program = new StringBuilder("""
                #include <stddef.h>
                #include <stdio.h>
                #include "llama.h"
                int main(void) {
                """);
        for (StructLayout struct : LlamaLayouts.ALL) {
            String name = struct.name().orElseThrow();
            expected.put(name + " sizeof", struct.byteSize());
            program.append("  printf(\"%s sizeof %zu\\n\", \"").append(name).append("\", sizeof(struct ").append(name).append("));\n");
            for (MemoryLayout member : struct.memberLayouts()) {
                if (member instanceof PaddingLayout) {
                    continue;
                }
                String field = member.name().orElseThrow();
                expected.put(name + "." + field + " offsetof", struct.byteOffset(PathElement.groupElement(field)));
                expected.put(name + "." + field + " sizeof", member.byteSize());
                program.append("  printf(\"%s offsetof %zu\\n\", \"").append(name).append('.').append(field)
                        .append("\", offsetof(struct ").append(name).append(", ").append(field).append("));\n");
                program.append("  printf(\"%s sizeof %zu\\n\", \"").append(name).append('.').append(field)
                        .append("\", sizeof(((struct ").append(name).append(" *) 0)->").append(field).append("));\n");
            }
        }
        program.append("  return 0;\n}\n");
        Path c = Files.writeString(dir.resolve("layouts.c"), program);
        Path exe = dir.resolve("layouts");

        run(List.of("gcc", "-std=c11", "-I", source.resolve("include").toString(),
                "-I", source.resolve("ggml").resolve("include").toString(), "-o", exe.toString(), c.toString()));
        Map<String, Long> actual = new LinkedHashMap<>();
        for (String line : run(List.of(exe.toString())).split("\n")) {
            String[] parts = line.split(" ");
            actual.put(parts[0] + " " + parts[1], Long.parseLong(parts[2]));
        }

        assertThat(actual).containsExactlyEntriesOf(expected);
    }

    private static String run(List<String> command) throws Exception {
        Process process = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("%s finished", command.getFirst()).isTrue();
        assertThat(process.exitValue()).as("%s failed:%n%s", command, output).isZero();
        return output;
    }

    private static boolean onPath(String tool) {
        for (String p : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(p, tool))) {
                return true;
            }
        }
        return false;
    }
}
