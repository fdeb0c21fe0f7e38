package ai.factory.identity;

import ai.factory.FactoryException;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What a principal may do; the built-in Cedar policies give each role its rights. Admins manage the whole site;
 * project admins their project (keys included); developers import and deploy models, upload datasets and train in
 * their project; invokers only call its models; auditors only read the audit trail, usage and metrics; a metrics key
 * (a Prometheus scraper's) only reads {@code /metrics}, which counts every project's traffic by model.
 */
public enum Role {
    ADMIN,
    PROJECT_ADMIN,
    DEVELOPER,
    INVOKER,
    AUDITOR,
    METRICS;

    /** The name on the wire and in policies: {@code admin}, {@code project-admin}, … */
    public String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static Role parse(String text) {
        for (Role r : values()) {
            if (r.id().equals(text)) {
                return r;
            }
        }
        throw FactoryException.invalidParam("role", "unknown role '" + text + "'; use one of "
                + Arrays.stream(values()).map(Role::id).collect(Collectors.joining(", ")));
    }
}
