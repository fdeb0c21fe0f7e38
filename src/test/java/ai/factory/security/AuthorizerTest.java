package ai.factory.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.tenancy.Project;
import ai.factory.identity.Principal;
import ai.factory.identity.Role;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The built-in role policies and site policy validation, through the real Cedar engine. */
public class AuthorizerTest {
    public static final String RESTRICTED = """
            // Restricted models are invoked only from their own project.
            forbid (principal, action == Action::"invoke", resource is Model)
            when { resource.classification == "restricted" && principal.project != resource.project };
            """;

    private final Authorizer authorizer = Authorizer.withBuiltInPolicies();

    private static Principal key(Role role, String project) {
        return new Principal("p-" + role.id() + "-" + project, role.id(), project, role);
    }

    @Test
    void adminMayDoEverythingAnywhere() {
        Principal admin = key(Role.ADMIN, "default");
        for (Action a : Action.values()) {
            assertThat(authorizer.isAllowed(admin, a, new Resource.Project("alpha"))).as(a.id()).isTrue();
        }
        assertThat(authorizer.isAllowed(admin, Action.UNDEPLOY, new Resource.Deployment("d1", "beta"))).isTrue();
    }

    @Test
    void rolesKeepToTheirOwnProject() {
        var own = new Resource.Model("acme/m", "alpha", "internal", false);
        var other = new Resource.Model("acme/n", "beta", "internal", false);
        for (Role role : List.of(Role.PROJECT_ADMIN, Role.DEVELOPER, Role.INVOKER)) {
            Principal p = key(role, "alpha");
            assertThat(authorizer.isAllowed(p, Action.INVOKE, own)).as(role.id()).isTrue();
            assertThat(authorizer.isAllowed(p, Action.INVOKE, other)).as(role.id()).isFalse();
            assertThat(authorizer.isAllowed(p, Action.MANAGE_PROJECTS, new Resource.Project("alpha"))).isFalse();
            assertThat(authorizer.isAllowed(p, Action.READ_AUDIT, new Resource.Project("alpha"))).isFalse();
            assertThat(authorizer.isAllowed(p, Action.READ_FLEET, new Resource.Project("alpha"))).isTrue();
        }
        Principal invoker = key(Role.INVOKER, "alpha");
        assertThat(authorizer.isAllowed(invoker, Action.DEPLOY, own)).isFalse();
        assertThat(authorizer.isAllowed(key(Role.DEVELOPER, "alpha"), Action.DEPLOY, own)).isTrue();
        assertThat(authorizer.isAllowed(key(Role.DEVELOPER, "alpha"), Action.MANAGE_KEYS, new Resource.Project("alpha")))
                .isFalse();
    }

