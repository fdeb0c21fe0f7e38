package ai.factory.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.tenancy.Project;
import ai.factory.identity.Role;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.storage.Database;
import ai.factory.storage.StatementCounter;
import ai.factory.storage.TestDatabases;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ApiKeysTest {
    @TempDir
    Path tempDir;

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void createdKeyAuthenticatesUntilRevoked(TestDatabases.Kind kind) {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            ApiKeys keys = new ApiKeys(db.jdbi(), Clock.systemUTC(), MasterKey.loadOrCreate(tempDir.resolve("master.key")));
            CreatedKey created = keys.create("ci-bot", "research", Role.INVOKER, null);

            assertThat(created.secret()).startsWith("fk_").hasSizeGreaterThan(40);
            assertThat(keys.authenticate(created.secret())).get()
                    .satisfies(p -> {
                        assertThat(p.name()).isEqualTo("ci-bot");
                        assertThat(p.project()).isEqualTo("research");
                        assertThat(p.role()).isEqualTo(Role.INVOKER);
                    });
            assertThat(keys.authenticate(created.secret() + "x")).isEmpty();
            assertThat(keys.authenticate("not-a-key")).isEmpty();
            assertThat(keys.authenticate(null)).isEmpty();

            ApiKey revoked = keys.revoke(created.key().id());
            assertThat(revoked.revoked()).isTrue();
            assertThat(keys.authenticate(created.secret())).isEmpty();
            assertThat(keys.revoke(created.key().id()).revokedAt()).isEqualTo(revoked.revokedAt());
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void aKeyIsReadOnceAndARevocationTakesEffectAtOnce(TestDatabases.Kind kind) {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            ApiKeys keys = new ApiKeys(db.jdbi(), Clock.systemUTC(), MasterKey.loadOrCreate(tempDir.resolve("master.key")),
                    db.readCacheMaxAge());
            CreatedKey one = keys.create("one", "research", Role.INVOKER, null);
            CreatedKey two = keys.create("two", "research", Role.INVOKER, null);
            CreatedAccessKey aws = keys.createAccessKey("aws", "research", Role.INVOKER, null);
            try (StatementCounter counter = StatementCounter.install(db.jdbi())) {
                assertThat(counter.during(() -> keys.authenticate(one.secret()))).hasSize(1);
                assertThat(counter.during(() -> keys.authenticate(one.secret()))).isEmpty();
                assertThat(counter.during(() -> keys.accessKey(aws.accessKeyId()))).hasSize(1);
                assertThat(counter.during(() -> keys.accessKey(aws.accessKeyId()))).isEmpty();
                assertThat(counter.during(() -> keys.authenticate("fk_unknown"))).as("unknown keys are not kept").hasSize(1);
                assertThat(counter.during(() -> keys.authenticate("fk_unknown"))).hasSize(1);
            }
            keys.revoke(one.key().id());
            assertThat(keys.authenticate(one.secret())).isEmpty();
            assertThat(keys.authenticate(two.secret())).isPresent();
            assertThat(keys.accessKey(aws.accessKeyId())).isPresent();
            keys.revokeProject("research");
            assertThat(keys.authenticate(two.secret())).isEmpty();
            assertThat(keys.accessKey(aws.accessKeyId())).isEmpty();
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void storesOnlyAHashOfTheSecret(TestDatabases.Kind kind) {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            ApiKeys keys = new ApiKeys(db.jdbi(), Clock.systemUTC(), MasterKey.loadOrCreate(tempDir.resolve("master.key")));
            CreatedKey created = keys.create("admin", null, Role.ADMIN, null);
            String stored = db.jdbi().withHandle(h -> h.createQuery("SELECT secret_hash FROM api_keys")
                    .mapTo(String.class).one());
            assertThat(stored).hasSize(64).doesNotContain(created.secret().substring(3));
            assertThat(keys.list()).singleElement().satisfies(k -> assertThat(k.prefix()).isEqualTo(created.secret().substring(0, 8)));
            assertThat(created.toString()).doesNotContain(created.secret());
            assertThat(keys.hasActiveAdmin()).isTrue();
            keys.revoke(created.key().id());
            assertThat(keys.hasActiveAdmin()).isFalse();
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void rejectsBadNamesProjectsAndUnknownKeys(TestDatabases.Kind kind) {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            ApiKeys keys = new ApiKeys(db.jdbi(), Clock.systemUTC(), MasterKey.loadOrCreate(tempDir.resolve("master.key")));
            assertThatThrownBy(() -> keys.create("", null, Role.INVOKER, null))
                    .isInstanceOf(FactoryException.class).hasMessageContaining("key name");
            assertThatThrownBy(() -> keys.create("x", "Bad Project!", Role.INVOKER, null))
                    .isInstanceOf(FactoryException.class).hasMessageContaining("project");
            assertThatThrownBy(() -> keys.revoke("key-nope"))
                    .isInstanceOf(FactoryException.class)
                    .extracting(e -> ((FactoryException) e).code()).isEqualTo(ErrorCode.NOT_FOUND);
            assertThatThrownBy(() -> Role.parse("root")).hasMessageContaining("admin, project-admin, developer, invoker, auditor");
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void accessKeySecretIsKeptSealedAndReadableUntilRevoked(TestDatabases.Kind kind) {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            ApiKeys keys = new ApiKeys(db.jdbi(), Clock.systemUTC(), MasterKey.loadOrCreate(tempDir.resolve("master.key")));
            CreatedAccessKey created = keys.createAccessKey("sdk-app", "research", Role.INVOKER, null);

            assertThat(created.accessKeyId()).matches("AKIA[A-Z2-7]{16}");
            assertThat(created.secretAccessKey()).hasSize(40);
            assertThat(created.toString()).doesNotContain(created.secretAccessKey());
            String stored = db.jdbi().withHandle(h -> h.createQuery("SELECT sealed_secret FROM aws_access_keys")
                    .mapTo(String.class).one());
            assertThat(stored).doesNotContain(created.secretAccessKey());
            assertThat(keys.accessKey(created.accessKeyId())).get().satisfies(k -> {
                assertThat(k.secretAccessKey()).isEqualTo(created.secretAccessKey());
                assertThat(k.principal().name()).isEqualTo("sdk-app");
                assertThat(k.principal().project()).isEqualTo("research");
            });
            assertThat(keys.accessKey("AKIAAAAAAAAAAAAAAAAA")).isEmpty();
            assertThat(keys.accessKey(null)).isEmpty();
            assertThat(keys.authenticate(created.secretAccessKey())).isEmpty();

            keys.revoke(created.key().id());
            assertThat(keys.accessKey(created.accessKeyId())).isEmpty();
        }
    }
}
