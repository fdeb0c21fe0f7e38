package ai.factory.api.codec;

import ai.factory.FactoryException;
import ai.factory.engine.Priority;
import org.jspecify.annotations.Nullable;

/**
 * The service tiers the APIs name, as the factory's priority classes: OpenAI's {@code service_tier} and Bedrock's
 * {@code serviceTier.type}. {@code flex} (work that may wait) is {@code batch}; {@code priority} is
 * {@code interactive}; {@code auto} and {@code default} leave the class to the caller's key or project. The
 * factory's own names, {@code batch} and {@code interactive}, are understood too.
 */
public final class ServiceTiers {
    private ServiceTiers() {}

    /**
     * The priority a tier asks for, or null for the caller's default.
     *
     * @throws FactoryException INVALID_REQUEST on {@code field} for a tier the factory does not know
     */
    public static @Nullable Priority priority(@Nullable String tier, String field) {
        if (tier == null) {
            return null;
        }
        return switch (tier) {
            case "auto", "default" -> null;
            case "flex", "batch" -> Priority.BATCH;
            case "priority", "interactive" -> Priority.INTERACTIVE;
            default -> throw FactoryException.invalidParam(field, "'" + field + "' is auto, default, flex (batch: "
                    + "served once interactive calls are) or priority, not '" + tier + "'");
        };
    }
}
