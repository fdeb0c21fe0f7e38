package ai.factory.tenancy;

import static java.util.Objects.requireNonNull;

import ai.factory.security.ApiKeys;
import ai.factory.identity.Principal;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.storage.ReadCache;
import ai.factory.storage.Sql;
import ai.factory.models.Model;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import ai.factory.serving.Deployment;
import ai.factory.serving.Deployments;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The projects (tenants) of the site. The {@code default} project always exists and cannot be deleted. Deleting a
 * project undeploys its deployments, revokes its keys, deletes its models, runs the deletion hooks, and only then
 * removes the project, so an interrupted deletion is finished by deleting again.
 */
public final class Projects {
    private static final Logger LOG = LoggerFactory.getLogger(Projects.class);
    private static final String COLUMNS = "name, created_at, created_by, content_logging";

    private final Jdbi jdbi;
    private final Clock clock;
    private final ApiKeys keys;
    private final Deployments deployments;
    private final ModelRegistry registry;
    private final List<ProjectDeletionHook> deletionHooks;
    /** Each project's content-logging flag, which every audited request reads. */
    private final ReadCache<String, Boolean> contentLogging;

    /** Projects on a database other nodes may share: a flag read is read again after {@link ReadCache#SHARED_MAX_AGE}. */
    public Projects(Jdbi jdbi, Clock clock, ApiKeys keys, Deployments deployments, ModelRegistry registry,
                    List<ProjectDeletionHook> deletionHooks) {
        this(jdbi, clock, keys, deployments, registry, deletionHooks, ReadCache.SHARED_MAX_AGE);
    }

    /** @param cacheMaxAge how long a flag read is taken as read ({@link ai.factory.storage.Database#readCacheMaxAge}) */
    public Projects(Jdbi jdbi, Clock clock, ApiKeys keys, Deployments deployments, ModelRegistry registry,
                    List<ProjectDeletionHook> deletionHooks, Duration cacheMaxAge) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.keys = requireNonNull(keys, "keys is null");
        this.deployments = requireNonNull(deployments, "deployments is null");
        this.registry = requireNonNull(registry, "registry is null");
        this.deletionHooks = List.copyOf(requireNonNull(deletionHooks, "deletionHooks is null"));
        this.contentLogging = new ReadCache<>(clock, cacheMaxAge);
    }

    /** The name if a project may take it: 1-63 lowercase letters, digits or -, starting with a letter or digit. */
    public static String checkName(String name) {
        if (name == null || !Principal.PROJECT_NAME.matcher(name).matches()) {
            throw FactoryException.invalidParam("name",
                    "project name must be 1-63 lowercase letters, digits or -, starting with a letter or digit");
        }
        return name;
    }

    public Project create(String name, Principal by) {
        checkName(name);
        Project project = new Project(name, clock.instant(), by.id(), false);
        try {
            jdbi.useHandle(h -> h.createUpdate("INSERT INTO projects (name, created_at, created_by) VALUES (:n, :at, :by)")
                    .bind("n", name).bind("at", Timestamp.from(project.createdAt())).bind("by", by.id()).execute());
        } catch (UnableToExecuteStatementException e) {
            if (Sql.isUniqueViolation(e)) {
                throw new FactoryException(ErrorCode.CONFLICT, "project '" + name + "' already exists");
            }
            throw e;
        }
        LOG.info("project {} created by {}", name, by.id());
        return project;
    }

    public List<Project> list() {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM projects ORDER BY name")
                .map((rs, ctx) -> project(rs)).list());
    }

    public Optional<Project> find(String name) {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM projects WHERE name = :n")
                .bind("n", name).map((rs, ctx) -> project(rs)).findOne());
    }

    private static Project project(java.sql.ResultSet rs) throws SQLException {
        return new Project(rs.getString("name"), rs.getTimestamp("created_at").toInstant(), rs.getString("created_by"),
                rs.getBoolean("content_logging"));
    }

    /**
     * Turns content logging on or off for a project (admins); the change reaches every request of this node at once,
     * and those of other nodes sharing the database within their cache's age.
     */
    public Project setContentLogging(String name, boolean on, Principal by) {
        get(name);
        jdbi.useHandle(h -> h.createUpdate("UPDATE projects SET content_logging = :on WHERE name = :n")
                .bind("on", on).bind("n", name).execute());
        contentLogging.invalidate(name);
        LOG.info("content logging of project {} turned {} by {}", name, on ? "on" : "off", by.id());
        return get(name);
    }

    /** Whether {@code project} keeps the text of its inference calls; asked on every such call, so kept in memory. */
    public boolean contentLogging(String project) {
        return contentLogging.get(project, p -> find(p).map(Project::contentLogging)).orElse(false);
    }

    /** The project, or NOT_FOUND saying how to create it. */
    public Project get(String name) {
        return find(checkName(name)).orElseThrow(() -> notFound(name));
    }

    /** What {@link #get} answers for a project that does not exist. */
    public static FactoryException notFound(String name) {
        return new FactoryException(ErrorCode.NOT_FOUND, "no project '" + name + "'; an admin creates it with "
                + "'factory projects create " + name + "'");
    }

    /** What a project's deletion removed. */
    public record Deleted(String project, List<String> deployments, int keysRevoked, List<String> models) {
        public Deleted {
            requireNonNull(project, "project is null");
            deployments = List.copyOf(deployments);
            models = List.copyOf(models);
        }
    }

    public Deleted delete(String name, Principal by) {
        get(name);
        if (Principal.DEFAULT_PROJECT.equals(name)) {
            throw new FactoryException(ErrorCode.CONFLICT, "the default project cannot be deleted");
        }
        List<String> undeployed = deployments.list().stream().filter(d -> d.project().equals(name))
                .map(Deployment::id).toList();
        undeployed.forEach(deployments::delete);
        int revoked = keys.revokeProject(name);
        List<String> models = registry.list().stream().filter(m -> m.project().equals(name))
                .map(Model::name).map(Object::toString).toList();
        for (String m : models) {
            registry.delete(new ModelRef(ModelRef.parse(m).name(), OptionalInt.empty()));
        }
        deletionHooks.forEach(h -> h.projectDeleted(name, by));
        registry.signatures().forgetProject(name); // a project made later under the name starts anew
        jdbi.useHandle(h -> h.createUpdate("DELETE FROM projects WHERE name = :n").bind("n", name).execute());
        contentLogging.invalidate(name);
        LOG.info("project {} deleted by {}: {} deployment(s) undeployed, {} key(s) revoked, {} model(s) deleted", name,
                by.id(), undeployed.size(), revoked, models.size());
        return new Deleted(name, undeployed, revoked, models);
    }
}
