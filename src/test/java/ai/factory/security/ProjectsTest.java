package ai.factory.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.tenancy.Project;
import ai.factory.tenancy.Projects;
import ai.factory.identity.Principal;
import ai.factory.identity.Role;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.TestModels;
import ai.factory.fleet.GpuAllocator;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import ai.factory.serving.DeploymentSpec;
import ai.factory.serving.Deployments;
import ai.factory.serving.GpuPlacements;
import ai.factory.serving.MemoryPlanner;
import ai.factory.storage.BlobStore;
import ai.factory.storage.Database;
import ai.factory.storage.TestDatabases;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Projects on both databases: the default project, names, and what deleting one removes before its hooks run. */
class ProjectsTest {
    private static final Principal ADMIN = new Principal("p-admin", "admin", "default", Role.ADMIN);

    @TempDir
    Path tempDir;

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void deletionRemovesDeploymentsKeysAndModelsThenRunsTheHooks(TestDatabases.Kind kind) throws Exception {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            Clock clock = Clock.systemUTC();
            ApiKeys keys = new ApiKeys(db.jdbi(), clock, MasterKey.loadOrCreate(tempDir.resolve("master.key")));
            ModelRegistry registry = new ModelRegistry(db.jdbi(), new BlobStore(tempDir.resolve("blobs")),
                    ai.factory.security.keys.TestKeys.hierarchy(db.jdbi(), tempDir), clock, 1L << 30);
            // No engine runs here: deployments are records, and loading one fails at once, as a bad model's would.
            try (Deployments deployments = new Deployments(db.jdbi(), registry, (replica, v, s, placement) -> {
                throw new FactoryException(ErrorCode.UNAVAILABLE, "no engines in this test");
            }, new MemoryPlanner(() -> Long.MAX_VALUE), new GpuPlacements(new GpuAllocator(List.of()), () -> false),
                    clock)) {
                List<String> seen = new ArrayList<>();
                AtomicBoolean failHook = new AtomicBoolean(true);
                Projects projects = new Projects(db.jdbi(), clock, keys, deployments, registry, List.of((project, by) -> {
                    // What is left of the project when the hook runs: nothing but its row.
                    seen.add(project + ": models=" + registry.list().stream().filter(m -> m.project().equals(project)).count()
                            + " deployments=" + deployments.list().stream().filter(d -> d.project().equals(project)).count()
                            + " activeKeys=" + keys.list().stream()
                                    .filter(k -> k.principal().project().equals(project) && !k.revoked()).count());
                    if (failHook.get()) {
                        throw new IllegalStateException("hook failed");
                    }
                }));

                assertThat(projects.list()).extracting(Project::name).containsExactly("default");
                projects.create("gamma", ADMIN);
                assertThatThrownBy(() -> projects.create("gamma", ADMIN))
                        .extracting(e -> ((FactoryException) e).code()).isEqualTo(ErrorCode.CONFLICT);
                assertThatThrownBy(() -> projects.create("Gamma!", ADMIN))
                        .extracting(e -> ((FactoryException) e).code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                keys.create("dev", "gamma", Role.DEVELOPER, null);
                keys.create("app", "default", Role.INVOKER, null);
                ModelName model = ModelName.parse("gamma/tiny");
                registry.importPath(model, TestModels.tinyLlama(), Optional.empty(), ADMIN,
                        new ModelRegistry.Placement("gamma", null));
                var d = deployments.deploy(new ModelRef(model, OptionalInt.empty()), DeploymentSpec.DEFAULT, ADMIN);
                assertThat(d.project()).isEqualTo("gamma");

                assertThatThrownBy(() -> projects.delete("gamma", ADMIN)).hasMessageContaining("hook failed");
                assertThat(projects.find("gamma")).as("a failed hook leaves the project to delete again").isPresent();
                failHook.set(false);
                Projects.Deleted deleted = projects.delete("gamma", ADMIN);

                assertThat(seen).containsExactly("gamma: models=0 deployments=0 activeKeys=0",
                        "gamma: models=0 deployments=0 activeKeys=0");
                assertThat(deleted.models()).isEmpty(); // the first attempt already deleted them
                assertThat(projects.find("gamma")).isEmpty();
                assertThat(keys.list()).filteredOn(k -> k.principal().project().equals("default") && !k.revoked())
                        .hasSize(1);
                assertThatThrownBy(() -> projects.delete("default", ADMIN))
                        .extracting(e -> ((FactoryException) e).code()).isEqualTo(ErrorCode.CONFLICT);
                assertThatThrownBy(() -> projects.delete("nowhere", ADMIN))
                        .extracting(e -> ((FactoryException) e).code()).isEqualTo(ErrorCode.NOT_FOUND);
            }
        }
    }
}
