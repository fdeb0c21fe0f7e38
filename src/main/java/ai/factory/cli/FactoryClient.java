package ai.factory.cli;

import static java.util.Objects.requireNonNull;

import ai.factory.Json;
import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse.BodyHandlers;
import java.security.Provider;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.function.Supplier;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * The command line's HTTP client for the factory's own API; errors become one-line exceptions. Close it when the
 * command is done: its selector thread waits in native code, and the JVM holds up its exit by 300 ms for any such
 * thread to come back.
 */
final class FactoryClient implements AutoCloseable {
    private final URI base;
    private final String key;
    private final HttpClient http;

    /** @param tls whom to trust over https; unused, and may be null, over plain http */
    FactoryClient(String baseUrl, String key, @Nullable SSLContext tls) {
        this.base = URI.create(requireNonNull(baseUrl, "baseUrl is null").replaceAll("/+$", ""));
        this.key = requireNonNull(key, "key is null");
        // HTTP/1.1: a command makes a request or two, which HTTP/2 would only delay (an h2c upgrade over http, and
        // the HTTP/2 machinery loaded at every start).
        HttpClient.Builder builder = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10));
        if ("https".equalsIgnoreCase(base.getScheme())) {
            builder.sslContext(requireNonNull(tls, "tls is null"));
        } else {
            // Over plain http the client never speaks TLS, but a JDK client needs a context all the same; any from the
            // JDK's provider would cost the start its TLS setup (the cipher suites the JDK can run, the JCE behind
            // them, and a search of every jar on the class path for URL handlers). Given parameters as well, the client
            // asks the context for nothing.
            builder.sslContext(NoTls.CONTEXT).sslParameters(new SSLParameters());
        }
        this.http = builder.build();
    }

    /** The TLS context of a plain http client: it does nothing until it is used, and then refuses. */
    static final class NoTls extends SSLContextSpi {
        static final SSLContext CONTEXT = new SSLContext(new NoTls(),
                new Provider("FactoryNoTls", "1", "TLS refused: the factory's URL is plain http") {}, "none") {};

        private static UnsupportedOperationException refused() {
            return new UnsupportedOperationException("no TLS here: the factory's URL is plain http");
        }

        @Override
        protected void engineInit(KeyManager[] keys, TrustManager[] trust, SecureRandom random) {
            throw refused();
        }

        @Override
        protected SSLSocketFactory engineGetSocketFactory() {
            throw refused();
        }

        @Override
        protected SSLServerSocketFactory engineGetServerSocketFactory() {
            throw refused();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine() {
            throw refused();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            throw refused();
        }

        @Override
        protected SSLSessionContext engineGetServerSessionContext() {
            throw refused();
        }

        @Override
        protected SSLSessionContext engineGetClientSessionContext() {
            throw refused();
        }
    }

    @Override
    public void close() {
        http.close();
    }

    /** The factory's URL. */
    String base() {
        return base.toString();
    }

    JsonNode get(String path) {
        return send(request(path).GET());
    }

    JsonNode delete(String path) {
        return send(request(path).DELETE());
    }

    JsonNode post(String path, Object body) {
        return send(request(path).header("Content-Type", "application/json").POST(BodyPublishers.ofString(json(body))));
    }

    JsonNode patch(String path, Object body) {
        return send(request(path).header("Content-Type", "application/json")
                .method("PATCH", BodyPublishers.ofString(json(body))));
    }

    /** GET, the answer read as the API's wire record {@code type}. */
    <T> T get(String path, Class<T> type) {
        return as(get(path), type);
    }

    <T> T delete(String path, Class<T> type) {
        return as(delete(path), type);
    }

    <T> T post(String path, Object body, Class<T> type) {
        return as(post(path, body), type);
    }

    <T> T patch(String path, Object body, Class<T> type) {
        return as(patch(path, body), type);
    }

    /** PUT of a JSON body, the answer read as {@code type}. */
    <T> T putJson(String path, Object body, Class<T> type) {
        return as(send(request(path).header("Content-Type", "application/json")
                .PUT(BodyPublishers.ofString(json(body)))), type);
    }

    <T> T put(String path, Supplier<InputStream> body, long length, Class<T> type) {
        return as(put(path, body, length), type);
    }

    /** An answer read as the API's wire record {@code type}. */
    <T> T as(JsonNode answer, Class<T> type) {
        try {
            return Json.mapper().treeToValue(answer, type);
        } catch (IOException e) {
            throw new IllegalStateException("the factory at " + base + " answered what this command cannot read ("
                    + e.getMessage() + "); are the command line and the server the same version?", e);
        }
    }

    JsonNode put(String path, Supplier<InputStream> body, long length) {
        return put(path, body, length, java.util.Map.of());
    }

    /** A streamed upload with extra headers (a signature). */
    JsonNode put(String path, Supplier<InputStream> body, long length, java.util.Map<String, String> headers) {
        BodyPublisher publisher = BodyPublishers.fromPublisher(BodyPublishers.ofInputStream(body), length);
        // Expect: 100-continue: a refused upload (bad name, no permission) is answered before gigabytes are sent.
        HttpRequest.Builder request = request(path).expectContinue(true).header("Content-Type",
                "application/octet-stream");
        headers.forEach(request::header);
        return send(request.PUT(publisher));
    }

    /** POSTs a JSON body and hands each server-sent event's JSON to {@code onEvent} until {@code [DONE]}. */
    void stream(String path, Object body, java.util.function.Consumer<JsonNode> onEvent) {
        HttpRequest request = request(path).header("Content-Type", "application/json")
                .header("Accept", "text/event-stream").POST(BodyPublishers.ofString(json(body))).build();
        this.<@Nullable Void>exchange(() -> {
            var response = http.send(request, BodyHandlers.ofLines());
            try (var lines = response.body()) {
                if (response.statusCode() >= 400) {
                    throw failure(response.statusCode(),
                            Json.mapper().readTree(lines.collect(java.util.stream.Collectors.joining("\n"))));
                }
                for (String line : (Iterable<String>) lines::iterator) {
                    if (!line.startsWith("data: ")) {
                        continue;
                    }
                    String data = line.substring(6);
                    if (data.equals("[DONE]")) {
                        return null;
                    }
                    JsonNode event = Json.mapper().readTree(data);
                    if (event.has("error")) {
                        throw new IllegalStateException(event.path("error").path("message").asText());
                    }
                    onEvent.accept(event);
                }
            }
            return null;
        });
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(base.resolve(base.getPath() + path)).header("Authorization", "Bearer " + key);
    }

    private JsonNode send(HttpRequest.Builder request) {
        return exchange(() -> {
            var response = http.send(request.build(), BodyHandlers.ofString());
            JsonNode body = response.body().isBlank() ? Json.mapper().createObjectNode() : Json.mapper().readTree(response.body());
            if (response.statusCode() >= 400) {
                throw failure(response.statusCode(), body);
            }
            return body;
        });
    }

    /**
     * POSTs a JSON body and streams the answer (not JSON: an archive) into {@code target}, through a file beside it
     * renamed into place once complete; an error answer is JSON as always. Returns the bytes written.
     */
    long download(String path, Object body, Path target) {
        return exchange(() -> {
            var response = http.send(request(path).header("Content-Type", "application/json")
                    .POST(BodyPublishers.ofString(json(body))).build(), BodyHandlers.ofInputStream());
            try (InputStream in = response.body()) {
                if (response.statusCode() >= 400) {
                    byte[] error = in.readNBytes(1 << 20);
                    throw failure(response.statusCode(), error.length == 0 ? Json.mapper().createObjectNode()
                            : Json.mapper().readTree(error));
                }
                Path partial = target.resolveSibling(target.getFileName() + ".partial");
                try {
                    long n = java.nio.file.Files.copy(in, partial, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    java.nio.file.Files.move(partial, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                            java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    return n;
                } finally {
                    java.nio.file.Files.deleteIfExists(partial);
                }
            }
        });
    }

    /** GET of a body that is not JSON (a CSV export), as text; an error answer is JSON as always. */
    String getText(String path) {
        return exchange(() -> {
            var response = http.send(request(path).GET().build(), BodyHandlers.ofString());
            if (response.statusCode() >= 400) {
                throw failure(response.statusCode(), response.body().isBlank() ? Json.mapper().createObjectNode()
                        : Json.mapper().readTree(response.body()));
            }
            return response.body();
        });
    }

    private static IllegalStateException failure(int status, JsonNode body) {
        JsonNode message = body.path("error").path("message");
        return new IllegalStateException(message.isMissingNode() ? "HTTP " + status
                : message.asText() + " (HTTP " + status + ")");
    }

    /** One request to the factory, with its transport failures turned into one-line messages. */
    private <T extends @Nullable Object> T exchange(Exchange<T> exchange) {
        try {
            return exchange.run();
        } catch (ConnectException e) {
            throw new IllegalStateException("cannot reach the factory at " + base + "; is it running ('./factory up')?", e);
        } catch (SSLHandshakeException e) {
            throw new IllegalStateException("cannot verify the factory at " + base + " over TLS (" + e.getMessage()
                    + "); give the CA that issued its certificate with --ca-cert or FACTORY_CA_CERT (a factory's "
                    + "generated one is $FACTORY_HOME/tls/ca.pem)", e);
        } catch (IOException e) {
            throw new UncheckedIOException("request to " + base + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    @FunctionalInterface
    private interface Exchange<T extends @Nullable Object> {
        T run() throws IOException, InterruptedException;
    }

    private static String json(Object body) {
        try {
            return Json.mapper().writeValueAsString(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
