package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.TestFactory;
import ai.factory.security.audit.CallJournal;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A factory killed with SIGKILL while it streams two generations: neither call had a record then (a record is
 * written when a call ends), yet both were written ahead when admitted, so the next start on the same home closes
 * them as records with outcome {@code interrupted}, once each, in a chain that verifies.
 */
class CrashInterruptedCallsTest {
    @TempDir
    Path home;

    @Test
    void callsInFlightAtAKillAreRecordedAsInterruptedAtTheNextStart() throws Exception {
        ai.factory.TestModels.tinyLlama(); // skips here, as the other tests do, where the test model is absent
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> !a.startsWith("-agentlib") && !a.startsWith("-javaagent")).toList());
        System.getProperties().stringPropertyNames().stream().filter(n -> n.startsWith("factory."))
                .forEach(n -> command.add("-D" + n + "=" + System.getProperty(n)));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), FactoryProcess.class.getName(),
                home.toString()));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        List<InputStream> streams = new ArrayList<>();
        try {
            String url = null;
            String key = null;
            List<String> output = new ArrayList<>();
            BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            for (String line; (line = lines.readLine()) != null && !line.equals("ready"); ) {
                output.add(line);
                url = line.startsWith("url ") ? line.substring(4) : url;
                key = line.startsWith("key ") ? line.substring(4) : key;
            }
            assertThat(url).as("the child's output: %s", output.subList(Math.max(0, output.size() - 20), output.size()))
                    .isNotNull();
            Thread.ofVirtual().start(() -> lines.lines().forEach(l -> { })); // keep the child's pipe drained
            HttpClient http = HttpClient.newHttpClient();
            for (String id : List.of("cut-1", "cut-2")) {
                HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(url + "/v1/completions"))
                        .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                        .header("X-Request-Id", id).POST(HttpRequest.BodyPublishers.ofString("{\"model\": "
                                + "\"acme/tiny\", \"prompt\": \"x\", \"max_tokens\": 100000, \"ignore_eos\": true, "
                                + "\"stream\": true}")).build(), HttpResponse.BodyHandlers.ofInputStream());
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body().readNBytes(500)).as("the generation streams").hasSize(500);
                streams.add(r.body());
            }
            child.destroyForcibly();
            assertThat(child.waitFor(1, TimeUnit.MINUTES)).isTrue();
            assertThat(child.exitValue()).as("killed by SIGKILL").isEqualTo(128 + 9);
        } finally {
            child.destroyForcibly();
            for (InputStream s : streams) {
                s.close();
            }
        }

        try (TestFactory restarted = TestFactory.start(home)) {
            for (String id : List.of("cut-1", "cut-2")) {
                JsonNode record = restarted.auditRecord(id, restarted.adminKey());
                assertThat(record.path("outcome").asText()).isEqualTo(CallJournal.INTERRUPTED);
                assertThat(record.path("action").asText()).isEqualTo("invoke");
                assertThat(record.path("decision").asText()).isEqualTo("allow");
                assertThat(record.path("principalName").asText()).isEqualTo("admin");
                assertThat(record.path("detail").asText()).startsWith("POST /v1/completions interrupted");
            }
            assertThat(restarted.get("/api/v1/audit/verify", restarted.adminKey()).body()).contains("\"ok\":true");
        }
        // Closed once: a second start finds nothing left to close.
        try (TestFactory again = TestFactory.start(home)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> count(again, "cut-1") == 1);
            JsonNode records = ai.factory.Json.mapper().readTree(again.get("/api/v1/audit?limit=1000",
                    again.adminKey()).body()).path("records");
            assertThat(count(again, "cut-2")).isEqualTo(1);
            assertThat(records.size()).isPositive();
        }
    }

    private static long count(TestFactory factory, String requestId) throws Exception {
        JsonNode records = ai.factory.Json.mapper().readTree(factory.get("/api/v1/audit?limit=1000",
                factory.adminKey()).body()).path("records");
        long n = 0;
        for (JsonNode r : records) {
            n += r.path("requestId").asText().equals(requestId) ? 1 : 0;
        }
        return n;
    }
}
