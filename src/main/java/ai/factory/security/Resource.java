package ai.factory.security;

import ai.factory.identity.Role;

import static java.util.Objects.requireNonNull;

/**
 * What a request acts on, as the authorizer shows it to Cedar. Every resource lies in one project
 * ({@code resource in principal.project} is how the built-in policies keep projects apart).
 */
public sealed interface Resource {
    /** The project this resource belongs to (a project belongs to itself). */
    String project();

    /** A project as a whole: what project-wide actions (create a key in it, list its models) are checked against. */
    record Project(String name) implements Resource {
        public Project {
            requireNonNull(name, "name is null");
        }

        @Override
        public String project() {
            return name;
        }
    }

    /**
     * A registered model. {@code classification} is the label site policies test (e.g. {@code restricted});
     * {@code shared} models (those bundled with the factory) may be read and invoked from every project.
     */
    record Model(String name, String project, String classification, boolean shared) implements Resource {
        public Model {
            requireNonNull(name, "name is null");
            requireNonNull(project, "project is null");
            requireNonNull(classification, "classification is null");
        }
    }

    record Deployment(String id, String project) implements Resource {
        public Deployment {
            requireNonNull(id, "id is null");
            requireNonNull(project, "project is null");
        }
    }

    /** A fine-tuning dataset; {@code classification} is the label site policies test, as a model's. */
    record Dataset(String name, String project, String classification) implements Resource {
        public Dataset {
            requireNonNull(name, "name is null");
            requireNonNull(project, "project is null");
            requireNonNull(classification, "classification is null");
        }
    }

    /** A training (fine-tuning) job. */
    record TrainingJob(String id, String project) implements Resource {
        public TrainingJob {
            requireNonNull(id, "id is null");
            requireNonNull(project, "project is null");
        }
    }

    /** An API key, existing or about to be created, with the role it grants. */
    record Key(String id, String project, Role role) implements Resource {
        public Key {
            requireNonNull(id, "id is null");
            requireNonNull(project, "project is null");
            requireNonNull(role, "role is null");
        }
    }
}
