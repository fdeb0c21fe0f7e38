// What one small POST costs on a kept-alive loopback connection between the HTTP stacks the cluster hop uses: the
// server the workers serve on (Javalin on Jetty, virtual threads) and the JDK's HttpClient the control plane calls
// them with, in plain HTTP and in TLS, against a raw socket writing the same request (the server's own share).
//
//   keytool -genkeypair -alias s -keyalg EC -groupname secp256r1 -dname CN=localhost -ext san=ip:127.0.0.1 \
//     -validity 2 -keystore /tmp/rpc.p12 -storetype PKCS12 -storepass secret -keypass secret
//   java -cp "$(mvn -q dependency:build-classpath -Dmdep.outputFile=/dev/stdout)" bench/LoopbackRpc.java /tmp/rpc.p12
//
// Prints p50 and p99 of 600 calls each after 200 warm-up calls. See docs/benchmarks.md, "Through the control plane".

import io.javalin.Javalin;
import java.io.BufferedInputStream;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.util.Arrays;
import java.util.concurrent.Callable;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.ssl.SslContextFactory;

public class LoopbackRpc {
    private static final String BODY = "{\"text\":\"hello world\"}";

    public static void main(String[] args) throws Exception {
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(args[0])) {
            keys.load(in, "secret".toCharArray());
        }
        Javalin app = Javalin.create(c -> {
            c.concurrency.useVirtualThreads = true;
            c.startup.showJavalinBanner = false;
            c.jetty.addConnector((server, http) -> {
                ServerConnector plain = new ServerConnector(server, new HttpConnectionFactory(http));
                plain.setHost("127.0.0.1");
                return plain;
            });
            c.jetty.addConnector((server, http) -> {
                SslContextFactory.Server ssl = new SslContextFactory.Server();
                ssl.setKeyStore(keys);
                ssl.setKeyStorePassword("secret");
                ServerConnector tls = new ServerConnector(server, ssl, new HttpConnectionFactory(http));
                tls.setHost("127.0.0.1");
                return tls;
            });
            c.routes.post("/t", ctx -> {
                ctx.body(); // read, as the worker reads its calls: an unread body makes Jetty close the connection
                ctx.result("{\"tokens\":[1,2,3]}");
            });
        }).start();
        var connectors = app.jettyServer().server().getConnectors();
        int plainPort = ((ServerConnector) connectors[connectors.length - 2]).getLocalPort();
        int tlsPort = ((ServerConnector) connectors[connectors.length - 1]).getLocalPort();
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(keys);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trust.getTrustManagers(), null);
        try (HttpClient plain = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                HttpClient tls = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(context).build()) {
            time("JDK HttpClient, http ", () -> post(plain, "http://127.0.0.1:" + plainPort + "/t"));
            time("JDK HttpClient, https", () -> post(tls, "https://127.0.0.1:" + tlsPort + "/t"));
        }
        try (Socket socket = new Socket("127.0.0.1", plainPort)) {
            socket.setTcpNoDelay(true);
            OutputStream out = socket.getOutputStream();
            InputStream in = new BufferedInputStream(socket.getInputStream());
            byte[] request = ("POST /t HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                    + BODY.length() + "\r\n\r\n" + BODY).getBytes(StandardCharsets.US_ASCII);
            time("raw socket, http     ", () -> {
                out.write(request);
                out.flush();
                readResponse(in);
                return null;
            });
        }
        app.stop();
    }

    private static Object post(HttpClient client, String url) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(BODY)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void readResponse(InputStream in) throws Exception {
        StringBuilder head = new StringBuilder();
        while (head.length() < 4 || !head.substring(head.length() - 4).equals("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new IllegalStateException("the server closed the connection");
            }
            head.append((char) c);
        }
        int length = 0;
        for (String line : head.toString().split("\r\n")) {
            if (line.regionMatches(true, 0, "content-length:", 0, 15)) {
                length = Integer.parseInt(line.substring(15).strip());
            }
        }
        in.readNBytes(length);
    }

    private static void time(String name, Callable<?> call) throws Exception {
        long[] nanos = new long[800];
        for (int i = 0; i < nanos.length; i++) {
            long start = System.nanoTime();
            call.call();
            nanos[i] = System.nanoTime() - start;
        }
        long[] measured = Arrays.copyOfRange(nanos, 200, nanos.length);
        Arrays.sort(measured);
        System.out.printf("%s  p50 %.3f ms  p99 %.3f ms%n", name, measured[measured.length / 2] / 1e6,
                measured[measured.length * 99 / 100] / 1e6);
    }
}
