package ai.factory.identity;

import static java.util.Objects.requireNonNull;

import java.util.regex.Pattern;

/** Who is calling: resolved from an API key on every authenticated request. */
public record Principal(String id, String name, String project, Role role) {
    public static final String DEFAULT_PROJECT = "default";
    /** What a project may be called: 1-63 lowercase letters, digits or -, starting with a letter or digit. */
    public static final Pattern PROJECT_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

    public Principal {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        requireNonNull(project, "project is null");
        requireNonNull(role, "role is null");
    }
}
