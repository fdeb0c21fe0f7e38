package ai.factory.engine.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;

import org.jspecify.annotations.Nullable;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * A ggml CPU thread pool that lives as long as one context, as llama-server keeps one. Without it, ggml builds a
 * throw-away pool for every graph it computes: each {@code llama_decode} starts its worker threads afresh and
 * joins them at the end, so every step pays for thread creation and for workers that start cold on a core the
 * scheduler has to find, where a kept pool's workers wait, spinning briefly ({@code poll}, ggml's default 50),
 * for the next graph. The pool's functions live in the CPU backend, which ggml loads at run time, so they are
 * found through the backend registry.
 */
final class CpuThreadpool implements AutoCloseable {
    private final MethodHandle free;
    private final MemorySegment handle;
    private boolean closed;

    private CpuThreadpool(MethodHandle free, MemorySegment handle) {
        this.free = free;
        this.handle = handle;
    }

    /**
     * A pool of {@code threads} threads with ggml's default settings, or null when the natives have no CPU backend
     * or it exports no thread pool (then ggml's per-graph pools do the work).
     */
    static @Nullable CpuThreadpool create(LlamaLibrary llama, int threads) {
        MemorySegment device = llama.backendDevByType(LlamaLibrary.DEVICE_TYPE_CPU);
        if (device.equals(MemorySegment.NULL)) {
            return null;
        }
        MemorySegment reg = llama.backendDevBackendReg(device);
        MemorySegment newAddress;
        MemorySegment freeAddress;
        try (Arena arena = Arena.ofConfined()) {
            newAddress = llama.backendRegGetProcAddress(reg, arena.allocateFrom("ggml_threadpool_new"));
            freeAddress = llama.backendRegGetProcAddress(reg, arena.allocateFrom("ggml_threadpool_free"));
        }
        if (newAddress.equals(MemorySegment.NULL) || freeAddress.equals(MemorySegment.NULL)) {
            return null;
        }
        MethodHandle create = LlamaLibrary.function(newAddress, FunctionDescriptor.of(ADDRESS, ADDRESS));
        MethodHandle free = LlamaLibrary.function(freeAddress, FunctionDescriptor.ofVoid(ADDRESS));
        MemorySegment handle;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = arena.allocate(LlamaLayouts.THREADPOOL_PARAMS);
            llama.threadpoolParamsInit(params, threads);
            handle = (MemorySegment) create.invokeExact(params);
        } catch (Throwable t) {
            throw new IllegalStateException("ggml_threadpool_new failed", t);
        }
        return handle.equals(MemorySegment.NULL) ? null : new CpuThreadpool(free, handle);
    }

    MemorySegment handle() {
        return handle;
    }

    /** Stops and frees the pool; the context it was attached to must be freed (or detached) first. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            free.invokeExact(handle);
        } catch (Throwable t) {
            throw new IllegalStateException("ggml_threadpool_free failed", t);
        }
    }
}
