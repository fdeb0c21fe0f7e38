package ai.factory.sovereignty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.config.EgressPolicy;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.config.AuditConfig;
import ai.factory.security.audit.AuditKey;
import ai.factory.security.audit.AuditLog;
import ai.factory.security.audit.AuditQuery;
import ai.factory.security.audit.AuditRecord;
import ai.factory.security.audit.AuditStore;
import ai.factory.storage.Database;
import ai.factory.storage.TestDatabases;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Egress} against a real HTTP server on loopback, with its ledger in a real audit chain (H2). */
class EgressTest {
    @TempDir
    Path tempDir;

    private HttpServer peer;
    private Database db;
    private AuditLog audit;

    @BeforeEach
    void start() throws Exception {
        peer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        peer.createContext("/catalogue", exchange -> {
            byte[] body = "{\"models\": []}".getBytes(StandardCharsets.UTF_8);
            exchange.getRequestBody().readAllBytes();
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        peer.createContext("/moved", exchange -> {
            exchange.getResponseHeaders().add("Location", "http://elsewhere.example/");
            exchange.sendResponseHeaders(302, -1);
            exchange.close();
        });
        peer.start();
        db = TestDatabases.open(TestDatabases.Kind.H2, tempDir);
        audit = new AuditLog(new AuditStore(db.jdbi()), AuditKey.generate(), AuditConfig.defaults(),
                Clock.systemUTC(), new SimpleMeterRegistry());
    }

    @AfterEach
    void stop() {
        audit.close();
        db.close();
        peer.stop(0);
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + peer.getAddress().getPort() + path);
    }

    private List<AuditRecord> ledger() throws InterruptedException {
        assertThat(audit.awaitWritten(Duration.ofMinutes(1))).isTrue();
        return audit.store().query(new AuditQuery(Optional.empty(), Optional.empty(), Optional.of(Egress.ACTION),
                Optional.empty(), Optional.empty(), Optional.empty(), 100));
    }

    @Test
    void anAllowedDestinationIsReachedAndRecordedWithItsBytes() throws Exception {
        Egress egress = new Egress(EgressPolicy.parse("127.0.0.1:" + peer.getAddress().getPort()), audit,
                Clock.systemUTC());
        HttpResponse<byte[]> r = egress.send(HttpRequest.newBuilder(uri("/catalogue"))
                .POST(HttpRequest.BodyPublishers.ofString("hello")).build(), "catalogue sync");
        assertThat(r.statusCode()).isEqualTo(200);
        AuditRecord rec = ledger().getFirst();
        assertThat(rec.event().resource()).isEqualTo("127.0.0.1:" + peer.getAddress().getPort());
        assertThat(rec.event().decision()).isEqualTo("allow");
        assertThat(rec.event().outcome()).isEqualTo("success");
        assertThat(rec.event().bytesOut()).isEqualTo(5);
        assertThat(rec.event().bytesIn()).isEqualTo(r.body().length);
        assertThat(rec.event().detail()).contains("catalogue sync").contains("/catalogue");
    }

    @Test
    void aDestinationOutsideThePolicyIsRefusedBeforeAnyByteLeavesAndRecorded() throws Exception {
        Egress egress = new Egress(EgressPolicy.parse("models.example.com:443"), audit, Clock.systemUTC());
        assertThatThrownBy(() -> egress.send(HttpRequest.newBuilder(uri("/catalogue")).GET().build(), "catalogue sync"))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN))
                .hasMessageContaining("egress.allow").hasMessageContaining("models.example.com:443");
        AuditRecord rec = ledger().getFirst();
        assertThat(rec.event().decision()).isEqualTo("deny");
        assertThat(rec.event().bytesOut()).isZero();
    }

    @Test
    void redirectsAreNotFollowed() throws Exception {
        Egress egress = new Egress(EgressPolicy.parse("127.0.0.1"), audit, Clock.systemUTC());
        assertThat(egress.send(HttpRequest.newBuilder(uri("/moved")).GET().build(), "probe").statusCode())
                .isEqualTo(302);
        assertThat(ledger()).hasSize(1);
    }

    @Test
    void anUnreachableAllowedDestinationIsRecordedAsAFailure() throws Exception {
        int port = peer.getAddress().getPort();
        peer.stop(0);
        Egress egress = new Egress(EgressPolicy.parse("127.0.0.1"), audit, Clock.systemUTC());
        assertThatThrownBy(() -> egress.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/"))
                .GET().build(), "probe"))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE));
        AuditRecord rec = ledger().getFirst();
        assertThat(rec.event().decision()).isEqualTo("allow");
        assertThat(rec.event().outcome()).isEqualTo("failure");
    }

    @Test
    void aConnectionWithoutAPurposeIsRefusedUnrecorded() throws Exception {
        Egress egress = new Egress(EgressPolicy.parse("*"), audit, Clock.systemUTC());
        assertThatThrownBy(() -> egress.send(HttpRequest.newBuilder(uri("/catalogue")).build(), " "))
                .hasMessageContaining("purpose");
        assertThat(ledger()).isEmpty();
    }
}
