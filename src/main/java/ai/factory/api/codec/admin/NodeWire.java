package ai.factory.api.codec.admin;

import ai.factory.engine.EngineLoad;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;
import java.time.Instant;
import java.util.List;

/**
 * {@code /api/v1/nodes}: the machines of a multi-node factory and the tokens they join with, and
 * {@code POST /cluster/v1/join}, which a worker calls with one. A token's secret appears once, when it is created.
 */
public final class NodeWire {
    private NodeWire() {}

    /**
     * {@code POST /api/v1/nodes/tokens}.
     *
     * @param expires how long it may be used, such as {@code 1h} (default) or {@code 7d}; at most 30 days
     * @param uses how many workers may join with it (default 1)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record CreateToken(@Nullable String expires, @Nullable Integer uses) {}

    /** A join token as listed: never its secret. */
    public record Token(String id, Instant createdAt, Instant expiresAt, int usesLeft, int uses, boolean revoked,
                        boolean usable, String createdBy) {}

    /** A token just made, with its secret ({@code fjt_…}), shown this once. */
    public record CreatedToken(String id, String token, Instant expiresAt, int usesLeft) {}

    public record TokenList(List<Token> tokens) {}

    /**
     * {@code POST /cluster/v1/join}, a worker's first call.
     *
     * @param token the join token
     * @param name the node's name (a DNS label: the machine's host name, say)
     * @param csr a PEM PKCS#10 certificate request, signed by the key the worker keeps
     * @param version the worker's factory version
     * @param inventory the worker's CPUs, memory and accelerators, as {@code GET /api/v1/fleet} writes a node
     */
    public record Join(String token, String name, String csr, String version, JsonNode inventory) {
        public Join {
            Required.field(token, "token");
            Required.field(name, "name");
            Required.field(csr, "csr");
            Required.field(version, "version");
            Required.field(inventory, "inventory");
        }
    }

    /**
     * What a joined worker keeps: its node, its certificate chain and the cluster CA's certificate (PEM), the port of
     * the mutual-TLS endpoint it calls from now on (on the host it joined through), and how often to send heartbeats.
     */
    public record Joined(Node node, String certificate, String clusterCa, int clusterPort,
                         long heartbeatIntervalMillis) {}

    /**
     * {@code POST /cluster/v1/heartbeat} over mutual TLS: the worker's version and inventory now, the port it serves
     * replicas on (0: none), how each of its replicas stands and how busy each ready one is (by assignment).
     */
    public record Heartbeat(String version, JsonNode inventory, int servingPort,
                            java.util.@Nullable List<ai.factory.cluster.Assignments.Reported> replicas,
                            java.util.@Nullable Map<String, Load> loads,
                            @Nullable Boolean starting) {
        public Heartbeat {
            Required.field(version, "version");
            Required.field(inventory, "inventory");
            replicas = replicas == null ? List.of() : List.copyOf(replicas);
            java.util.Map<String, Load> given = new java.util.HashMap<>();
            if (loads != null) {
                loads.forEach((assignment, load) -> {
                    if (assignment != null && load != null) {
                        given.put(assignment, load);
                    }
                });
            }
            loads = java.util.Map.copyOf(given);
        }
    }

    /** The answer to a heartbeat: the node's state ({@code ready}, {@code draining}) and the replicas it is to run. */
    public record HeartbeatAnswer(String id, String state, long heartbeatIntervalMillis,
                                  List<ai.factory.cluster.ReplicaWork> assignments, List<String> controlPlanes) {}

    /**
     * A node of the cluster; {@code health} is {@code up}, or {@code down} once it missed the heartbeat deadline;
     * {@code replicas}, the replicas assigned to it and how it last reported each.
     */
    public record Node(String id, String name, String state, String health, String address, String version,
                       Instant joinedAt,
                       Instant lastSeenAt, @Nullable Instant removedAt, String joinToken, String certificateSerial,
                       String certificateSha256, Instant certificateExpiresAt, JsonNode inventory,
                       @Nullable List<Replica> replicas) {}

    /**
     * A replica assigned to a node: {@code state} is {@code assigned} (not reported yet), {@code loading},
     * {@code ready} or {@code failed} (with {@code detail}); {@code load}, how busy it was at the node's last heartbeat
     * (absent until a ready replica was reported).
     */
    public record Replica(String assignment, String deployment, int replica, String model, String state,
                          String detail, @Nullable Load load) {}

    /**
     * How busy a replica is: sequences generating, requests waiting for a slot, its slots and queue, and the tokens it
     * generated since it loaded.
     */
    public record Load(int active, int waiting, int slots, int queueCapacity, long generatedTokens) {
        public static Load of(EngineLoad load) {
            return new Load(load.active(), load.waiting(), load.slots(), load.queueCapacity(), load.generatedTokens());
        }

        public EngineLoad toEngineLoad() {
            return new EngineLoad(active, waiting, slots, queueCapacity, generatedTokens);
        }
    }

    /**
     * A control-plane replica: where workers reach its cluster port, whether it leads the singleton work, and its
     * {@code health} ({@code up}, or {@code down} once it was not seen within the heartbeat deadline: killed, or cut
     * off from the database).
     */
    public record ControlPlane(String id, String clusterUrl, boolean leader, String health, String startedAt,
                               String lastSeenAt) {}

    /** The nodes, and the control-plane replicas (empty on a factory that takes no workers). */
    public record NodeList(List<Node> nodes, @Nullable List<ControlPlane> controlPlanes) {}
}
