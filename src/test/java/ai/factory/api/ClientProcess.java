package ai.factory.api;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A client program the conformance tests run (Node.js, Python, curl): started with the clients' default
 * configuration, its output read whole, stopped when it runs too long.
 */
final class ClientProcess {
    private ClientProcess() {}

    /** How the program ended and what it printed. */
    record Result(int exit, String out, String err) {}

    /**
     * Leaves out of {@code environment} the variables through which a machine configures the AWS and OpenAI clients
     * (profiles, regions, retry modes, endpoints, keys), and points the AWS clients' shared config and credentials
     * files at none (under {@code dir}, where there are none), so that the clients run with their defaults and what
     * the test gives them.
     */
    static void clientDefaults(Map<String, String> environment, Path dir) {
        environment.keySet().removeIf(name -> name.startsWith("AWS_") || name.startsWith("OPENAI_"));
        environment.put("AWS_CONFIG_FILE", dir.resolve("no-aws-config").toString());
        environment.put("AWS_SHARED_CREDENTIALS_FILE", dir.resolve("no-aws-credentials").toString());
    }

    /** Runs {@code pb} to its end, or fails the test (with what it printed) after {@code seconds}. */
    static Result run(ProcessBuilder pb, int seconds) throws Exception {
        Process p = pb.start();
        byte[][] streams = new byte[2][];
        Thread out = Thread.ofVirtual().start(() -> streams[0] = readAll(p.getInputStream()));
        Thread err = Thread.ofVirtual().start(() -> streams[1] = readAll(p.getErrorStream()));
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            err.join();
            throw new AssertionError(String.join(" ", pb.command()) + " ran past " + seconds + " s; it wrote: "
                    + new String(streams[1], StandardCharsets.UTF_8));
        }
        out.join();
        err.join();
        return new Result(p.exitValue(), new String(streams[0], StandardCharsets.UTF_8),
                new String(streams[1], StandardCharsets.UTF_8));
    }

    private static byte[] readAll(InputStream in) {
        try {
            return in.readAllBytes();
        } catch (IOException e) {
            return new byte[0];
        }
    }

    /** The strings of a JSON array a program printed. */
    static List<String> strings(JsonNode array) {
        List<String> values = new ArrayList<>();
        array.forEach(v -> values.add(v.asText()));
        return values;
    }
}
