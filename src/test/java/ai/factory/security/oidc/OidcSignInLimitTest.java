package ai.factory.security.oidc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.config.OidcConfig;
import ai.factory.storage.Database;
import ai.factory.storage.TestDatabases;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Anyone may begin a sign-in, and each one is kept for its 10-minute window: past {@link OidcSignIn#MAX_PENDING} under
 * way, a new one is refused (429) instead of written, until older ones end.
 */
class OidcSignInLimitTest {
    private static final URI ISSUER = URI.create("https://id.example.org/realms/ai");

    @TempDir
    Path dir;

    @Test
    void aFloodOfSignInsIsRefusedOnceTheTableHoldsTheMostUnderWay() throws Exception {
        try (Database db = TestDatabases.open(TestDatabases.Kind.H2, dir)) {
            OidcConfig config = new OidcConfig(ISSUER, List.of("urn:factory"), List.of(), Duration.ofSeconds(60),
                    Optional.of("console"), Optional.empty(), Duration.ofHours(1), Optional.empty());
            OidcIssuer issuer = new OidcIssuer(ISSUER, (uri, form, auth, purpose) -> new OidcIssuer.Answer(200,
                    ("{\"issuer\":\"" + ISSUER + "\",\"authorization_endpoint\":\"" + ISSUER + "/auth\","
                            + "\"token_endpoint\":\"" + ISSUER + "/token\",\"jwks_uri\":\"" + ISSUER + "/jwks\"}")
                            .getBytes(StandardCharsets.UTF_8)), Clock.systemUTC());
            OidcSignIn signIn = new OidcSignIn(config, issuer, new OidcTokens(config, issuer, Clock.systemUTC()),
                    db.jdbi(), e -> { }, Clock.systemUTC());
            Instant now = Instant.now();
            db.jdbi().useHandle(h -> {
                var batch = h.prepareBatch("INSERT INTO oidc_logins (state, verifier, nonce, redirect_uri, return_to, "
                        + "created_at) VALUES (:state, 'v', 'n', 'https://f/auth/callback', '/', :at)");
                for (int i = 0; i < OidcSignIn.MAX_PENDING - 1; i++) {
                    batch.bind("state", "s" + i).bind("at", Timestamp.from(now)).add();
                }
                batch.execute();
            });
            URI callback = URI.create("https://factory.example.org/auth/callback");
            assertThat(signIn.begin(callback, "/console/").authorize().toString()).startsWith(ISSUER + "/auth?");
            assertThatThrownBy(() -> signIn.begin(callback, "/console/")).isInstanceOfSatisfying(
                    FactoryException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.RATE_LIMITED);
                        assertThat(e.getMessage()).contains("too many sign-ins are under way");
                    });
            // Once the window of the older ones has passed, they go, and sign-ins are taken again.
            db.jdbi().useHandle(h -> h.createUpdate("UPDATE oidc_logins SET created_at = :old").bind("old",
                    Timestamp.from(now.minus(OidcSignIn.LOGIN_WINDOW).minusSeconds(1))).execute());
            assertThat(signIn.begin(callback, "/console/").state()).isNotEmpty();
        }
    }
}
