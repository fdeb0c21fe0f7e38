package ai.factory.api.codec.admin;

import org.jspecify.annotations.Nullable;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;

/** {@code GET /api/v1/usage}: inference requests, tokens and bytes by project and model. */
public final class UsageWire {
    private UsageWire() {}

    public record Usage(String project, String model, long requests, long failed, long promptTokens,
                        long completionTokens, long bytesIn, long bytesOut) {
        public Usage {
            requireNonNull(project, "project is null");
        }
    }

    /** @param from null when the range is open at that end; {@code to} likewise */
    public record UsageReport(@Nullable Instant from, @Nullable Instant to, List<Usage> usage) {
        public UsageReport {
            usage = List.copyOf(requireNonNull(usage, "usage is null"));
        }
    }
}
