package ai.factory.storage;

import ai.factory.config.DatabaseConfig;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DatabaseConfigTest {
    @Test
    void defaultsToTenConnectionsAndTenSecondTimeout() {
        DatabaseConfig config = new DatabaseConfig("jdbc:postgresql://db.example:5432/factory", "factory", "s3cret");

        assertThat(config.maxPoolSize()).isEqualTo(10);
        assertThat(config.connectionTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(config.vendor()).isEqualTo("postgresql");
    }

    @Test
    void embeddedDefaultIsAnAbsoluteH2FileThatTheFactoryClosesItself() {
        DatabaseConfig config = DatabaseConfig.h2(Path.of("relative", "factory"));

        assertThat(config.url())
                .startsWith("jdbc:h2:file:" + Path.of("relative", "factory").toAbsolutePath())
                .endsWith(";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0");
        assertThat(config.vendor()).isEqualTo("h2");
    }

    @Test
    void neverPrintsThePassword() {
        DatabaseConfig config = new DatabaseConfig("jdbc:postgresql://db.example/factory?ssl=true&password=hunter2", "factory", "s3cret");

        assertThat(config.toString())
                .doesNotContain("s3cret")
                .doesNotContain("hunter2")
                .contains("password=***")
                .contains("jdbc:postgresql://db.example/factory?ssl=true&password=***");
    }

    @Test
    void rejectsUrlsOfOtherDatabasesWithTheSupportedForms() {
        assertThatThrownBy(() -> new DatabaseConfig("jdbc:mysql://db.example/factory?password=hunter2", null, null))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageContaining("unsupported database URL 'jdbc:mysql://db.example/factory?password=***'")
                .hasMessageContaining("use jdbc:h2:file:… or jdbc:postgresql://…")
                .message().doesNotContain("hunter2");
        assertThatThrownBy(() -> new DatabaseConfig("postgres://db.example/factory", null, null))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST));
    }

    @Test
    void rejectsEmptyPoolAndTimeoutsHikariRefuses() {
        assertThatThrownBy(() -> new DatabaseConfig("jdbc:h2:mem:x", null, null).withMaxPoolSize(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxPoolSize");
        assertThatThrownBy(() -> new DatabaseConfig("jdbc:h2:mem:x", null, null).withConnectionTimeout(Duration.ofMillis(10)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("connectionTimeout");
    }
}
