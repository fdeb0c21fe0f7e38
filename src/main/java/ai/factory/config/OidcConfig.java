package ai.factory.config;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Single sign-on: the OpenID Connect issuer whose tokens the APIs accept beside API keys, and how their claims become
 * a project and a role.
 *
 * @param issuer the issuer's URL, exactly as its tokens' {@code iss} names it
 * @param audiences the audiences a token must name one of
 * @param roleMapping the rules, in order: the first that matches gives the caller its project and role
 * @param clockSkew how far the issuer's clock may be from this machine's
 * @param clientId the factory's client id at the issuer, for people's sign-in; empty: none
 * @param clientSecret that client's secret; empty: a public client
 * @param sessionLength how long a person's sign-in lasts
 * @param cliClientId a public client id at the issuer for the command line's device sign-in; empty: none
 */
public record OidcConfig(URI issuer, List<String> audiences, List<RoleRule> roleMapping, Duration clockSkew,
                         Optional<String> clientId, Optional<String> clientSecret, Duration sessionLength,
                         Optional<String> cliClientId) {
    private static final Pattern RULE = Pattern.compile("([A-Za-z0-9_.:/-]+)=([^,]+):([a-z0-9][a-z0-9-]{0,62}):([a-z-]+)");
    private static final Duration MAX_CLOCK_SKEW = Duration.ofMinutes(5);

    public OidcConfig {
        requireNonNull(issuer, "issuer is null");
        audiences = List.copyOf(audiences);
        roleMapping = List.copyOf(roleMapping);
        requireNonNull(clockSkew, "clockSkew is null");
        requireNonNull(clientId, "clientId is null");
        requireNonNull(clientSecret, "clientSecret is null");
        requireNonNull(sessionLength, "sessionLength is null");
        requireNonNull(cliClientId, "cliClientId is null");
        if (sessionLength.compareTo(Duration.ofMinutes(1)) < 0 || sessionLength.compareTo(Duration.ofDays(1)) > 0) {
            throw new IllegalArgumentException("auth.oidc.sessionLength is 1m to 24h, not " + sessionLength);
        }
        String scheme = issuer.getScheme();
        if (!("https".equals(scheme) || "http".equals(scheme)) || issuer.getHost() == null) {
            throw new IllegalArgumentException("auth.oidc.issuer is an http(s) URL with a host, not '" + issuer + "'");
        }
        if (audiences.isEmpty() && clientId.isPresent()) {
            audiences = List.of(clientId.get());
        }
        if (audiences.isEmpty()) {
            throw new IllegalArgumentException("auth.oidc.audience (or auth.oidc.clientId) is needed with "
                    + "auth.oidc.issuer: the audience that tokens for this factory name");
        }
        if (clockSkew.isNegative() || clockSkew.compareTo(MAX_CLOCK_SKEW) > 0) {
            throw new IllegalArgumentException("auth.oidc.clockSkew is 0 to 5m, not " + clockSkew);
        }
    }

    /**
     * A rule: a token whose {@code claim} is {@code value} (a string claim) or lists it (an array claim) gets
     * {@code role} (a role's id, such as {@code invoker}) in {@code project}.
     */
    public record RoleRule(String claim, String value, String project, String role) {
        public RoleRule {
            requireNonNull(claim, "claim is null");
            requireNonNull(value, "value is null");
            requireNonNull(project, "project is null");
            requireNonNull(role, "role is null");
        }
    }

    /** The rules of {@code auth.oidc.roleMapping}: comma-separated {@code CLAIM=VALUE:PROJECT:ROLE}. */
    public static List<RoleRule> parseRoleMapping(String text) {
        List<RoleRule> rules = new ArrayList<>();
        for (String part : Arrays.stream(text.split(",")).map(String::strip).filter(p -> !p.isEmpty()).toList()) {
            Matcher m = RULE.matcher(part);
            if (!m.matches()) {
                throw new IllegalArgumentException("auth.oidc.roleMapping rules are CLAIM=VALUE:PROJECT:ROLE "
                        + "(e.g. groups=ml-apps:default:invoker), not '" + part + "'");
            }
            rules.add(new RoleRule(m.group(1), m.group(2).strip(), m.group(3), m.group(4)));
        }
        return rules;
    }

    /** The audiences of {@code auth.oidc.audience}: comma-separated. */
    public static List<String> parseAudiences(String text) {
        return Arrays.stream(text.split(",")).map(String::strip).filter(a -> !a.isEmpty()).toList();
    }
}
