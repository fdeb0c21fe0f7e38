package ai.factory;

import ai.factory.app.Factory;
import ai.factory.config.ConfigLoader;
import ai.factory.config.Setting;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;

/** A real factory for tests: embedded H2 in a temporary home, a free loopback port, a real HTTP client. */
public final class TestFactory implements AutoCloseable {
    private final Factory factory;
    private final String adminKey;
    private final HttpClient http;

    private TestFactory(Factory factory) {
        this.factory = factory;
        // Over TLS with a generated certificate, the helpers trust the site CA as any client of the site would.
        this.http = HttpClient.newBuilder().sslContext(ai.factory.security.tls.SiteTrust.context(
                factory.siteCaCertificate().stream().toList())).build();
        this.adminKey = factory.newAdminKey().orElseGet(() -> {
            try {
                return java.nio.file.Files.readString(factory.config().adminKeyFile()).trim();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /**
     * The setting that makes a test factory register and deploy the bundled embedding model, as a factory does by
     * default; test factories leave it out unless asked, which spares each start encrypting and loading it.
     */
    public static final Map<Setting, String> BUILTIN = Map.of(Setting.BUILTIN_MODELS, "true");

    /** {@code settings} and {@link #BUILTIN}. */
    public static Map<Setting, String> withBuiltin(Map<Setting, String> settings) {
        Map<Setting, String> all = new java.util.EnumMap<>(Setting.class);
        all.putAll(settings);
        all.putAll(BUILTIN);
        return all;
    }

    public static TestFactory start(Path home) {
        return start(home, Map.of(), Factory.Options.DEFAULTS);
    }

    public static TestFactory start(Path home, Map<Setting, String> settings) {
        return start(home, settings, Factory.Options.DEFAULTS);
    }

    /** A factory whose every part reads the time from {@code clock}. */
    public static TestFactory start(Path home, java.time.Clock clock) {
        return start(home, Map.of(), Factory.Options.DEFAULTS.withClock(clock));
    }

    /** A factory with {@code settings} whose every part reads the time from {@code clock}. */
    public static TestFactory start(Path home, Map<Setting, String> settings, java.time.Clock clock) {
        return start(home, settings, Factory.Options.DEFAULTS.withClock(clock));
    }

    /** A factory told to start even if its audit chain does not verify ({@code factory up --accept-broken-audit}). */
    public static TestFactory startAcceptingBrokenAudit(Path home) {
        return start(home, Map.of(), Factory.Options.DEFAULTS.withAcceptBrokenAudit(true));
    }

    /** A factory whose accelerator discovery runs its tools through {@code commands} (recorded outputs, say). */
    public static TestFactory start(Path home, ai.factory.fleet.CommandRunner commands) {
        return start(home, Map.of(), Factory.Options.DEFAULTS.withCommands(commands));
    }

    /**
     * A factory on a free loopback port with its engines on one thread each, fine-tuning at serving's priority, and no
     * bundled model (unless
     * {@code settings} say otherwise), started with {@code options}.
     */
    private static TestFactory start(Path home, Map<Setting, String> settings, Factory.Options options) {
        Map<Setting, String> flags = new java.util.EnumMap<>(Setting.class);
        flags.put(Setting.PORT, "0");
        flags.put(Setting.EMBEDDING_THREADS, "1");
        flags.put(Setting.GENERATION_THREADS, "1");
        // Test JVMs run side by side: a fine-tuning job at a lower priority would wait behind the others.
        flags.put(Setting.TRAINING_THREADS, "1");
        flags.put(Setting.TRAINING_NICENESS, "0");
        flags.put(Setting.BUILTIN_MODELS, "false");
        flags.putAll(settings);
        return new TestFactory(Factory.start(new ConfigLoader(Map.of()).load(home, flags), options));
    }

    /**
     * Reads a streamed response until {@code marker} has appeared {@code times} times (bytes read as ISO-8859-1) and
     * returns what it read: proof that a generation is under way, without waiting for a fixed number of bytes.
     */
    public static String readUntil(java.io.InputStream in, String marker, int times) throws IOException {
        StringBuilder read = new StringBuilder();
        byte[] buffer = new byte[256];
        int found = 0;
        int from = 0;
        while (found < times) {
            int at = read.indexOf(marker, from);
            if (at >= 0) {
                found++;
                from = at + 1;
                continue;
            }
            int n = in.read(buffer);
            if (n < 0) {
                throw new AssertionError("the stream ended before '" + marker + "' came " + times + " times: " + read);
            }
            read.append(new String(buffer, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1));
        }
        return read.toString();
    }

    public Factory factory() {
        return factory;
    }

    public String url() {
        return factory.url();
    }

    public String adminKey() {
        return adminKey;
    }

    public HttpRequest.Builder request(String path, String key) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url() + path));
        return key == null ? b : b.header("Authorization", "Bearer " + key);
    }

    public HttpResponse<String> send(HttpRequest.Builder request) {
        try {
            return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Imports a GGUF as {@code name} and deploys it with the given JSON fields (e.g. {@code "parallel": 4}),
     * waiting until it is ready; returns the deployment id.
     */
    public String deployGguf(String name, Path gguf, String specJson) {
        HttpResponse<String> imported = post("/api/v1/models/" + name + "/versions", adminKey,
                "{\"path\": \"" + gguf.toAbsolutePath() + "\"}");
        if (imported.statusCode() != 201) {
            throw new AssertionError("import failed: " + imported.body());
        }
        HttpResponse<String> created = post("/api/v1/deployments", adminKey,
                "{\"model\": \"" + name + "\"" + (specJson.isBlank() ? "" : ", " + specJson) + "}");
        if (created.statusCode() != 202) {
            throw new AssertionError("deploy failed: " + created.body());
        }
        String id = created.body().replaceAll("(?s).*\"id\"\s*:\s*\"([^\"]+)\".*", "$1");
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofMinutes(2)).until(() ->
                !get("/api/v1/deployments/" + id, adminKey).body().matches("(?s).*\"state\"\s*:\s*\"(pending|loading)\".*"));
        String state = get("/api/v1/deployments/" + id, adminKey).body();
        if (!state.contains("\"ready\"")) {
            throw new AssertionError("deployment did not become ready: " + state);
        }
        return id;
    }

    /** Creates project {@code project} with {@code gguf} imported as {@code PROJECT/tiny} and deployed (context 256), ready. */
    public void projectWithModel(String project, Path gguf) {
        expect(post("/api/v1/projects", adminKey, "{\"name\":\"" + project + "\"}"), 201, "create project");
        expect(post("/api/v1/models/" + project + "/tiny/versions", adminKey, "{\"path\":\"" + gguf.toAbsolutePath()
                + "\",\"project\":\"" + project + "\"}"), 201, "import");
        String id = field(expect(post("/api/v1/deployments", adminKey, "{\"model\":\"" + project
                + "/tiny\",\"context\":256}"), 202, "deploy"), "id");
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofMinutes(2)).until(() ->
                "ready".equals(field(get("/api/v1/deployments/" + id, adminKey).body(), "state")));
    }

    /** Creates an API key and returns its secret. */
    public String createKey(String name, String project, String role) {
        return field(expect(post("/api/v1/keys", adminKey, "{\"name\":\"" + name + "\",\"project\":\"" + project
                + "\",\"role\":\"" + role + "\"}"), 201, "create key"), "secret");
    }

    /** Waits for the audit record of {@code requestId} (records are written after the response) and returns it. */
    public com.fasterxml.jackson.databind.JsonNode auditRecord(String requestId, String readerKey) {
        java.util.concurrent.atomic.AtomicReference<com.fasterxml.jackson.databind.JsonNode> found =
                new java.util.concurrent.atomic.AtomicReference<>();
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofMinutes(1)).until(() -> {
            for (com.fasterxml.jackson.databind.JsonNode r : Json.mapper().readTree(
                    get("/api/v1/audit?limit=1000", readerKey).body()).path("records")) {
                if (r.path("requestId").asText().equals(requestId)) {
                    found.set(r);
                    return true;
                }
            }
            return false;
        });
        return found.get();
    }

    private static String expect(HttpResponse<String> r, int status, String what) {
        if (r.statusCode() != status) {
            throw new AssertionError(what + " answered " + r.statusCode() + ": " + r.body());
        }
        return r.body();
    }

    private static String field(String json, String name) {
        try {
            return Json.mapper().readTree(json).path(name).asText();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public HttpResponse<String> get(String path, String key) {
        return send(request(path, key).GET());
    }

    public HttpResponse<String> post(String path, String key, String json) {
        return send(request(path, key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    /**
     * Closes what a test class's {@code @AfterAll} holds, skipping what was never opened (its {@code @BeforeAll}
     * stopped early, for example because a test model is absent), so cleanup never hides the real outcome.
     */
    public static void closeAll(AutoCloseable... resources) {
        for (AutoCloseable r : resources) {
            if (r == null) {
                continue;
            }
            try {
                r.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + r + " failed", e);
            }
        }
    }

    @Override
    public void close() {
        factory.close();
    }
}
