package ai.factory.cli;

import ai.factory.Json;
import ai.factory.api.codec.admin.DeploymentWire.DeploymentList;
import ai.factory.api.codec.admin.KeyWire.KeyList;
import ai.factory.api.codec.admin.ModelWire;
import ai.factory.api.codec.admin.ProjectWire.ProjectList;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;

/**
 * The training run of the command line's start-up cache. After each build {@code ./factory} runs this class once
 * with {@code -XX:AOTCacheOutput} (JDK 25's ahead-of-time cache, JEP 483 and 514), and later starts map the classes
 * it loaded and linked, and the profiles it gathered, instead of reading, verifying and linking them again; a
 * command then answers in a fraction of the time. What it runs is what typical commands run: the version, every
 * command's help (which builds every command), a client command reading a home's admin key, list commands against
 * a stand-in server on loopback, and one that finds nothing listening; ending, as the command line does, with
 * {@code System.exit}. It needs no factory, network, or home of the user's, and prints nothing.
 */
public final class StartupTraining {
    private StartupTraining() {}

    public static void main(String[] args) throws IOException {
        Path home = Files.createTempDirectory("factory-training");
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", StartupTraining::answer);
        server.start();
        try {
            Files.writeString(home.resolve("admin.key"), "fk_training");
            String url = "http://" + InetAddress.getLoopbackAddress().getHostAddress() + ":"
                    + server.getAddress().getPort();
            run("--version");
            run("--help");
            helpOfEveryCommand();
            for (List<String> command : List.of(List.of("models", "list"), List.of("models", "list", "--json"),
                    List.of("deployments", "list"), List.of("keys", "list"), List.of("projects", "list"),
                    List.of("fleet"), List.of("sovereignty", "report"))) {
                List<String> all = new ArrayList<>(command);
                all.addAll(List.of("--url", url, "--home", home.toString()));
                run(all.toArray(String[]::new));
            }
            run("models", "list", "--url", "http://127.0.0.1:" + closedPort(), "--key", "fk_training");
            run("models", "lsit");
        } finally {
            server.stop(0);
            Files.deleteIfExists(home.resolve("admin.key"));
            Files.deleteIfExists(home);
        }
        System.exit(0);
    }

    private static void helpOfEveryCommand() {
        help(FactoryCli.commandLine(FactoryCli.allNames()), List.of());
    }

    private static void help(CommandLine command, List<String> path) {
        for (var sub : command.getSubcommands().entrySet()) {
            List<String> subPath = new ArrayList<>(path);
            subPath.add(sub.getKey());
            List<String> args = new ArrayList<>(subPath);
            args.add("--help");
            run(args.toArray(String[]::new));
            help(sub.getValue(), subPath);
        }
    }

    private static void run(String... args) {
        PrintWriter nowhere = new PrintWriter(Writer.nullWriter());
        FactoryCli.run(nowhere, nowhere, args);
    }

    /** The stand-in server: the factory's answers to the list commands, its error shape for everything else. */
    private static void answer(HttpExchange exchange) throws IOException {
        Instant at = Instant.parse("2026-01-01T00:00:00Z");
        Map<String, Object> answers = Map.of(
                "/api/v1/models", new ModelWire.ModelList(List.of(new ModelWire.Model("acme/example", "default",
                        "internal", at, "training", 1, List.of(new ModelWire.Version("acme/example", 1, "gguf", 1 << 20,
                                List.of(), at, "training", "training", Map.of("architecture", "llama"), null))))),
                "/api/v1/deployments", new DeploymentList(List.of()),
                "/api/v1/keys", new KeyList(List.of()),
                "/api/v1/projects", new ProjectList(List.of()));
        Object answer = answers.get(exchange.getRequestURI().getPath());
        byte[] body = answer != null ? Json.mapper().writeValueAsBytes(answer)
                : "{\"error\":{\"message\":\"not part of the training\",\"type\":\"not_found\"}}"
                        .getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(answer != null ? 200 : 404, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    /** A loopback port where nothing listens: one the system just handed out and took back. */
    private static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
