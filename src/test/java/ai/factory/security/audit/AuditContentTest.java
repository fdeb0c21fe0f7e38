package ai.factory.security.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.security.content.AuditContent;
import ai.factory.security.content.ContentRetention;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.identity.Principal;
import ai.factory.identity.Role;
import ai.factory.security.keys.KeyHierarchy;
import ai.factory.security.keys.TestKeys;
import ai.factory.storage.BlobStore;
import ai.factory.storage.Database;
import ai.factory.storage.StagedBlob;
import ai.factory.storage.TestDatabases;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Logged content on H2 and PostgreSQL: kept under the project's keys, never beside its weights, gone with them. */
class AuditContentTest {
    private static final Principal ADMIN = new Principal("p-admin", "admin", "default", Role.ADMIN);
    private static final Instant AT = Instant.parse("2026-12-03T10:00:00Z");

    @TempDir
    Path dir;

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void keepsContentUnderTheProjectsKeysAndLosesItWithThem(TestDatabases.Kind kind) throws Exception {
        try (Database db = TestDatabases.open(kind, dir)) {
            KeyHierarchy keys = TestKeys.hierarchy(db.jdbi(), dir);
            BlobStore blobs = new BlobStore(dir.resolve("blobs"));
            AuditContent content = new AuditContent(db.jdbi(), blobs, keys);
            keys.ensureKek("alpha");
            byte[] text = "{\"request\":\"the plan for q3\"}".getBytes(StandardCharsets.UTF_8);

            String sha = content.store("alpha", "req-1", AT, text);
            AuditContent.Entry e = content.read("alpha", sha);
            assertThat(e.content()).isEqualTo(text);
            assertThat(e.requestId()).isEqualTo("req-1");
            assertThat(e.at()).isEqualTo(AT);
            assertThat(new String(Files.readAllBytes(blobs.path("alpha", sha)), StandardCharsets.ISO_8859_1))
                    .doesNotContain("the plan for q3");
            assertThatThrownBy(() -> content.read("beta", sha)).isInstanceOfSatisfying(FactoryException.class,
                    x -> assertThat(x.code()).isEqualTo(ErrorCode.NOT_FOUND));

            // A project's weights are its blobs too, but not content.
            try (StagedBlob weights = blobs.stage("alpha", new ByteArrayInputStream(new byte[] {1, 2, 3}), 10)) {
                blobs.commit(weights, null);
                db.jdbi().useTransaction(h -> keys.storeDataKey(h, "alpha", weights.sha256(), weights.size(),
                        weights.dataKey()));
                assertThatThrownBy(() -> content.read("alpha", weights.sha256()))
                        .hasMessageContaining("logged no content");
            }

            keys.destroy("alpha", ADMIN);
            assertThatThrownBy(() -> content.read("alpha", sha)).isInstanceOf(FactoryException.class);
            // A call that was still running when the project went leaves nothing, and makes no new key.
            assertThatThrownBy(() -> content.store("alpha", "req-2", AT, "late".getBytes(StandardCharsets.UTF_8)))
                    .isInstanceOfSatisfying(FactoryException.class, x -> assertThat(x.code()).isEqualTo(ErrorCode.NOT_FOUND));
            assertThat(keys.hasKek("alpha")).isFalse();
            try (Stream<Path> left = Files.walk(dir.resolve("blobs/keyed/alpha"))) {
                assertThat(left.filter(Files::isRegularFile).map(Path::getFileName).map(Path::toString))
                        .doesNotContain(sha256Of("late"));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void aKekMadeAnewIsNotMistakenForTheCachedOneOfTheSameVersion(TestDatabases.Kind kind) throws Exception {
        try (Database db = TestDatabases.open(kind, dir)) {
            // Two factories sharing one database and one master key.
            KeyHierarchy first = TestKeys.hierarchy(db.jdbi(), dir);
            KeyHierarchy second = TestKeys.hierarchy(db.jdbi(), dir);
            BlobStore blobs = new BlobStore(dir.resolve("blobs"));
            first.ensureKek("alpha");
            AuditContent onFirst = new AuditContent(db.jdbi(), blobs, first);
            onFirst.read("alpha", onFirst.store("alpha", "warm", AT, "warm the cache".getBytes(StandardCharsets.UTF_8)));

            // The second deletes the project and it is made again: a new KEK, at version 1 like the old one.
            second.destroy("alpha", ADMIN);
            second.ensureKek("alpha");
            String sha = new AuditContent(db.jdbi(), blobs, second).store("alpha", "new", AT,
                    "after re-creation".getBytes(StandardCharsets.UTF_8));
            assertThat(new String(onFirst.read("alpha", sha).content(), StandardCharsets.UTF_8))
                    .isEqualTo("after re-creation");
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void retentionDestroysOnlyContentOlderThanItAndSaysSoInTheTrail(TestDatabases.Kind kind) throws Exception {
        try (Database db = TestDatabases.open(kind, dir)) {
            KeyHierarchy keys = TestKeys.hierarchy(db.jdbi(), dir);
            BlobStore blobs = new BlobStore(dir.resolve("blobs"));
            AuditContent content = new AuditContent(db.jdbi(), blobs, keys);
            keys.ensureKek("alpha");
            keys.ensureKek("beta");
            String oldAlpha = content.store("alpha", "req-old-a", AT, "old alpha".getBytes(StandardCharsets.UTF_8));
            String oldBeta = content.store("beta", "req-old-b", AT.plusSeconds(60), "old beta".getBytes(StandardCharsets.UTF_8));
            String recent = content.store("alpha", "req-new", AT.plus(Duration.ofDays(29)),
                    "recent alpha".getBytes(StandardCharsets.UTF_8));
            List<AuditEvent> trail = new ArrayList<>();
            Clock now = Clock.fixed(AT.plus(Duration.ofDays(30)).plusSeconds(30), ZoneOffset.UTC);

            try (ContentRetention retention = new ContentRetention(content, Duration.ofDays(30), trail::add, now)) {
                // Only the first call is older than 30 days at that time.
                assertThat(retention.sweep()).containsExactly(Map.entry("alpha", 1));
                assertThat(trail).singleElement().satisfies(e -> {
                    assertThat(e.action()).isEqualTo("audit.expireContent");
                    assertThat(e.project()).isEqualTo("alpha");
                    assertThat(e.detail()).startsWith("1 call(s)' content older than PT720H destroyed");
                });
                assertThatThrownBy(() -> content.read("alpha", oldAlpha)).isInstanceOfSatisfying(FactoryException.class,
                        x -> assertThat(x.code()).isEqualTo(ErrorCode.NOT_FOUND));
                assertThat(keys.hasDataKey("alpha", oldAlpha)).as("its data key is destroyed").isFalse();
                assertThat(blobs.exists("alpha", oldAlpha)).as("its file is deleted").isFalse();
                assertThat(content.read("beta", oldBeta).content()).asString(StandardCharsets.UTF_8).isEqualTo("old beta");
                assertThat(content.read("alpha", recent).content()).asString(StandardCharsets.UTF_8).isEqualTo("recent alpha");
                assertThat(retention.sweep()).as("nothing more is due").isEmpty();
            }
            assertThat(content.expire(AT.plus(Duration.ofDays(365)))).containsOnly(Map.entry("alpha", 1), Map.entry("beta", 1));
            assertThat(content.expire(AT.plus(Duration.ofDays(365)))).isEmpty();
        }
    }

    @org.junit.jupiter.api.Test
    void sweepsAtATenthOfTheRetentionBetweenASecondAndAnHour() {
        assertThat(ContentRetention.sweepEvery(Duration.ofDays(30))).isEqualTo(Duration.ofHours(1));
        assertThat(ContentRetention.sweepEvery(Duration.ofMinutes(10))).isEqualTo(Duration.ofMinutes(1));
        assertThat(ContentRetention.sweepEvery(Duration.ofMillis(500))).isEqualTo(Duration.ofSeconds(1));
    }

    private static String sha256Of(String text) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(text.getBytes(StandardCharsets.UTF_8)));
    }
}
