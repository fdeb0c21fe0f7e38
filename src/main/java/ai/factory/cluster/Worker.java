package ai.factory.cluster;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.security.tls.ClusterCa;
import ai.factory.security.tls.Pem;
import ai.factory.storage.DataKey;
import ai.factory.storage.PrivateFiles;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's side of the cluster. It joins once: it makes a key that never leaves its home, sends a certificate
 * request with the join token, and keeps the node certificate and the cluster CA that come back (in
 * {@code worker/} under its home, the key 0600 in a 0700 folder). From then on it talks to the control plane's
 * cluster endpoint over mutual TLS only, trusting nothing but the cluster CA: a heartbeat every interval, with its
 * version and inventory. A start that finds the files joined before carries on without a token.
 *
 * <p>Each heartbeat's answer lists the cluster endpoints of every control-plane replica alive; the worker keeps them
 * (in {@code control-planes.json} beside its certificate) and, when the one it talks to stops answering, goes on with
 * the next.
 */
public final class Worker {
    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);

    private final WorkerFiles files;
    private final Joined joined;
    private final HttpClient mutual;
    private volatile @Nullable ReplicaHost replicas;
    private volatile int servingPort;
    /** Whether a heartbeat of this process has been answered: the first says the worker is starting. */
    private volatile boolean reported;
    /** Cuts the wait before the next heartbeat short: a replica's state changed, which the control plane waits for. */
    private final Object wake = new Object();
    private boolean woken;
    /** The control-plane replicas' cluster endpoints, the one in use first. */
    private volatile List<URI> endpoints;

    /** Where a worker keeps what joining gave it. */
    record WorkerFiles(Path dir) {
        Path key() {
            return dir.resolve("node.key");
        }

        Path certificate() {
            return dir.resolve("node.pem");
        }

        Path clusterCa() {
            return dir.resolve("cluster-ca.pem");
        }

        Path node() {
            return dir.resolve("node.json");
        }

        Path controlPlanes() {
            return dir.resolve("control-planes.json");
        }
    }

    /** What the worker learned when it joined: its node id and where the cluster endpoint is. */
    public record Joined(String nodeId, String name, URI clusterUrl, Duration heartbeatInterval) {}

    private Worker(WorkerFiles files, Joined joined, HttpClient mutual) {
        this.files = files;
        this.joined = joined;
        this.mutual = mutual;
        this.endpoints = knownEndpoints(files, joined.clusterUrl());
    }

    /** The control-plane replicas' cluster endpoints this worker knows, the one in use first. */
    public List<URI> endpoints() {
        return endpoints;
    }

    /** The cluster endpoint in use now. */
    public URI endpoint() {
        return endpoints.getFirst();
    }

    /**
     * The endpoints a heartbeat's answer named, after the one in use (which just answered, so it stays first), and the
     * one this worker joined at kept last whatever the answer says: behind a load balancer or a Kubernetes Service it
     * reaches whichever replica is alive, when every replica named has gone.
     */
    private void learn(List<URI> named) {
        if (named.isEmpty()) {
            return;
        }
        List<URI> next = new java.util.ArrayList<>();
        next.add(endpoint());
        named.stream().filter(u -> !next.contains(u)).forEach(next::add);
        if (!next.contains(joined.clusterUrl())) {
            next.add(joined.clusterUrl());
        }
        if (!next.equals(endpoints)) {
            endpoints = List.copyOf(next);
            LOG.info("worker {}: the control plane's cluster endpoints are {}", joined.nodeId(), next);
            try {
                PrivateFiles.write(files.controlPlanes(), Json.mapper().writeValueAsString(
                        next.stream().map(URI::toString).toList()));
            } catch (IOException e) {
                LOG.warn("worker {}: cannot keep the control plane's endpoints: {}", joined.nodeId(), e.getMessage());
            }
        }
    }

    /** The one in use stopped answering: the next one is tried from now on. */
    private void rotate() {
        List<URI> now = endpoints;
        if (now.size() > 1) {
            List<URI> next = new java.util.ArrayList<>(now.subList(1, now.size()));
            next.add(now.getFirst());
            endpoints = List.copyOf(next);
            LOG.info("worker {}: trying the control plane at {}", joined.nodeId(), next.getFirst());
        }
    }

    private static List<URI> knownEndpoints(WorkerFiles files, URI joined) {
        List<URI> out = new java.util.ArrayList<>();
        if (Files.exists(files.controlPlanes())) {
            try {
                for (JsonNode u : Json.mapper().readTree(Files.readString(files.controlPlanes()))) {
                    out.add(URI.create(u.asText()));
                }
            } catch (IOException | IllegalArgumentException e) {
                LOG.warn("cannot read {}; starting from the endpoint joined: {}", files.controlPlanes(), e.getMessage());
            }
        }
        if (!out.contains(joined)) {
            out.add(joined);
        }
        return List.copyOf(out);
    }

    public Joined joined() {
        return joined;
    }

    /**
     * Runs replicas from now on: each heartbeat tells the control plane that they are served on {@code port} and how
     * each stands, and its answer's assignments are handed to {@code replicas}.
     */
    public void serve(ReplicaHost replicas, int port) {
        this.replicas = requireNonNull(replicas, "replicas is null");
        replicas.onChange(this::wake);
        this.servingPort = port;
    }

    /** The node's key and certificate, which its serving port presents (the certificate names its address). */
    public ai.factory.security.tls.ServerIdentity identity() {
        return new ai.factory.security.tls.ServerIdentity(Pem.privateKey(files.key(), "the worker's node key"),
                Pem.certificates(files.certificate(), "the worker's node certificate"));
    }

    /** The cluster CA, the only issuer the worker trusts. */
    public X509Certificate clusterCa() {
        return Pem.certificates(files.clusterCa(), "the cluster CA").getFirst();
    }

    /** Where replicas get their models: the control plane's cluster endpoint, over mutual TLS. */
    public WorkerReplicas.ModelSource modelSource() {
        return new WorkerReplicas.ModelSource() {
            @Override
            public void fetchBlob(ReplicaWork work, Path target) throws IOException, InterruptedException {
                HttpResponse<Path> r = mutual.send(HttpRequest.newBuilder(endpoint().resolve(
                                "/cluster/v1/assignments/" + work.assignment() + "/blob")).GET().build(),
                        HttpResponse.BodyHandlers.ofFile(target));
                if (r.statusCode() != 200) {
                    throw new IOException("the control plane answered " + r.statusCode() + " for the blob of "
                            + work.model() + ": " + Files.readString(target));
                }
            }

            @Override
            public DataKey fetchKey(ReplicaWork work) throws IOException, InterruptedException {
                HttpResponse<String> r = mutual.send(HttpRequest.newBuilder(endpoint().resolve(
                                "/cluster/v1/assignments/" + work.assignment() + "/key")).timeout(CALL_TIMEOUT)
                        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) {
                    throw new IOException("the control plane refused the key of " + work.model() + " ("
                            + r.statusCode() + "): " + parse(r.body()).path("error").path("message").asText(r.body()));
                }
                return DataKey.importSecret(java.util.Base64.getDecoder().decode(parse(r.body()).path("key").asText()));
            }
        };
    }

    /**
     * The worker of {@code home}: joined before (its files are there), or joining now at {@code controlPlane} with
     * {@code token} (INVALID_REQUEST without one when it never joined; the control plane's refusal, with its message,
     * when the token is not good).
     *
     * @param controlPlane the control plane's API URL
     * @param controlPlaneTls how to trust it over https (the site CA), or empty for the JDK's defaults
     */
    /** Whether the worker of {@code home} joined a cluster before (and so starts without a token). */
    public static boolean joinedBefore(Path home) {
        return Files.exists(new WorkerFiles(home.resolve("worker")).node());
    }

    public static Worker start(Path home, URI controlPlane, @Nullable String token, String name, String version,
                               Supplier<JsonNode> inventory, Optional<SSLContext> controlPlaneTls) {
        WorkerFiles files = new WorkerFiles(home.resolve("worker"));
        Joined joined;
        if (joinedBefore(home)) {
            joined = read(files);
            LOG.info("worker {} ({}) joined before; the cluster endpoint is {}", joined.nodeId(), joined.name(),
                    joined.clusterUrl());
        } else {
            if (token == null || token.isBlank()) {
                throw new FactoryException(ErrorCode.INVALID_REQUEST, "this worker has not joined yet: give it a join "
                        + "token (factory nodes token create on the control plane)");
            }
            joined = join(files, controlPlane, token, name, version, inventory.get(), controlPlaneTls);
        }
        return new Worker(files, joined, mutualClient(files));
    }

    /**
     * Sends one heartbeat; the node's state as the control plane answers it ({@code ready}, {@code draining}).
     * FORBIDDEN when the control plane no longer knows this node (it was removed).
     */
    public String heartbeat(String version, JsonNode inventory) throws IOException, InterruptedException {
        ObjectNode body = Json.mapper().createObjectNode().put("version", version).put("servingPort", servingPort);
        if (!reported) {
            body.put("starting", true); // back after a stop: a node that left takes work again
        }
        body.set("inventory", inventory);
        ReplicaHost running = replicas;
        List<Assignments.Reported> sent = running == null ? List.of() : running.reports();
        if (running != null) {
            body.set("replicas", Json.mapper().valueToTree(sent));
            body.set("loads", Json.mapper().valueToTree(running.loads()));
        }
        HttpResponse<String> r;
        try {
            r = mutual.send(HttpRequest.newBuilder(endpoint().resolve("/cluster/v1/heartbeat"))
                    .timeout(timeout()).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            URI failed = endpoint();
            rotate();
            throw new IOException("the control plane at " + failed + " did not answer ("
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + ")", e);
        }
        JsonNode answer = parse(r.body());
        if (r.statusCode() == 200) {
            reported = true;
        }
        if (r.statusCode() == 403 || r.statusCode() == 401) {
            throw new FactoryException(ErrorCode.FORBIDDEN, "the control plane refused this node ("
                    + answer.path("error").path("message").asText(r.body()) + "); remove " + files.dir()
                    + " and join again with a new token");
        }
        if (r.statusCode() != 200) {
            throw new IOException("heartbeat answered " + r.statusCode() + ": " + r.body());
        }
        List<URI> named = new java.util.ArrayList<>();
        answer.path("controlPlanes").forEach(u -> {
            try {
                named.add(URI.create(u.asText()));
            } catch (IllegalArgumentException ignored) {
                // not a URL: left out
            }
        });
        learn(named);
        if (running != null && answer.has("assignments")) {
            running.reconcile(List.of(Json.mapper().treeToValue(answer.get("assignments"), ReplicaWork[].class)));
            if (!running.reports().equals(sent)) {
                wake(); // what the answer assigned changed what there is to report: report it now
            }
        }
        return answer.path("state").asText();
    }

    /**
     * How long a heartbeat waits for its answer: an interval (at least a second), so that a control-plane replica that
     * hangs is left for the next within the deadline; the first one, whose mutual-TLS connection is set up cold, 10 s.
     */
    private Duration timeout() {
        Duration interval = joined.heartbeatInterval().compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1)
                : joined.heartbeatInterval();
        return reported ? interval : Duration.ofSeconds(Math.max(10, interval.toSeconds()));
    }

    /** Sends heartbeats until interrupted, or until the control plane refuses this node (then throws FORBIDDEN). */
    public void run(String version, Supplier<JsonNode> inventory) throws InterruptedException {
        String last = "";
        int failedInARow = 0;
        while (!Thread.currentThread().isInterrupted()) {
            try {
                String state = heartbeat(version, inventory.get());
                failedInARow = 0;
                if (!state.equals(last)) {
                    LOG.info("worker {}: the control plane has this node {}", joined.nodeId(), state);
                    last = state;
                }
            } catch (IOException e) {
                LOG.warn("worker {}: heartbeat failed: {}", joined.nodeId(), e.getMessage());
                last = "";
                failedInARow++;
                if (failedInARow < endpoints.size()) {
                    continue; // the next control-plane replica at once, so the heartbeat deadline is still met
                }
                failedInARow = 0;
            }
            synchronized (wake) {
                if (!woken) {
                    wake.wait(joined.heartbeatInterval().toMillis());
                }
                woken = false;
            }
        }
    }

    /**
     * Tells the control plane this worker is stopping: it takes nothing new, and its replicas move to other workers
     * (calls in flight here finish first). Returns how many other workers could take them (0: waiting is in vain).
     */
    public long leave() throws IOException, InterruptedException {
        HttpResponse<String> r = mutual.send(HttpRequest.newBuilder(endpoint().resolve("/cluster/v1/leaving"))
                .timeout(CALL_TIMEOUT).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException("the control plane answered " + r.statusCode() + " to leaving: " + r.body());
        }
        return parse(r.body()).path("othersServing").asLong();
    }

    /** Sends the next heartbeat now rather than at the end of the interval. */
    public void wake() {
        synchronized (wake) {
            woken = true;
            wake.notifyAll();
        }
    }


    private static Joined join(WorkerFiles files, URI controlPlane, String token, String name, String version,
                               JsonNode inventory, Optional<SSLContext> tls) {
        KeyPair pair = ClusterCa.newNodeKey();
        String csr;
        try {
            csr = Pem.block("CERTIFICATE REQUEST", new JcaPKCS10CertificationRequestBuilder(
                    new X500Principal("CN=" + name), pair.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())).getEncoded());
        } catch (OperatorCreationException | IOException e) {
            throw new IllegalStateException("cannot make a certificate request: " + e.getMessage(), e);
        }
        ObjectNode body = Json.mapper().createObjectNode().put("token", token).put("name", name).put("csr", csr)
                .put("version", version);
        body.set("inventory", inventory);
        HttpClient.Builder client = HttpClient.newBuilder().connectTimeout(CALL_TIMEOUT);
        tls.ifPresent(client::sslContext);
        HttpResponse<String> r;
        try (HttpClient http = client.build()) {
            r = http.send(HttpRequest.newBuilder(controlPlane.resolve("/cluster/v1/join")).timeout(CALL_TIMEOUT)
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                    .build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot reach the control plane at " + controlPlane + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FactoryException(ErrorCode.UNAVAILABLE, "interrupted while joining");
        }
        JsonNode answer = parse(r.body());
        if (r.statusCode() != 201) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "the control plane refused to join this worker ("
                    + r.statusCode() + "): " + answer.path("error").path("message").asText(r.body()));
        }
        String nodeId = answer.path("node").path("id").asText();
        URI clusterUrl = URI.create("https://" + controlPlane.getHost() + ":" + answer.path("clusterPort").asInt());
        Joined joined = new Joined(nodeId, name, clusterUrl,
                Duration.ofMillis(Math.max(200, answer.path("heartbeatIntervalMillis").asLong(3_000))));
        try {
            PrivateFiles.createDirectories(files.dir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + files.dir(), e);
        }
        write(files.key(), Pem.privateKey(pair.getPrivate()));
        write(files.certificate(), answer.path("certificate").asText());
        write(files.clusterCa(), answer.path("clusterCa").asText());
        write(files.node(), Json.mapper().createObjectNode().put("id", nodeId).put("name", name)
                .put("clusterUrl", clusterUrl.toString())
                .put("heartbeatIntervalMillis", joined.heartbeatInterval().toMillis()).toString());
        LOG.info("worker joined as node {} ({}); the cluster endpoint is {}", nodeId, name, clusterUrl);
        return joined;
    }

    private static Joined read(WorkerFiles files) {
        try {
            JsonNode node = Json.mapper().readTree(Files.readString(files.node()));
            return new Joined(node.path("id").asText(), node.path("name").asText(),
                    URI.create(node.path("clusterUrl").asText()),
                    Duration.ofMillis(Math.max(200, node.path("heartbeatIntervalMillis").asLong(3_000))));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + files.node(), e);
        }
    }

    /** A client that presents the node's certificate and trusts the cluster CA alone. */
    private static HttpClient mutualClient(WorkerFiles files) {
        return MutualTls.client(Pem.privateKey(files.key(), "the worker's node key"),
                Pem.certificates(files.certificate(), "the worker's node certificate"),
                Pem.certificates(files.clusterCa(), "the cluster CA").getFirst());
    }

    private static JsonNode parse(String body) {
        try {
            return Json.mapper().readTree(body.isEmpty() ? "{}" : body);
        } catch (IOException e) {
            return Json.mapper().createObjectNode();
        }
    }

    private static void write(Path file, String content) {
        try {
            PrivateFiles.write(file, content);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
