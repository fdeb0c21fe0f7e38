package ai.factory.security.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.Test;

/** {@link SiteTrust#none()}: enough TLS context for a plain http client, and none at all for TLS. */
class SiteTrustTest {
    @Test
    void noneRefusesEveryUseOfTls() {
        SSLContext none = SiteTrust.none();

        assertThatThrownBy(none::createSSLEngine).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("plain http");
        assertThatThrownBy(() -> none.createSSLEngine("localhost", 443)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(none::getSocketFactory).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(none::getClientSessionContext).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> none.init(null, null, null)).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void aPlainHttpClientWorksWithNone() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            byte[] body = "plain".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        try (HttpClient client = HttpClient.newBuilder().sslContext(SiteTrust.none())
                .sslParameters(new SSLParameters()).build()) {
            var response = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + server.getAddress().getPort() + "/")).build(), BodyHandlers.ofString());

            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("plain");
            assertThatThrownBy(() -> client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:"
                    + server.getAddress().getPort() + "/")).build(), BodyHandlers.ofString()))
                    .hasStackTraceContaining("plain http");
        } finally {
            server.stop(0);
        }
    }
}
