package ai.factory.layering;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import com.tngtech.archunit.library.Architectures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The rooms of {@code ARCHITECTURE.md} as rules the build checks: the table there is read here, so the document and
 * the rules cannot drift apart. Each rule is also run against a deliberate violation, so a rule that stopped
 * catching anything would fail too.
 */
class LayeringTest {
    private static final String BASE = "ai.factory";

    private static JavaClasses production;
    private static Map<String, List<String>> rooms;

    @BeforeAll
    static void importClasses() throws Exception {
        // The compiled main classes alone: scanning the class path for the package would also read every jar.
        production = new ClassFileImporter().importPath(Path.of(ai.factory.app.Factory.class.getProtectionDomain()
                .getCodeSource().getLocation().toURI()));
        rooms = rooms(Path.of("ARCHITECTURE.md"));
    }

    @Test
    void everyPackageIsNullMarkedSoNullAwayChecksIt() {
        java.util.Set<String> packages = new java.util.TreeSet<>();
        production.stream().map(c -> c.getPackageName()).filter(p -> p.startsWith(BASE)).forEach(packages::add);
        List<String> unmarked = packages.stream().filter(p -> production.stream().noneMatch(c ->
                c.getName().equals(p + ".package-info") && c.isAnnotatedWith(org.jspecify.annotations.NullMarked.class)))
                .toList();
        assertThat(unmarked).as("packages without @NullMarked in their package-info.java").isEmpty();
    }

    @Test
    void theTableNamesEveryRoomTheCodeHas() {
        List<String> packages = production.stream().map(c -> c.getPackageName())
                .filter(p -> p.startsWith(BASE + ".")).map(p -> p.substring(BASE.length() + 1).split("\\.")[0])
                .distinct().sorted().toList();
        assertThat(rooms.keySet()).contains("kernel").containsAll(packages);
    }

    @Test
    void eachRoomUsesOnlyTheRoomsTheTableAllows() {
        layers().check(production);
    }

    @Test
    void noPackageDependsOnItselfInACircle() {
        freeOfCycles(BASE).check(production);
    }

    @Test
    void theEngineKnowsNothingOfHttpOrDatabases() {
        noClasses().that().resideInAPackage(BASE + ".engine..").should().dependOnClassesThat()
                .resideInAnyPackage("io.javalin..", "jakarta.servlet..", "org.eclipse.jetty..", "java.sql..",
                        "javax.sql..", "org.jdbi..", "com.zaxxer..", "org.flywaydb..")
                .check(production);
    }

    @Test
    void theFactoryLogsThroughSlf4jAlone() {
        oneLoggingApi().check(production);
    }

    @Test
    void theLoggingRuleCatchesTheJdksOwnLogger() {
        JavaClasses fixture = new ClassFileImporter().importClasses(ai.factory.layering.fixture.PlatformLogging.class);
        EvaluationResult result = oneLoggingApi().evaluate(fixture);
        assertThat(result.hasViolation()).isTrue();
        assertThat(result.getFailureReport().toString()).contains("PlatformLogging", "java.lang.System$Logger");
    }

    @Test
    void theRulesCatchADeliberateCycle() {
        JavaClasses fixture = new ClassFileImporter().importClasses(ai.factory.layering.fixture.a.Upstairs.class,
                ai.factory.layering.fixture.b.Downstairs.class);
        EvaluationResult result = freeOfCycles(BASE + ".layering.fixture").evaluate(fixture);
        assertThat(result.hasViolation()).isTrue();
        assertThat(result.getFailureReport().toString()).contains("fixture.a", "fixture.b");
    }

    @Test
    void theRulesCatchARoomReachingUp() throws ClassNotFoundException {
        JavaClasses fixture = new ClassFileImporter().importClasses(
                Class.forName(BASE + ".config.LayeringViolationFixture"), ai.factory.app.Factory.class);
        EvaluationResult result = layers().evaluate(fixture);
        assertThat(result.hasViolation()).isTrue();
        assertThat(result.getFailureReport().toString()).contains("LayeringViolationFixture", "ai.factory.app.Factory");
    }

    /**
     * One logging API, SLF4J with parameterised messages; {@code System.Logger} and {@code java.util.logging} are left
     * to the libraries, whose lines reach the same backend.
     */
    private static ArchRule oneLoggingApi() {
        return noClasses().should().dependOnClassesThat().haveNameMatching("java\\.lang\\.System\\$Logger(\\$.*)?")
                .orShould().dependOnClassesThat().resideInAPackage("java.util.logging..")
                .because("the factory logs through SLF4J (org.slf4j.Logger), with {} placeholders");
    }

    /** No cycle between the packages under {@code root}, at any depth. */
    private static ArchRule freeOfCycles(String root) {
        return slices().matching(root + ".(**)").should().beFreeOfCycles();
    }

    /** The table as a layered architecture: each room may use only what its row names. */
    private static Architectures.LayeredArchitecture layers() {
        Architectures.LayeredArchitecture layers = Architectures.layeredArchitecture().consideringOnlyDependenciesInLayers()
                .withOptionalLayers(true);
        for (String room : rooms.keySet()) {
            layers = layers.layer(room).definedBy(room.equals("kernel") ? BASE : BASE + "." + room + "..");
        }
        for (Map.Entry<String, List<String>> room : rooms.entrySet()) {
            layers = room.getValue().isEmpty()
                    ? layers.whereLayer(room.getKey()).mayNotAccessAnyLayer()
                    : layers.whereLayer(room.getKey()).mayOnlyAccessLayers(room.getValue().toArray(String[]::new));
        }
        return layers;
    }

    /** The rows of the table in {@code ARCHITECTURE.md}: room → the rooms it may use. */
    static Map<String, List<String>> rooms(Path architecture) throws IOException {
        Map<String, List<String>> table = new LinkedHashMap<>();
        for (String line : Files.readAllLines(architecture)) {
            String[] cells = line.split("\\|");
            if (cells.length < 4 || !line.startsWith("| ") || cells[1].isBlank() || cells[1].contains("---")
                    || cells[1].strip().equals("Room")) {
                continue;
            }
            String uses = cells[3].strip();
            table.put(cells[1].strip(), uses.equals("nothing") ? List.of()
                    : new ArrayList<>(Arrays.stream(uses.split(",")).map(String::strip).toList()));
        }
        assertThat(table).as("the rooms table of %s", architecture).isNotEmpty();
        return table;
    }
}
