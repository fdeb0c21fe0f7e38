package ai.factory;

import ai.factory.config.ConfigLoader;
import ai.factory.config.FactoryConfig;
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
    private final HttpClient http = HttpClient.newHttpClient();

    private TestFactory(Factory factory) {
        this.factory = factory;
        this.adminKey = factory.newAdminKey().orElseGet(() -> {
            try {
                return java.nio.file.Files.readString(factory.config().adminKeyFile()).trim();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    public static TestFactory start(Path home) {
        return start(home, Map.of());
    }

    public static TestFactory start(Path home, Map<Setting, String> settings) {
        Map<Setting, String> flags = new java.util.EnumMap<>(Setting.class);
        flags.put(Setting.PORT, "0");
        flags.put(Setting.EMBEDDING_THREADS, "2");
        flags.putAll(settings);
        FactoryConfig config = new ConfigLoader(Map.of()).load(home, flags);
        return new TestFactory(Factory.start(config));
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

    public HttpResponse<String> get(String path, String key) {
        return send(request(path, key).GET());
    }

    public HttpResponse<String> post(String path, String key, String json) {
        return send(request(path, key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    @Override
    public void close() {
        factory.close();
    }
}
