package ai.factory.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;

/** The command line's client over plain http, where it speaks no TLS and sets none up. */
class FactoryClientTest {
    @Test
    void itsTlsContextOverPlainHttpRefusesEveryUse() {
        SSLContext none = FactoryClient.NoTls.CONTEXT;

        assertThatThrownBy(none::createSSLEngine).isInstanceOf(UnsupportedOperationException.class)
                .hasMessage("no TLS here: the factory's URL is plain http");
        assertThatThrownBy(() -> none.createSSLEngine("localhost", 443)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(none::getSocketFactory).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(none::getClientSessionContext).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> none.init(null, null, null)).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void overPlainHttpItNeedsNoTlsContext() throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            byte[] body = ("{\"auth\":\"" + exchange.getRequestHeaders().getFirst("Authorization") + "\",\"version\":\""
                    + exchange.getProtocol() + "\"}").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        try (FactoryClient client = new FactoryClient("http://127.0.0.1:" + server.getAddress().getPort() + "/", "fk_test",
                null)) {
            var answer = client.get("/api/v1/models");

            assertThat(answer.path("auth").asText()).isEqualTo("Bearer fk_test");
            assertThat(answer.path("version").asText()).isEqualTo("HTTP/1.1");
        } finally {
            server.stop(0);
        }
    }

    @Test
    void overHttpsItNeedsOne() {
        assertThatThrownBy(() -> new FactoryClient("https://factory.example:8443", "fk_test", null))
                .isInstanceOf(NullPointerException.class).hasMessage("tls is null");
    }
}
