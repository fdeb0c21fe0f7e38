package ai.factory.security;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;

/** Who is calling: resolved from an API key on every authenticated request. */
public record Principal(String id, String name, String project, Role role) {
    public static final String DEFAULT_PROJECT = "default";

    public Principal {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        requireNonNull(project, "project is null");
        requireNonNull(role, "role is null");
    }

    public boolean isAdmin() {
        return role == Role.ADMIN;
    }

    /** Throws FORBIDDEN unless this principal is an admin or an auditor (the audit trail and sovereignty report). */
    public void requireAdminOrAuditor(String action) {
        if (role != Role.ADMIN && role != Role.AUDITOR) {
            throw new FactoryException(ErrorCode.FORBIDDEN,
                    action + " needs the admin or auditor role; key '" + name + "' has role " + role.id());
        }
    }

    /** Throws FORBIDDEN unless this principal is an admin. */
    public void requireAdmin(String action) {
        if (!isAdmin()) {
            throw new FactoryException(ErrorCode.FORBIDDEN,
                    action + " needs the admin role; key '" + name + "' has role " + role.id());
        }
    }
}
