package ai.factory.sovereignty;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No code in the server connects out except through {@link Egress}: this scans every source file under
 * {@code src/main/java} for the ways Java opens outbound connections and fails naming each offender.
 */
class EgressScanTest {
    private static final Pattern OUTBOUND = Pattern.compile(
            "\\bHttpClient\\b|\\bHttpURLConnection\\b|\\.openConnection\\s*\\(|\\.openStream\\s*\\("
                    + "|new\\s+Socket\\s*\\(|\\bSocketChannel\\s*\\.\\s*open\\s*\\(|AsynchronousSocketChannel"
                    + "|new\\s+DatagramSocket\\s*\\(|DatagramChannel\\s*\\.\\s*open\\s*\\(|SocketFactory"
                    + "|\\bSdkHttpClient\\b|\\bSdkAsyncHttpClient\\b|UrlConnectionHttpClient|NettyNioAsyncHttpClient"
                    + "|ApacheHttpClient|\\bOkHttpClient\\b");

    /** The one class that may connect out. */
    private static final String EGRESS = "ai/factory/sovereignty/Egress.java";

    /**
     * Clients a user runs, not the server reaching out: each connects only to the URL its user names on the
     * command line, in the user's own process, so it is the user's egress, not the factory's.
     */
    private static final Map<String, String> USER_CLIENTS = Map.of(
            "ai/factory/cli/FactoryClient.java", "the command line's client of a factory at --url / FACTORY_URL",
            "ai/factory/bench/LoadGenerator.java", "'factory bench' load-tests the endpoint its user names with --url",
            "ai/factory/cli/Logins.java", "'factory login' signs its user in at the identity provider the factory "
                    + "at --url names, from the user's own machine",
            "ai/factory/cluster/Worker.java", "'factory worker' joins the control plane its operator names with --join, "
                    + "then calls the cluster endpoint on that same host, over mutual TLS with the cluster CA alone",
            "ai/factory/cluster/S3BlobMirror.java", "'factory worker --shared-blobs s3://…' reads the bucket its "
                    + "operator names, with the keys its operator gives it: the site's own encrypted model blobs");

    /**
     * Calls inside the cluster, not out of the site: the control plane calls only the serving ports of nodes that
     * joined with a join token, at the address each joined from, over mutual TLS trusting the cluster CA alone.
     */
    private static final Map<String, String> CLUSTER_CALLS = Map.of(
            "ai/factory/cluster/MutualTls.java", "builds the cluster's mutual-TLS clients (the cluster CA alone)",
            "ai/factory/cluster/RemoteTextEngine.java", "calls the worker a replica was assigned to",
            "ai/factory/cluster/WorkerEngines.java", "holds the control plane's client for its workers");

    @Test
    void nothingButEgressOpensOutboundConnections() throws IOException {
        Path root = Path.of("src/main/java");
        List<String> offenders = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
                String relative = root.relativize(file).toString().replace('\\', '/');
                if (relative.equals(EGRESS) || USER_CLIENTS.containsKey(relative) || CLUSTER_CALLS.containsKey(relative)) {
                    continue;
                }
                offenders.addAll(offences(relative, Files.readString(file)));
            }
        }
        assertThat(offenders).as("outbound connections outside %s (route them through Egress)", EGRESS).isEmpty();
    }

    @Test
    void theExemptClassesAndEgressExist() {
        assertThat(Path.of("src/main/java", EGRESS)).exists();
        USER_CLIENTS.keySet().forEach(f -> assertThat(Path.of("src/main/java", f)).exists());
        CLUSTER_CALLS.keySet().forEach(f -> assertThat(Path.of("src/main/java", f)).exists());
    }

    @Test
    void theScanFindsEachWayOfConnectingOut() {
        String source = """
                class Sneaky {
                    void a() throws Exception { java.net.http.HttpClient.newHttpClient(); }
                    void b() throws Exception { new java.net.URL("http://x").openConnection(); }
                    void c() throws Exception { new java.net.URL("http://x").openStream(); }
                    void d() throws Exception { new Socket("x", 80); }
                    void e() throws Exception { SocketChannel.open(); }
                    void f() throws Exception { HttpURLConnection c = null; }
                    void g() throws Exception { UrlConnectionHttpClient.create(); }
                }
                """;
        assertThat(offences("Sneaky.java", source)).hasSize(7);
        assertThat(offences("Fine.java", "class Fine { java.net.URI u = java.net.URI.create(\"http://x\"); }")).isEmpty();
    }

    private static List<String> offences(String file, String source) {
        List<String> found = new ArrayList<>();
        String[] lines = source.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            Matcher m = OUTBOUND.matcher(lines[i]);
            if (m.find()) {
                found.add(file + ":" + (i + 1) + ": " + lines[i].strip());
            }
        }
        return found;
    }
}
