package ai.factory.cluster;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.engine.Engine;
import ai.factory.models.ModelFormat;
import ai.factory.models.ModelRegistry;
import ai.factory.models.ModelVersion;
import ai.factory.security.tls.ServerIdentity;
import ai.factory.serving.DeploymentSpec;
import ai.factory.serving.EngineLoader;
import ai.factory.serving.ReplicaOf;
import ai.factory.serving.ReplicaPlacement;
import java.net.URI;
import java.net.http.HttpClient;
import java.security.cert.X509Certificate;
import java.time.Duration;

/**
 * The engine loader of a control plane ({@code cluster.role: control}): a text model's replica is assigned to a
 * worker ({@link Assignments}), which fetches the encrypted model, is given its data key, loads it and reports it
 * ready; the replica is then a {@link RemoteTextEngine} that calls it over mutual TLS with the control plane's own
 * certificate. Other models (the bundled embedding model) load here, through {@code local}.
 */
public final class WorkerEngines implements EngineLoader {
    private final Assignments assignments;
    private final ModelRegistry registry;
    private final EngineLoader local;
    private final HttpClient http;
    private final Duration loadTimeout;

    /**
     * @param identity the control plane's client certificate ({@code ClusterCa.controlPlaneIdentity})
     * @param clusterCa the CA whose certificates the workers' serving ports present
     * @param loadTimeout how long a worker may take from the assignment to a ready replica
     */
    public WorkerEngines(Assignments assignments, ModelRegistry registry, EngineLoader local, ServerIdentity identity,
                         X509Certificate clusterCa, Duration loadTimeout) {
        this.assignments = requireNonNull(assignments, "assignments is null");
        this.registry = requireNonNull(registry, "registry is null");
        this.local = requireNonNull(local, "local is null");
        this.http = MutualTls.client(identity.key(), identity.chain(), clusterCa);
        this.loadTimeout = requireNonNull(loadTimeout, "loadTimeout is null");
    }

    @Override
    public Engine load(ReplicaOf replica, ModelVersion version, DeploymentSpec spec, ReplicaPlacement placement) {
        if (version.format() != ModelFormat.GGUF) {
            return local.load(replica, version, spec, placement);
        }
        ModelRegistry.FileBlob blob = registry.fileBlob(version, version.files().getFirst().path());
        Assignments.Placed placed = assignments.assign(replica, id -> new ReplicaWork(id, replica.deployment(),
                replica.index(), version.ref().toString(), blob.owner(), blob.sha256(), blob.bytes(),
                spec.effectiveContext(version), spec.parallel(), spec.threads(), spec.queue(), spec.stepTokens(),
                spec.cacheType().id(), spec.prefixCache()));
        String id = placed.work().assignment();
        Assignments.Reported ready;
        try {
            ready = assignments.awaitReady(id, loadTimeout);
        } catch (InterruptedException e) {
            assignments.remove(id);
            Thread.currentThread().interrupt();
            throw new FactoryException(ErrorCode.UNAVAILABLE, "stopped while node " + placed.node().name()
                    + " loaded a replica of " + version.ref());
        } catch (RuntimeException e) {
            assignments.remove(id);
            throw e;
        }
        URI serving = URI.create("https://" + hostOf(placed.node().address()) + ":" + placed.node().servingPort());
        return new RemoteTextEngine(placed.work(), serving, http, requireNonNull(ready.info()),
                () -> assignments.remove(id));
    }

    /** An address as the host of a URI (IPv6 literals in brackets). */
    static String hostOf(String address) {
        return address.contains(":") && !address.startsWith("[") ? "[" + address + "]" : address;
    }
}
