package ai.factory.cli;

import static ai.factory.cli.FactoryCliTest.cliProcess;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ServerTest;
import ai.factory.app.Factory;
import ai.factory.FactoryException;
import ai.factory.TestFactory;
import ai.factory.config.ConfigLoader;
import ai.factory.config.Setting;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One factory per home: a second {@code factory up} on a home in use is refused before it touches anything of the
 * first, and names the first; a {@code server.json} left by a factory that was killed blocks nothing.
 */
@ServerTest
class HomeInUseTest {
    @TempDir
    Path home;

    @Test
    void aSecondUpOnAHomeInUseIsRefusedNamingTheFirstWhichKeepsServing() throws Exception {
        try (TestFactory first = TestFactory.start(home, TestFactory.BUILTIN)) {
            Path serverFile = home.resolve("run").resolve("server.json");
            String recorded = Files.readString(serverFile);
            long pid = ProcessHandle.current().pid();

            FactoryCliTest.Run second = cliProcess("up", "--home", home.toString(), "--port", "0");
            assertThat(second.exit()).as(second.err()).isEqualTo(1);
            assertThat(second.out()).doesNotContain("Factory ready");
            assertThat(second.err().strip()).startsWith("factory: another factory is running on the home")
                    .contains("pid " + pid + " at " + first.url()).contains("--home or FACTORY_HOME")
                    .doesNotContain("\n");

            // The same from within this process, where the lock is this JVM's own.
            var config = new ConfigLoader(Map.of()).load(home, Map.of(Setting.PORT, "0"));
            assertThatThrownBy(() -> Factory.start(config)).isInstanceOf(FactoryException.class)
                    .hasMessageContaining("pid " + pid + " at " + first.url());

            assertThat(Files.readString(serverFile)).as("the first's server.json").isEqualTo(recorded);
            assertThat(first.get("/health/ready", null).statusCode()).isEqualTo(200);
            FactoryCliTest.Run listed = FactoryCliTest.cli("models", "list", "--home", home.toString());
            assertThat(listed.exit()).as("the command line still finds the first: %s", listed.err()).isZero();
            assertThat(listed.out()).contains("builtin/all-minilm-l6-v2");
        }
        assertThat(home.resolve("run").resolve("server.json")).as("removed by the first's clean shutdown").doesNotExist();
    }

    @Test
    void aServerFileLeftByAKilledFactoryBlocksNothingAndIsReplaced() throws Exception {
        Path run = Files.createDirectories(home.resolve("run"));
        Files.writeString(run.resolve("server.json"), "{\"url\": \"http://127.0.0.1:1\", \"pid\": 2147483647}\n");
        Files.writeString(run.resolve("factory.lock"), "2147483647\n");
        try (TestFactory factory = TestFactory.start(home, TestFactory.BUILTIN)) {
            assertThat(Files.readString(run.resolve("server.json"))).contains(factory.url())
                    .contains("\"pid\": " + ProcessHandle.current().pid());
            assertThat(FactoryCliTest.cli("models", "list", "--home", home.toString()).exit()).isZero();
        }
    }
}
