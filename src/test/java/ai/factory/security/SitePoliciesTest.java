package ai.factory.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.identity.Principal;
import ai.factory.identity.Role;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.storage.Database;
import ai.factory.storage.TestDatabases;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Site policies are stored only when valid, and a fresh authorizer (the next start) loads them back. */
class SitePoliciesTest {
    private static final Principal ADMIN = new Principal("p-admin", "admin", "default", Role.ADMIN);
    private static final Resource.Model RESTRICTED = new Resource.Model("alpha/m", "alpha", "restricted", false);

    @TempDir
    Path tempDir;

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void validPoliciesAreStoredAndComeBackAtTheNextStart(TestDatabases.Kind kind) {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            Authorizer first = Authorizer.withBuiltInPolicies();
            SitePolicies policies = new SitePolicies(db.jdbi(), Clock.systemUTC(), first);
            policies.load();
            assertThatThrownBy(() -> policies.add("forbid (principal, action == Action::\"fly\", resource);", ADMIN))
                    .extracting(e -> ((FactoryException) e).code()).isEqualTo(ErrorCode.INVALID_REQUEST);
            assertThatThrownBy(() -> policies.add("// x\n".repeat(30_000), ADMIN))
                    .extracting(e -> ((FactoryException) e).code()).isEqualTo(ErrorCode.PAYLOAD_TOO_LARGE);
            assertThat(policies.list()).isEmpty();

            SitePolicy added = policies.add(AuthorizerTest.RESTRICTED, ADMIN);
            assertThat(first.isAllowed(ADMIN, Action.INVOKE, RESTRICTED)).isFalse();

            Authorizer restarted = Authorizer.withBuiltInPolicies();
            assertThat(restarted.isAllowed(ADMIN, Action.INVOKE, RESTRICTED)).isTrue();
            SitePolicies reloaded = new SitePolicies(db.jdbi(), Clock.systemUTC(), restarted);
            reloaded.load();
            assertThat(restarted.isAllowed(ADMIN, Action.INVOKE, RESTRICTED)).isFalse();

            reloaded.delete(added.id(), ADMIN);
            assertThat(restarted.isAllowed(ADMIN, Action.INVOKE, RESTRICTED)).isTrue();
            assertThatThrownBy(() -> reloaded.delete(added.id(), ADMIN))
                    .extracting(e -> ((FactoryException) e).code()).isEqualTo(ErrorCode.NOT_FOUND);
        }
    }
}
