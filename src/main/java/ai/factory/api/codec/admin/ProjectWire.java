package ai.factory.api.codec.admin;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;

/** {@code /api/v1/projects}: projects (tenants), their settings, deletion and key rotation. */
public final class ProjectWire {
    private ProjectWire() {}

    /** {@code POST /api/v1/projects}. */
    public record CreateProject(String name) {
        public CreateProject {
            Required.field(name, "name");
        }
    }

    /**
     * {@code PATCH /api/v1/projects/{name}}: the settings named change, the others stay.
     *
     * @param signaturePolicy the project's own model-signature policy ({@code off}, {@code warn}, {@code require}),
     *     or {@code site} to let the site's apply again
     * @param trustedSigners the signers the project trusts in place of the site's: PEM text of public keys and
     *     certificate authorities, or {@code site} to let the site's apply again
     */
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    public record UpdateProject(@org.jspecify.annotations.Nullable Boolean contentLogging,
                                @org.jspecify.annotations.Nullable String signaturePolicy,
                                @org.jspecify.annotations.Nullable String trustedSigners) {
        /** The fields this body may carry; any other is refused rather than ignored, so a typo is not lost. */
        public static final List<String> FIELDS = List.of("contentLogging", "signaturePolicy", "trustedSigners");

        public UpdateProject(Boolean contentLogging) {
            this(contentLogging, null, null);
        }

        public UpdateProject {
            if (contentLogging == null && signaturePolicy == null && trustedSigners == null) {
                throw new IllegalArgumentException("name a setting to change: " + String.join(", ", FIELDS));
            }
        }
    }

    /**
     * @param signaturePolicy the project's own model-signature policy, or null where the site's applies
     * @param trustedSigners whom the project trusts in place of the site's signers (how many keys and authorities),
     *     or null where the site's apply
     */
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    public record Project(String name, Instant createdAt, String createdBy, boolean contentLogging,
                          @org.jspecify.annotations.Nullable String signaturePolicy,
                          @org.jspecify.annotations.Nullable String trustedSigners) {
        public Project {
            requireNonNull(name, "name is null");
        }
    }

    public record ProjectList(List<Project> projects) {
        public ProjectList {
            projects = List.copyOf(requireNonNull(projects, "projects is null"));
        }
    }

    /** What deleting a project removed with it. */
    public record DeletedProject(String name, List<String> undeployed, int keysRevoked, List<String> modelsDeleted) {
        public DeletedProject {
            requireNonNull(name, "name is null");
            undeployed = List.copyOf(requireNonNull(undeployed, "undeployed is null"));
            modelsDeleted = List.copyOf(requireNonNull(modelsDeleted, "modelsDeleted is null"));
        }
    }

    /** {@code POST /api/v1/projects/{name}/rotate-key} (which takes no body, or an empty object). */
    public record KeyRotation(String project, int previousVersion, int version, int dataKeysRewrapped) {
        public KeyRotation {
            requireNonNull(project, "project is null");
        }
    }

    /** The empty body that {@code rotate-key} accepts; any field in it is refused. */
    public record NoBody() {
        public static final List<String> FIELDS = List.of();
    }
}
