package ai.factory.cluster;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * What a worker runs for one assignment: a replica of a deployment of a GGUF model version, the model's one file by
 * its blob (owner and plaintext SHA-256, fetched encrypted from the control plane), and the engine's settings as the
 * deployment asked for them.
 *
 * @param assignment the assignment's id, by which the worker fetches the blob and the key and serves the replica
 * @param model the model version as callers name it ({@code namespace/name:version})
 * @param owner the blob's owner in the control plane's store (the key hierarchy's owner of its data key)
 * @param sha256 the model file's plaintext SHA-256, which the worker checks after decrypting
 * @param bytes the file's plaintext size
 * @param threads the deployment's threads, 0 for the worker's default
 * @param stepTokens the step budget, 0 for automatic
 * @param cacheType {@code f16}, {@code q8_0} or {@code q4_0}
 * @param gpuLayers the deployment's {@code gpuLayers}: -1 lets the worker's capacity plan choose for its own free
 *     GPUs, 0 keeps the replica on the CPU, more asks for that many layers on GPUs (an assignment recorded before
 *     workers used GPUs reads as 0)
 * @param memory the host memory the replica needs on the CPU: its weights, KV cache and compute buffers, as the
 *     control plane estimated them to place it (0 in an assignment recorded before placement counted memory)
 * @param priority the deployment's priority: replicas of lower ones give way to it where workers are full
 * @param displaces the assignments on the same node that were ended to make room for this one: the worker loads it
 *     once they are unloaded (none in an assignment recorded before placement could end replicas)
 * @param project the deployment's project, whose accelerator quota counts the GPUs the replica holds (empty in an
 *     assignment recorded before quotas counted them)
 * @param maxGpus the most GPUs the worker may give the replica, what the project's accelerator quota leaves it when
 *     placed ({@link #ANY_GPUS}, or absent: no limit; 0 keeps it on the CPU)
 */
public record ReplicaWork(String assignment, String deployment, int replica, String model, String owner,
                          String sha256, long bytes, int contextPerSequence, int parallel, int threads, int queue,
                          int stepTokens, String cacheType, int prefixCache, int gpuLayers, long memory, int priority,
                          List<String> displaces, String project, Integer maxGpus) {
    /** {@link #maxGpus()} where the project's quota limits none. */
    public static final int ANY_GPUS = -1;

    public ReplicaWork {
        displaces = displaces == null ? List.of() : List.copyOf(displaces);
        project = project == null ? "" : project;
        maxGpus = maxGpus == null ? ANY_GPUS : maxGpus;
        if (maxGpus < ANY_GPUS) {
            throw new IllegalArgumentException("maxGpus must be -1 (any) or more: " + maxGpus);
        }
        requireNonNull(assignment, "assignment is null");
        requireNonNull(deployment, "deployment is null");
        requireNonNull(model, "model is null");
        requireNonNull(owner, "owner is null");
        requireNonNull(sha256, "sha256 is null");
        requireNonNull(cacheType, "cacheType is null");
        if (!sha256.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("not a SHA-256: " + sha256);
        }
        if (!owner.matches("[A-Za-z0-9._:@/-]{1,300}") || owner.contains("..")) {
            throw new IllegalArgumentException("not a blob owner: " + owner);
        }
    }

    /**
     * The same work under another assignment (the replica moving to another node), loaded once the {@code displaced}
     * assignments there are unloaded.
     */
    public ReplicaWork withAssignment(String id, List<String> displaced) {
        return with(id, displaced, project, maxGpus);
    }

    /**
     * The same work given at most {@code gpus} GPUs ({@link #ANY_GPUS}: any); with none it runs on the CPU, its
     * {@code gpuLayers} kept as the deployment asked (placed again, it may get GPUs).
     */
    public ReplicaWork limitedTo(int gpus) {
        return with(assignment, displaces, project, gpus);
    }

    /** The same work of the deployment of {@code project}. */
    public ReplicaWork withProject(String project) {
        return with(assignment, displaces, project, maxGpus);
    }

    /** The same replica and settings, placed as given: what placement changes of the work. */
    private ReplicaWork with(String assignment, List<String> displaces, String project, Integer maxGpus) {
        return new ReplicaWork(assignment, deployment, replica, model, owner, sha256, bytes, contextPerSequence,
                parallel, threads, queue, stepTokens, cacheType, prefixCache, gpuLayers, memory, priority, displaces,
                project, maxGpus);
    }

    /** Whether the replica may take GPUs: it asks for layers on them (or auto) and its quota leaves it some. */
    public boolean usesGpus() {
        return gpuLayers != 0 && maxGpus != 0;
    }
}