    @Test
    void developersAndProjectAdminsWorkWithDatasetsAndTrainingJobsOfTheirProjectOnly() {
        List<Action> datasetActions = List.of(Action.UPLOAD_DATASET, Action.READ_DATASET, Action.DELETE_DATASET);
        List<Action> jobActions = List.of(Action.TRAIN, Action.READ_TRAINING_JOB, Action.CANCEL_TRAINING_JOB);
        var own = new Resource.Dataset("acme/chats", "alpha", "internal");
        var theirs = new Resource.Dataset("acme/other", "beta", "internal");
        var ownJob = new Resource.TrainingJob("job-1", "alpha");
        var theirJob = new Resource.TrainingJob("job-2", "beta");
        for (Role role : Role.values()) {
            Principal p = key(role, "alpha");
            boolean builder = role == Role.ADMIN || role == Role.PROJECT_ADMIN || role == Role.DEVELOPER;
            for (Action a : datasetActions) {
                assertThat(authorizer.isAllowed(p, a, new Resource.Project("alpha"))).as(role.id() + " " + a.id())
                        .isEqualTo(builder);
                assertThat(authorizer.isAllowed(p, a, own)).as(role.id() + " " + a.id()).isEqualTo(builder);
                assertThat(authorizer.isAllowed(p, a, theirs)).as(role.id() + " " + a.id())
                        .isEqualTo(role == Role.ADMIN);
            }
            for (Action a : jobActions) {
                assertThat(authorizer.isAllowed(p, a, new Resource.Project("alpha"))).as(role.id() + " " + a.id())
                        .isEqualTo(builder);
                assertThat(authorizer.isAllowed(p, a, ownJob)).as(role.id() + " " + a.id()).isEqualTo(builder);
                assertThat(authorizer.isAllowed(p, a, theirJob)).as(role.id() + " " + a.id())
                        .isEqualTo(role == Role.ADMIN);
            }
        }
        FactoryException missing = new FactoryException(ErrorCode.NOT_FOUND, "no dataset 'acme/other'");
        assertThatThrownBy(() -> authorizer.require(key(Role.DEVELOPER, "alpha"), Action.READ_DATASET, theirs,
                () -> missing)).as("another project's dataset answers as a missing one")
                .isInstanceOfSatisfying(FactoryException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND);
                    assertThat(e.isDenial()).isTrue();
                });
        assertThatThrownBy(() -> authorizer.require(key(Role.INVOKER, "alpha"), Action.DELETE_DATASET, own,
                () -> missing)).isInstanceOfSatisfying(FactoryException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
    }

    @Test
    void sitePoliciesSeeADatasetsClassification() {
        String policy = """
                forbid (principal, action == Action::"uploadDataset", resource is Dataset)
                when { resource.classification == "restricted" };
                """;
        authorizer.validate(policy);
        authorizer.useSitePolicies(List.of(new SitePolicy("no-restricted-data", policy, Instant.EPOCH, "p-admin")));
        Principal developer = key(Role.DEVELOPER, "alpha");
        assertThat(authorizer.isAllowed(developer, Action.UPLOAD_DATASET,
                new Resource.Dataset("acme/x", "alpha", "restricted"))).isFalse();
        assertThat(authorizer.isAllowed(developer, Action.UPLOAD_DATASET,
                new Resource.Dataset("acme/x", "alpha", "internal"))).isTrue();
    }

    @Test
    void auditorReadsTheAuditTrailUsageQuotasAndMetricsAndNothingElse() {
        Principal auditor = key(Role.AUDITOR, "alpha");
        for (Action a : Action.values()) {
            assertThat(authorizer.isAllowed(auditor, a, new Resource.Project("alpha"))).as(a.id())
                    .isEqualTo(a == Action.READ_AUDIT || a == Action.READ_USAGE || a == Action.READ_METRICS
                            || a == Action.READ_SELF || a == Action.READ_QUOTAS);
        }
        assertThat(authorizer.isAllowed(auditor, Action.READ_QUOTAS, new Resource.Project("beta"))).isTrue();
        assertThat(authorizer.isAllowed(auditor, Action.READ_USAGE, new Resource.Project("beta"))).isTrue();
        Principal projectAdmin = key(Role.PROJECT_ADMIN, "alpha");
        assertThat(authorizer.isAllowed(projectAdmin, Action.READ_USAGE, new Resource.Project("alpha"))).isTrue();
        assertThat(authorizer.isAllowed(projectAdmin, Action.READ_USAGE, new Resource.Project("beta"))).isFalse();
        assertThat(authorizer.isAllowed(key(Role.DEVELOPER, "alpha"), Action.READ_USAGE, new Resource.Project("alpha")))
                .isFalse();
        assertThat(authorizer.isAllowed(auditor, Action.INVOKE,
                new Resource.Model("builtin/e", "default", "internal", true))).isFalse();
    }

    @Test
    void projectAdminsSetTheirKeysQuotasButNotTheProjectsNorSiteWideKeys() {
        Principal projectAdmin = key(Role.PROJECT_ADMIN, "alpha");
        assertThat(authorizer.isAllowed(projectAdmin, Action.MANAGE_QUOTAS, new Resource.Key("k1", "alpha",
                Role.INVOKER))).isTrue();
        assertThat(authorizer.isAllowed(projectAdmin, Action.MANAGE_QUOTAS, new Resource.Key("k2", "alpha",
                Role.ADMIN))).isFalse();
        assertThat(authorizer.isAllowed(projectAdmin, Action.MANAGE_QUOTAS, new Resource.Key("k3", "beta",
                Role.INVOKER))).isFalse();
        // A project's own limits need manageProjects as well, which is the admins'.
        assertThat(authorizer.isAllowed(projectAdmin, Action.MANAGE_PROJECTS, new Resource.Project("alpha")))
                .isFalse();
        for (Role role : List.of(Role.DEVELOPER, Role.INVOKER)) {
            assertThat(authorizer.isAllowed(key(role, "alpha"), Action.READ_QUOTAS, new Resource.Project("alpha")))
                    .isTrue();
            assertThat(authorizer.isAllowed(key(role, "alpha"), Action.READ_QUOTAS, new Resource.Project("beta")))
                    .isFalse();
            assertThat(authorizer.isAllowed(key(role, "alpha"), Action.MANAGE_QUOTAS, new Resource.Project("alpha")))
                    .isFalse();
        }
    }

    @Test
    void metricsKeysReadTheMetricsAndNothingElse() {
        for (String project : List.of("default", "alpha")) {
            Principal scraper = key(Role.METRICS, project);
            for (Action a : Action.values()) {
                assertThat(authorizer.isAllowed(scraper, a, new Resource.Project(project))).as(a.id())
                        .isEqualTo(a == Action.READ_METRICS || a == Action.READ_SELF);
            }
            assertThat(authorizer.isAllowed(scraper, Action.INVOKE,
                    new Resource.Model("builtin/e", "default", "internal", true))).isFalse();
        }
        for (Role role : List.of(Role.PROJECT_ADMIN, Role.DEVELOPER, Role.INVOKER)) {
            assertThat(authorizer.isAllowed(key(role, "alpha"), Action.READ_METRICS, new Resource.Project("alpha")))
                    .as(role.id()).isFalse();
        }
        assertThat(authorizer.isAllowed(key(Role.ADMIN, "default"), Action.READ_METRICS,
                new Resource.Project("default"))).isTrue();
    }

    @Test
    void aRefusalAboutWhatTheCallerMayNotSeeAnswersAsIfItWereMissing() {
        var theirs = new Resource.Model("beta/tiny", "beta", "internal", false);
        FactoryException missing = new FactoryException(ErrorCode.NOT_FOUND, "no model 'beta/tiny' in the registry");
        for (Role role : List.of(Role.PROJECT_ADMIN, Role.DEVELOPER, Role.INVOKER)) {
            Principal p = key(role, "alpha");
            assertThat(authorizer.sees(p, theirs)).as(role.id()).isFalse();
            assertThatThrownBy(() -> authorizer.require(p, Action.READ_MODEL, theirs, () -> missing)).as(role.id())
                    .isInstanceOfSatisfying(FactoryException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND);
                        assertThat(e.getMessage()).isEqualTo(missing.getMessage());
                        assertThat(e.isDenial()).as("the audit still learns it was refused").isTrue();
                    });
            assertThatThrownBy(() -> authorizer.require(p, Action.UNDEPLOY, new Resource.Deployment("d1", "beta"),
                    () -> missing)).isInstanceOfSatisfying(FactoryException.class,
                    e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
            assertThatThrownBy(() -> authorizer.require(p, Action.MANAGE_KEYS, new Resource.Key("k1", "beta",
                    Role.INVOKER), () -> missing)).isInstanceOfSatisfying(FactoryException.class,
                    e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        }
        assertThat(missing.isDenial()).as("the supplier's own error is left as it was").isFalse();
    }

    @Test
    void aRefusalAboutWhatTheCallerMaySeeIsForbidden() {
        // In its own project: an invoker may not undeploy, and knows the deployment is there.
        Principal invoker = key(Role.INVOKER, "alpha");
        assertThatThrownBy(() -> authorizer.require(invoker, Action.UNDEPLOY, new Resource.Deployment("d1", "alpha"),
                () -> new FactoryException(ErrorCode.NOT_FOUND, "no deployment 'd1'")))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
        // A model shared with every project: readable, not deletable.
        var shared = new Resource.Model("builtin/all-minilm-l6-v2", "default", "internal", true);
        Principal developer = key(Role.DEVELOPER, "alpha");
        assertThat(authorizer.sees(developer, shared)).isTrue();
        assertThatThrownBy(() -> authorizer.require(developer, Action.DELETE_MODEL, shared,
                () -> new FactoryException(ErrorCode.NOT_FOUND, "none")))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
        // A site admin held off by a site policy still sees the model.
        authorizer.useSitePolicies(List.of(new SitePolicy("pol-1", RESTRICTED, Instant.EPOCH, "p-admin")));
        var restricted = new Resource.Model("acme/secret", "alpha", "restricted", false);
        assertThatThrownBy(() -> authorizer.require(key(Role.ADMIN, "default"), Action.INVOKE, restricted,
                () -> new FactoryException(ErrorCode.NOT_FOUND, "none")))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
        // A project-wide check answers the same whether or not the project exists.
        assertThatThrownBy(() -> authorizer.require(invoker, Action.READ_USAGE, new Resource.Project("beta")))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
    }

    @Test
    void projectAdminHandsOutKeysOfItsProjectButNeverSiteWideOnes() {
        Principal pa = key(Role.PROJECT_ADMIN, "alpha");
        assertThat(authorizer.isAllowed(pa, Action.MANAGE_KEYS, new Resource.Key("new", "alpha", Role.DEVELOPER))).isTrue();
        assertThat(authorizer.isAllowed(pa, Action.MANAGE_KEYS, new Resource.Key("new", "alpha", Role.ADMIN))).isFalse();
        assertThat(authorizer.isAllowed(pa, Action.MANAGE_KEYS, new Resource.Key("new", "alpha", Role.AUDITOR))).isFalse();
        assertThat(authorizer.isAllowed(pa, Action.MANAGE_KEYS, new Resource.Key("new", "alpha", Role.METRICS))).isFalse();
        assertThat(authorizer.isAllowed(pa, Action.MANAGE_KEYS, new Resource.Key("new", "beta", Role.INVOKER))).isFalse();
    }

    @Test
    void sharedModelsServeEveryProject() {
        var shared = new Resource.Model("builtin/all-minilm-l6-v2", "default", "internal", true);
        assertThat(authorizer.isAllowed(key(Role.INVOKER, "alpha"), Action.INVOKE, shared)).isTrue();
        assertThat(authorizer.isAllowed(key(Role.INVOKER, "alpha"), Action.DELETE_MODEL, shared)).isFalse();
    }

    @Test
    void sitePolicyForbidsRestrictedModelsOutsideTheirProject() {
        var restricted = new Resource.Model("acme/secret", "alpha", "restricted", false);
        Principal admin = key(Role.ADMIN, "default");
        assertThat(authorizer.isAllowed(admin, Action.INVOKE, restricted)).isTrue();
        authorizer.validate(RESTRICTED);
        authorizer.useSitePolicies(List.of(new SitePolicy("pol-1", RESTRICTED, Instant.EPOCH, "p-admin")));
        assertThat(authorizer.isAllowed(admin, Action.INVOKE, restricted)).isFalse();
        assertThat(authorizer.isAllowed(key(Role.INVOKER, "alpha"), Action.INVOKE, restricted)).isTrue();
        assertThat(authorizer.isAllowed(admin, Action.INVOKE, new Resource.Model("acme/open", "alpha", "internal", false)))
                .isTrue();
        authorizer.useSitePolicies(List.of());
        assertThat(authorizer.isAllowed(admin, Action.INVOKE, restricted)).isTrue();
    }

    @Test
    void refusesPoliciesThatDoNotParse() {
        assertThatThrownBy(() -> authorizer.validate("permit (principal, action, resource"))
                .isInstanceOf(FactoryException.class).hasMessageContaining("does not parse")
                .extracting(e -> ((FactoryException) e).code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThatThrownBy(() -> authorizer.validate("   ")).hasMessageContaining("empty");
        assertThatThrownBy(() -> authorizer.validate("// nothing but a comment\n")).hasMessageContaining("no policy");
        assertThatThrownBy(() -> authorizer.validate("permit (principal == ?principal, action, resource);"))
                .hasMessageContaining("templates");
    }

    @Test
    void refusesPoliciesThatDoNotMatchTheSchema() {
        assertThatThrownBy(() -> authorizer.validate(
                "forbid (principal, action == Action::\"invoke\", resource is Model) when { resource.colour == \"red\" };"))
                .hasMessageContaining("does not validate").hasMessageContaining("colour");
        assertThatThrownBy(() -> authorizer.validate("forbid (principal, action == Action::\"fly\", resource);"))
                .hasMessageContaining("does not validate").hasMessageContaining("fly");
        assertThatThrownBy(() -> authorizer.validate("permit (principal is Robot, action, resource);"))
                .hasMessageContaining("Robot");
    }
}
