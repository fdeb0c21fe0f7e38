package ai.factory.layering;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import com.tngtech.archunit.core.domain.JavaAccess;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every test class that starts a factory or another program carries {@link ServerTest}, so that
 * {@code ./factory test -DexcludedGroups=server,long} runs exactly the tests that need neither.
 */
@SuppressWarnings("NullAway") // initialised in @BeforeAll
class TestTagsTest {
    /** What makes a test a server test: the classes whose use starts a factory or a process. */
    private static final Set<String> STARTERS = Set.of(TestFactory.class.getName(), ProcessBuilder.class.getName(),
            "ai.factory.api.FactoryProcess", "ai.factory.api.FactoryProcess$Child", "ai.factory.api.ClientProcess",
            "ai.factory.api.NodeClients", "ai.factory.security.audit.AuditAppenderProcess",
            "ai.factory.security.keys.TestHsm");

    private static JavaClasses tests;

    @BeforeAll
    static void importClasses() throws Exception {
        tests = new ClassFileImporter().importPath(Path.of(TestTagsTest.class.getProtectionDomain()
                .getCodeSource().getLocation().toURI()));
    }

    @Test
    void everyTestThatStartsAFactoryOrAProcessIsAServerTest() {
        assertThat(untagged("ai.factory")).as("test classes that start a factory or a process without @ServerTest")
                .isEmpty();
    }

    @Test
    void theRuleFindsATestThatStartsAFactoryUntagged() {
        assertThat(untagged("ai.factory.layering.fixture.tags"))
                .containsExactly("ai.factory.layering.fixture.tags.UntaggedFactoryFixture");
    }

    /** The top-level classes under {@code pkg} with a JUnit test whose code, nested classes included, starts one. */
    private static Set<String> untagged(String pkg) {
        Set<String> found = new TreeSet<>();
        for (JavaClass c : tests) {
            JavaClass top = topLevel(c);
            if (!top.getPackageName().startsWith(pkg) || !isTestClass(top) || top.isAnnotatedWith(ServerTest.class)
                    || (!pkg.contains("fixture") && top.getPackageName().contains("fixture"))) {
                continue;
            }
            for (JavaAccess<?> access : c.getAccessesFromSelf()) {
                if (STARTERS.contains(access.getTargetOwner().getName())) {
                    found.add(top.getName());
                }
            }
        }
        return found;
    }

    private static boolean isTestClass(JavaClass c) {
        return c.getMethods().stream().anyMatch(m -> m.isAnnotatedWith(Test.class)
                || m.isAnnotatedWith(org.junit.jupiter.params.ParameterizedTest.class));
    }

    private static JavaClass topLevel(JavaClass c) {
        JavaClass top = c;
        while (top.getEnclosingClass().isPresent()) {
            top = top.getEnclosingClass().get();
        }
        return top;
    }
}
