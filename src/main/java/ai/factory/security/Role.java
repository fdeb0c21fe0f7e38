package ai.factory.security;

import ai.factory.FactoryException;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** What a principal may do. Admins manage the site; invokers call models; auditors read the audit trail. */
public enum Role {
    ADMIN,
    INVOKER,
    AUDITOR;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
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
