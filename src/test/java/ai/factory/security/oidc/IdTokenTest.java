package ai.factory.security.oidc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.FactoryException;
import ai.factory.config.OidcConfig;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * A person's ID token is taken only when it was issued to the factory's client: its own audience, the nonce its
 * sign-in sent, and, for a token with several audiences or one that names an authorized party, {@code azp} this
 * client (OpenID Connect Core 3.1.3.7).
 */
class IdTokenTest {
    private static final URI ISSUER = URI.create("https://id.example.org/realms/ai");
    private static final String CLIENT = "factory-console";

    private final ECKey key;
    private final OidcTokens tokens;

    IdTokenTest() throws Exception {
        key = new ECKeyGenerator(Curve.P_256).keyID("k1").algorithm(JWSAlgorithm.ES256).generate();
        String jwks = "{\"keys\":[" + key.toPublicJWK().toJSONString() + "]}";
        String discovery = "{\"issuer\":\"" + ISSUER + "\",\"authorization_endpoint\":\"" + ISSUER + "/auth\","
                + "\"token_endpoint\":\"" + ISSUER + "/token\",\"jwks_uri\":\"" + ISSUER + "/jwks\"}";
        OidcIssuer issuer = new OidcIssuer(ISSUER, (uri, form, auth, purpose) -> new OidcIssuer.Answer(200,
                (uri.getPath().endsWith("/jwks") ? jwks : discovery).getBytes(StandardCharsets.UTF_8)),
                Clock.systemUTC());
        OidcConfig config = new OidcConfig(ISSUER, List.of("urn:factory"), List.of(), Duration.ofSeconds(60),
                Optional.of(CLIENT), Optional.empty(), Duration.ofHours(1), Optional.empty());
        tokens = new OidcTokens(config, issuer, Clock.systemUTC());
    }

    private String idToken(List<String> audience, @Nullable String azp) throws Exception {
        JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder().issuer(ISSUER.toString()).subject("alice")
                .audience(audience).claim("nonce", "n1").issueTime(new Date())
                .expirationTime(Date.from(Instant.now().plusSeconds(300)));
        if (azp != null) {
            claims.claim("azp", azp);
        }
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID("k1").build(), claims.build());
        jwt.sign(new ECDSASigner(key));
        return jwt.serialize();
    }

    @Test
    void anIdTokenIssuedToThisClientIsTaken() throws Exception {
        assertThat(tokens.verifyIdToken(idToken(List.of(CLIENT), null), CLIENT, "n1").getSubject()).isEqualTo("alice");
        assertThat(tokens.verifyIdToken(idToken(List.of(CLIENT, "urn:other"), CLIENT), CLIENT, "n1").getSubject())
                .isEqualTo("alice");
    }

    @Test
    void anIdTokenIssuedToAnotherClientIsRefused() throws Exception {
        for (String token : List.of(idToken(List.of(CLIENT, "urn:other"), null),
                idToken(List.of(CLIENT, "urn:other"), "other-client"), idToken(List.of(CLIENT), "other-client"))) {
            assertThatThrownBy(() -> tokens.verifyIdToken(token, CLIENT, "n1")).isInstanceOf(FactoryException.class)
                    .hasMessageContaining("issued to another client");
        }
        assertThatThrownBy(() -> tokens.verifyIdToken(idToken(List.of("urn:other"), null), CLIENT, "n1"))
                .isInstanceOf(FactoryException.class);
        assertThatThrownBy(() -> tokens.verifyIdToken(idToken(List.of(CLIENT), null), CLIENT, "n2"))
                .hasMessageContaining("nonce");
    }
}
