package ai.factory.cli;

import ai.factory.api.codec.admin.NodeWire;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code factory nodes …}: the machines of a multi-node factory and the tokens workers join with. */
@Command(name = "nodes", mixinStandardHelpOptions = true,
        description = "List, drain, resume and remove the nodes of a multi-node factory; create the tokens workers join "
                + "with.")
final class NodesCommand {
    /** Its subcommands, in the order help lists them (see {@link FactoryCli#commandLine}). */
    static final List<Class<?>> SUBCOMMANDS = List.of(Token.class, ListNodes.class, Show.class, Drain.class, Resume.class,
            Remove.class);

    @Command(name = "token", mixinStandardHelpOptions = true,
            description = "Create, list and revoke join tokens (site admins).")
    static final class Token {
        static final List<Class<?>> SUBCOMMANDS = List.of(CreateToken.class, ListTokens.class, RevokeToken.class);
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create a join token; it is printed once and only its SHA-256 is stored.")
    static final class CreateToken implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Option(names = "--expires", description = "How long workers may join with it, e.g. 1h or 7d (default 1h, "
                + "at most 30d).")
        @Nullable String expires;

        @Option(names = "--uses", description = "How many workers may join with it (default 1).")
        @Nullable Integer uses;

        @Override
        public Integer call() {
            NodeWire.CreatedToken token = client.client().post("/api/v1/nodes/tokens",
                    new NodeWire.CreateToken(expires, uses), NodeWire.CreatedToken.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, token);
            } else {
                out.printf("Created join token %s (%d use(s), until %s). Shown only now:%n  %s%n"
                                + "On the worker: factory worker --join %s --token %s%n", token.id(), token.usesLeft(),
                        token.expiresAt(), token.token(), client.client().base(), token.token());
                out.flush();
            }
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List join tokens (never their secrets).")
    static final class ListTokens implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Override
        public Integer call() {
            NodeWire.TokenList result = client.client().get("/api/v1/nodes/tokens", NodeWire.TokenList.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, result);
                return 0;
            }
            Table table = new Table("ID", "USABLE", "USES LEFT", "USED", "EXPIRES", "REVOKED", "CREATED BY");
            for (NodeWire.Token t : result.tokens()) {
                table.row(t.id(), t.usable() ? "yes" : "no", t.usesLeft(), t.uses(), t.expiresAt(),
                        t.revoked() ? "yes" : "", t.createdBy());
            }
            table.print(out);
            return 0;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke a join token at once.")
    static final class RevokeToken implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "TOKEN_ID")
        String id;

        @Override
        public Integer call() {
            NodeWire.Token token = client.client().delete("/api/v1/nodes/tokens/" + id, NodeWire.Token.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, token);
            } else {
                out.println("Revoked join token " + token.id());
                out.flush();
            }
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the nodes and their state.")
    static final class ListNodes implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Override
        public Integer call() {
            NodeWire.NodeList result = client.client().get("/api/v1/nodes", NodeWire.NodeList.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, result);
                return 0;
            }
            Table table = new Table("ID", "NAME", "STATE", "HEALTH", "REPLICAS", "LOAD", "MEMORY", "ADDRESS",
                    "VERSION", "JOINED", "LAST SEEN");
            for (NodeWire.Node n : result.nodes()) {
                List<NodeWire.Replica> replicas = n.replicas() == null ? List.of() : n.replicas();
                long ready = replicas.stream().filter(r -> r.state().equals("ready")).count();
                boolean up = n.health().equals("up");
                table.row(n.id(), n.name(), n.state(), n.health(), replicas.isEmpty() ? "-"
                        : ready + "/" + replicas.size() + " ready", up ? load(replicas) : "-",
                        up ? memory(n.inventory()) : "-", n.address(), n.version(),
                        n.joinedAt(), n.lastSeenAt());
            }
            table.print(out);
            List<NodeWire.ControlPlane> control = result.controlPlanes() == null ? List.of() : result.controlPlanes();
            if (!control.isEmpty()) {
                out.println();
                Table planes = new Table("CONTROL PLANE", "CLUSTER ENDPOINT", "LEADS", "HEALTH", "STARTED", "LAST SEEN");
                for (NodeWire.ControlPlane c : control) {
                    planes.row(c.id(), c.clusterUrl(), c.leader() ? "yes" : "", c.health(), c.startedAt(),
                            c.lastSeenAt());
                }
                planes.print(out);
            }
            return 0;
        }
    }

    /**
     * How busy a node's replicas were at its last heartbeat: slots generating of all slots, and requests waiting, such
     * as {@code 3/4 busy, 2 waiting}; {@code -} before any was reported.
     */
    static String load(List<NodeWire.Replica> replicas) {
        List<NodeWire.Load> loads = replicas.stream().map(NodeWire.Replica::load).filter(java.util.Objects::nonNull)
                .toList();
        if (loads.isEmpty()) {
            return "-";
        }
        int active = loads.stream().mapToInt(NodeWire.Load::active).sum();
        int slots = loads.stream().mapToInt(NodeWire.Load::slots).sum();
        int waiting = loads.stream().mapToInt(NodeWire.Load::waiting).sum();
        return active + "/" + slots + " busy" + (waiting == 0 ? "" : ", " + waiting + " waiting");
    }

    /**
     * A node's memory as its last heartbeat reported it, which replicas are placed by: {@code 12.3 of 31.2 GiB free};
     * {@code -} when it reported none.
     */
    static String memory(com.fasterxml.jackson.databind.@org.jspecify.annotations.Nullable JsonNode inventory) {
        if (inventory == null) {
            return "-";
        }
        com.fasterxml.jackson.databind.JsonNode m = inventory.path("memory");
        if (!m.path("available").canConvertToLong() || !m.path("total").canConvertToLong()) {
            return "-";
        }
        double gib = 1L << 30;
        return String.format(java.util.Locale.ROOT, "%.1f of %.1f GiB free", m.path("available").asLong() / gib,
                m.path("total").asLong() / gib);
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = "Show a node: state, certificate, inventory, replicas.")
    static final class Show implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "NODE_ID")
        String id;

        @Override
        public Integer call() {
            ModelsCommand.printJson(spec.commandLine().getOut(), client.client().get("/api/v1/nodes/" + id));
            return 0;
        }
    }

    /** Posts {@code action} ({@code drain}, {@code resume}) for node {@code id} and says how the node stands now. */
    private static int changeState(CommandSpec spec, ClientOptions client, String id, String action) {
        NodeWire.Node node = client.client().post("/api/v1/nodes/" + id + "/" + action, java.util.Map.of(),
                NodeWire.Node.class);
        spec.commandLine().getOut().println("Node " + node.id() + " (" + node.name() + ") is " + node.state());
        spec.commandLine().getOut().flush();
        return 0;
    }

    @Command(name = "drain", mixinStandardHelpOptions = true,
            description = "Stop giving a node new work; its replicas move to other workers without a failed call.")
    static final class Drain implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "NODE_ID")
        String id;

        @Override
        public Integer call() {
            return changeState(spec, client, id, "drain");
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true,
            description = "Give a drained node new work again (after its upgrade, say).")
    static final class Resume implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "NODE_ID")
        String id;

        @Override
        public Integer call() {
            return changeState(spec, client, id, "resume");
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true,
            description = "Remove a node for good: its certificate is refused from then on.")
    static final class Remove implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "NODE_ID")
        String id;

        @Override
        public Integer call() {
            NodeWire.Node node = client.client().delete("/api/v1/nodes/" + id, NodeWire.Node.class);
            spec.commandLine().getOut().println("Removed node " + node.id() + " (" + node.name() + ")");
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}
