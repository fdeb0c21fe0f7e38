package ai.factory.security;

import static java.util.Objects.requireNonNull;

/** Who is calling: resolved from an API key on every authenticated request. */
public record Principal(String id, String name, String project, Role role) {
    public static final String DEFAULT_PROJECT = "default";

    public Principal {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        requireNonNull(project, "project is null");
        requireNonNull(role, "role is null");
    }
}
