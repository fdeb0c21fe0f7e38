package ai.factory.security.oidc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.config.OidcConfig;
import ai.factory.identity.Principal;
import ai.factory.identity.Role;
import com.nimbusds.jwt.JWTClaimsSet;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Claims to a project and a role, the shape of a bearer token, and where a sign-in may land: no provider needed. */
class RoleMappingTest {
    private static final URI ISSUER = URI.create("https://id.example.org/realms/ai");

    private static OidcTokens tokens(String mapping) {
        OidcConfig config = new OidcConfig(ISSUER, List.of("urn:factory"), OidcConfig.parseRoleMapping(mapping),
                Duration.ofSeconds(60), Optional.empty(), Optional.empty(), Duration.ofHours(1),
                Optional.empty());
        return new OidcTokens(config, new OidcIssuer(ISSUER, (uri, form, auth, purpose) -> {
            throw new java.io.IOException("no provider in this test");
        }, Clock.systemUTC()), Clock.systemUTC());
    }

    private static JWTClaimsSet claims(String subject, Object groups, String email) {
        return new JWTClaimsSet.Builder().issuer(ISSUER.toString()).subject(subject).claim("groups", groups)
                .claim("email", email).build();
    }

    @Test
    void theFirstRuleThatMatchesGivesTheProjectAndRole() {
        OidcTokens tokens = tokens("groups=ml-admins:default:admin, groups=ml-apps:alpha:invoker");
        Principal both = tokens.principal(claims("alice", List.of("ml-apps", "ml-admins"), "alice@example.org"));
        assertThat(both.role()).isEqualTo(Role.ADMIN);
        assertThat(both.project()).isEqualTo("default");
        assertThat(both.name()).isEqualTo("alice@example.org (sub alice)");
        Principal app = tokens.principal(claims("svc", "ml-apps", ""));
        assertThat(app.role()).isEqualTo(Role.INVOKER);
        assertThat(app.project()).isEqualTo("alpha");
        assertThat(app.name()).isEqualTo("sub svc");
        assertThat(app.id()).startsWith("oidc-").hasSize(37)
                .isEqualTo(tokens.principal(claims("svc", "ml-apps", "")).id())
                .isNotEqualTo(OidcTokens.id("https://other.example.org", "svc"));
    }

    @Test
    void aValueMayHoldColonsAsAKubernetesServiceAccountsSubjectDoes() {
        OidcTokens tokens = tokens("sub=system:serviceaccount:team-a:chatbot:alpha:invoker, "
                + "roles=Factory.Invoke:beta:developer");
        Principal pod = tokens.principal(claims("system:serviceaccount:team-a:chatbot", List.of(), ""));
        assertThat(pod.project()).isEqualTo("alpha");
        assertThat(pod.role()).isEqualTo(Role.INVOKER);
        assertThatThrownBy(() -> tokens.principal(claims("system:serviceaccount:team-a:other", List.of(), "")))
                .hasMessageContaining("auth.oidc.roleMapping");
        assertThat(OidcConfig.parseRoleMapping("sub=system:serviceaccount:team-a:chatbot:alpha:invoker").getFirst())
                .isEqualTo(new OidcConfig.RoleRule("sub", "system:serviceaccount:team-a:chatbot", "alpha", "invoker"));
    }

    @Test
    void aTokenNoRuleMatchesHasNoRole() {
        OidcTokens tokens = tokens("groups=ml-admins:default:admin");
        assertThatThrownBy(() -> tokens.principal(claims("bob", List.of("visitors"), "bob@example.org")))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN))
                .hasMessageContaining("bob@example.org").hasMessageContaining("auth.oidc.roleMapping");
        assertThatThrownBy(() -> tokens.principal(new JWTClaimsSet.Builder().subject("x").build()))
                .hasMessageContaining("auth.oidc.roleMapping");
    }

    @Test
    void anUnknownRoleIsRefusedAtStart() {
        assertThatThrownBy(() -> tokens("groups=ml:default:superuser"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("auth.oidc.roleMapping")
                .hasMessageContaining("superuser");
    }

    @Test
    void onlyAJwtsShapeIsTakenForAToken() {
        assertThat(OidcTokens.looksLikeJwt("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")).isTrue();
        assertThat(OidcTokens.looksLikeJwt("fk_0123456789abcdef")).isFalse();
        assertThat(OidcTokens.looksLikeJwt("a.b")).isFalse();
        assertThat(OidcTokens.looksLikeJwt("a.b.c.d")).isFalse();
        assertThatThrownBy(() -> tokens("groups=x:default:admin").verify("not-a-jwt"))
                .isInstanceOfSatisfying(FactoryException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAUTHENTICATED));
    }

    @Test
    void anUnreachableProviderAnswersUnavailableNamingIt() {
        assertThatThrownBy(() -> tokens("groups=x:default:admin").verify("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"))
                .isInstanceOfSatisfying(FactoryException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE))
                .hasMessageContaining(ISSUER.toString()).hasMessageContaining("no provider in this test");
    }

    @Test
    void aSignInLandsOnlyOnAPathOfThisFactory() {
        assertThat(OidcSignIn.localPath("/console/models?x=1")).isEqualTo("/console/models?x=1");
        assertThat(OidcSignIn.localPath("https://evil.example/")).isEqualTo("/");
        assertThat(OidcSignIn.localPath("//evil.example/")).isEqualTo("/");
        assertThat(OidcSignIn.localPath("/\\evil.example")).isEqualTo("/");
        assertThat(OidcSignIn.localPath("/a\r\nSet-Cookie: x=y")).isEqualTo("/");
        assertThat(OidcSignIn.localPath("")).isEqualTo("/");
    }
}
