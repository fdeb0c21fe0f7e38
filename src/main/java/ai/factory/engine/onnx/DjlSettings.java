package ai.factory.engine.onnx;

import org.jspecify.annotations.Nullable;

import java.nio.file.Path;

/**
 * DJL's process-wide switches. DJL reads them from the environment first and from system
 * properties second, so an operator's environment still wins; they must be set before the first
 * tokenizer is created.
 */
final class DjlSettings {
    private DjlSettings() {}

    static synchronized void apply(@Nullable Path nativeCacheDir) {
        // Creating a tokenizer otherwise "calls home": it queries the EC2 metadata endpoint and
        // fetches a telemetry URL. The factory must make no outbound calls it did not choose.
        System.setProperty("OPT_OUT_TRACKING", "true");
        // Offline mode also stops DJL from downloading a native library it cannot find in its jar.
        System.setProperty("ai.djl.offline", "true");
        if (nativeCacheDir != null) {
            System.setProperty("DJL_CACHE_DIR", nativeCacheDir.toAbsolutePath().toString());
        }
    }
}
