package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.factory.Json;
import ai.factory.MovableClock;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.config.Setting;
import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workload identity: bearer tokens from a real OpenID provider (the npm package {@code oidc-provider}, run by this
 * test on loopback) accepted on the APIs beside API keys, their claims mapped to a project and a role; and every kind
 * of bad token refused with a clear 401 or 403 in the API's own shape while the factory keeps serving.
 */
@ServerTest
class OidcApiTest {
    private static final String MODEL = "default/tiny-chat";
    private static final String AUDIENCE = "urn:factory";
    private static final int TOKEN_TTL = 600;

    @TempDir
    static Path home;

    static TestFactory factory;
    static int port;
    static String issuer;
    static ECKey first;
    static Process provider;
    static final MovableClock clock = MovableClock.system();
    static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(NodeClients.available() || "true".equals(System.getenv("CI")), "node and npm are not installed");
        port = TestCluster.freePort();
        issuer = "http://127.0.0.1:" + port;
        first = key("first");
        // The factory reads the provider's discovery document on the first token, so it may start first.
        factory = TestFactory.start(home, Map.of(
                Setting.OIDC_ISSUER, issuer,
                // The client id too, as where access and ID tokens share an audience (Entra ID): ID tokens must
                // still be refused on the APIs.
                Setting.OIDC_AUDIENCE, AUDIENCE + ",factory-console",
                Setting.OIDC_ROLE_MAPPING, "groups=ml-admins:default:admin, groups=ml-apps:default:invoker",
                Setting.OIDC_CLIENT_ID, "factory-console",
                Setting.OIDC_CLIENT_SECRET, "factory-console-secret",
                Setting.EGRESS_ALLOW, "127.0.0.1:" + port), clock);
        provider = provider(port, issuer, List.of(first));
        factory.deployGguf(MODEL, TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 256");
    }

    @AfterAll
    static void stop() {
        if (provider != null) {
            provider.destroyForcibly();
        }
        TestFactory.closeAll(factory);
    }

    /** Whatever a test sent, the factory goes on serving a valid token. */
    @AfterEach
    void stillServing() throws Exception {
        clock.offset(Duration.ZERO);
        assertThat(chat(token("app", AUDIENCE)).statusCode()).isEqualTo(200);
    }

    @Test
    void aWorkloadsTokenCallsTheModelThroughTheOpenAiSdkAndTheAuditNamesIt() throws Exception {
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(factory.url() + "/v1")
                .apiKey(token("app", AUDIENCE)).build();
        try {
            ChatCompletion answer = client.chat().completions().create(ChatCompletionCreateParams.builder()
                    .model(MODEL).addUserMessage("Hello").maxCompletionTokens(4).build());
            assertThat(answer.choices()).hasSize(1);
            assertThat(answer.usage().orElseThrow().completionTokens()).isEqualTo(4);
        } finally {
            client.close();
        }

        HttpResponse<String> raw = chat(token("app", AUDIENCE));
        assertThat(raw.statusCode()).isEqualTo(200);
        JsonNode record = factory.auditRecord(raw.headers().firstValue("X-Request-Id").orElseThrow(),
                factory.adminKey());
        assertThat(record.path("principalName").asText()).isEqualTo("sub app");
        assertThat(record.path("principalId").asText()).startsWith("oidc-").hasSize(37);
        assertThat(record.path("project").asText()).isEqualTo("default");
    }

    @Test
    void theRoleComesFromTheGroupsClaim() throws Exception {
        String invoker = token("app", AUDIENCE);
        HttpResponse<String> refused = factory.send(factory.request("/api/v1/keys", invoker).GET());
        assertThat(refused.statusCode()).isEqualTo(403);

        HttpResponse<String> listed = factory.send(factory.request("/api/v1/keys", token("ops", AUDIENCE)).GET());
        assertThat(listed.statusCode()).isEqualTo(200);
    }

    @Test
    void aValidTokenThatNoRuleMapsHasNoRole() throws Exception {
        HttpResponse<String> r = chat(token("stranger", AUDIENCE));
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(error(r)).contains("auth.oidc.roleMapping", "sub stranger");
    }

    @Test
    void aTamperedTokenIsRefused() throws Exception {
        String token = token("app", AUDIENCE);
        String[] parts = token.split("\\.");
        // The payload says otherwise (another subject); the signature no longer matches it.
        String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8)
                .replace("\"sub\":\"app\"", "\"sub\":\"ops\"");
        assertThat(payload).contains("\"sub\":\"ops\"");
        String forged = parts[0] + "." + Base64.getUrlEncoder().withoutPadding()
                .encodeToString(payload.getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
        HttpResponse<String> r = chat(forged);
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(error(r)).contains("signature does not verify");

        HttpResponse<String> garbled = chat("eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln");
        assertThat(garbled.statusCode()).isEqualTo(401);
        assertThat(error(garbled)).contains("the bearer token is not valid");
    }

    @Test
    void aTokenForAnotherAudienceIsRefused() throws Exception {
        HttpResponse<String> r = chat(token("app", "urn:another-service"));
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(error(r)).contains("not for this factory");
    }

    @Test
    void anExpiredTokenIsRefusedAndTheClockSkewBoundHolds() throws Exception {
        String token = token("app", AUDIENCE);
        clock.offset(Duration.ofSeconds(TOKEN_TTL + 30));
        assertThat(chat(token).statusCode()).as("30 s past exp: within the 60 s skew").isEqualTo(200);
        clock.offset(Duration.ofSeconds(TOKEN_TTL + 90));
        HttpResponse<String> r = chat(token);
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(error(r)).contains("expired");
    }

    @Test
    void aTokenFromAnotherIssuerIsRefusedEvenSignedWithATrustedKey() throws Exception {
        int otherPort = TestCluster.freePort();
        Process other = provider(otherPort, "http://127.0.0.1:" + otherPort, List.of(first));
        try {
            HttpResponse<String> r = chat(token(otherPort, "app", AUDIENCE));
            assertThat(r.statusCode()).isEqualTo(401);
            assertThat(error(r)).contains("not issued by auth.oidc.issuer");
        } finally {
            other.destroyForcibly();
        }
    }

    @Test
    void theProvidersKeyRotationIsFollowed() throws Exception {
        String before = token("app", AUDIENCE);
        ECKey second = key("second");
        provider.destroyForcibly().waitFor();
        provider = provider(port, issuer, List.of(second, first));
        String after = token("app", AUDIENCE);
        assertThat(after.split("\\.")[0]).isNotEqualTo(before.split("\\.")[0]);
        // A key not yet seen makes the factory fetch the key set again (at most every 10 s).
        Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(2))
                .until(() -> chat(after).statusCode() == 200);
        assertThat(chat(before).statusCode()).as("the old key is still published").isEqualTo(200);
    }

    @Test
    void theProviderIsReachedThroughTheEgressGateAndRecordedInTheLedger() throws Exception {
        chat(token("app", AUDIENCE));
        JsonNode records = Json.mapper().readTree(factory.get("/api/v1/audit?action=egress.http&limit=100",
                factory.adminKey()).body()).path("records");
        assertThat(records.findValuesAsText("detail")).anySatisfy(d -> assertThat(d)
                .contains("OpenID Connect discovery of " + issuer))
                .anySatisfy(d -> assertThat(d).contains("OpenID Connect keys of " + issuer));
    }

    @Test
    void anApiKeyStillWorksBesideTokens() {
        HttpResponse<String> r = factory.send(factory.request("/api/v1/keys", factory.adminKey()).GET());
        assertThat(r.statusCode()).isEqualTo(200);
    }

    @Test
    void behindAnIngressTheSignInsAddressesComeFromTheConfiguredPublicUrl(@TempDir Path other) throws Exception {
        try (TestFactory proxied = TestFactory.start(other, Map.of(
                Setting.OIDC_ISSUER, issuer, Setting.OIDC_AUDIENCE, AUDIENCE,
                Setting.OIDC_ROLE_MAPPING, "groups=ml-admins:default:admin",
                Setting.OIDC_CLIENT_ID, "factory-console", Setting.OIDC_CLIENT_SECRET, "factory-console-secret",
                Setting.EGRESS_ALLOW, "127.0.0.1:" + port, Setting.PUBLIC_URL, "https://ai.example.org/"))) {
            HttpResponse<String> login = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build()
                    .send(HttpRequest.newBuilder(URI.create(proxied.url() + "/auth/login?return=/console/")).build(),
                            HttpResponse.BodyHandlers.ofString());
            assertThat(login.statusCode()).as(login.body()).isEqualTo(302);
            assertThat(login.headers().firstValue("Location").orElseThrow()).startsWith(issuer)
                    .contains("redirect_uri=" + URLEncoder.encode("https://ai.example.org/auth/callback",
                            StandardCharsets.UTF_8)).doesNotContain(URLEncoder.encode(proxied.url(),
                            StandardCharsets.UTF_8));
            assertThat(login.headers().firstValue("Set-Cookie").orElseThrow()).contains("Secure", "HttpOnly");
        }
    }

    @Test
    void aPersonSignsInThroughTheProviderAndCallsWithTheSessionCookie() throws Exception {
        Browser browser = new Browser();
        HttpResponse<String> landed = browser.signIn("alice", "/api/v1/keys");
        assertThat(landed.uri().toString()).isEqualTo(factory.url() + "/api/v1/keys");
        assertThat(landed.statusCode()).as(landed.body()).isEqualTo(200);

        JsonNode session = Json.mapper().readTree(browser.get(factory.url() + "/auth/session").body());
        assertThat(session.path("name").asText()).isEqualTo("alice@example.org (sub alice)");
        assertThat(session.path("role").asText()).isEqualTo("admin");
        String csrf = session.path("csrfToken").asText();
        assertThat(csrf).hasSizeGreaterThan(20);

        String newKey = "{\"name\":\"made-in-a-browser\",\"project\":\"default\",\"role\":\"invoker\"}";
        HttpResponse<String> forged = browser.post(factory.url() + "/api/v1/keys", newKey, null);
        assertThat(forged.statusCode()).as("a change without the CSRF token").isEqualTo(403);
        assertThat(error(forged)).contains("X-CSRF-Token");
        assertThat(browser.post(factory.url() + "/api/v1/keys", newKey, csrf).statusCode()).isEqualTo(201);

        JsonNode signIns = Json.mapper().readTree(factory.get("/api/v1/audit?action=session.signIn&limit=100",
                factory.adminKey()).body()).path("records");
        assertThat(signIns.findValuesAsText("principalName")).contains("alice@example.org (sub alice)");

        String cookie = browser.cookie(Authentication.SESSION_COOKIE);
        HttpResponse<String> out = browser.post(factory.url() + "/auth/logout", "", csrf);
        assertThat(out.statusCode()).isEqualTo(200);
        String endSession = Json.mapper().readTree(out.body()).path("endSessionUrl").asText();
        assertThat(endSession).startsWith(issuer + "/session/end").contains("id_token_hint=");
        String idToken = endSession.replaceAll(".*id_token_hint=([^&]*).*", "$1");
        HttpResponse<String> withIdToken = chat(idToken);
        assertThat(withIdToken.statusCode()).as("an ID token is no credential for the APIs").isEqualTo(401);
        assertThat(error(withIdToken)).contains("ID token");
        assertThat(browser.get(factory.url() + "/auth/session").statusCode()).isEqualTo(401);
        assertThat(browser.cookie(Authentication.SESSION_COOKIE)).as("cleared by the answer").isEmpty();
        assertThat(browser.get(factory.url() + "/api/v1/keys", Authentication.SESSION_COOKIE + "=" + cookie)
                .statusCode()).as("the old cookie").isEqualTo(401);
    }

    @Test
    void aPersonTheRoleMappingDoesNotNameIsRefusedAtSignIn() throws Exception {
        Browser browser = new Browser();
        HttpResponse<String> landed = browser.signIn("carol", "/api/v1/keys");
        assertThat(landed.statusCode()).isEqualTo(403);
        assertThat(error(landed)).contains("auth.oidc.roleMapping", "carol@example.org");
        assertThat(browser.get(factory.url() + "/auth/session").statusCode()).isEqualTo(401);
    }

    @Test
    void aSignInLandsOnlyOnThisFactoryAndItsAnswerIsTakenOnce() throws Exception {
        Browser browser = new Browser();
        browser.stopAtCallback = true;
        HttpResponse<String> callback = browser.signIn("bob", "//elsewhere.example/steal");
        assertThat(callback.uri().getPath()).isEqualTo("/auth/callback");
        HttpResponse<String> answered = browser.get(callback.uri().toString());
        assertThat(answered.statusCode()).isEqualTo(303);
        assertThat(answered.headers().firstValue("Location")).contains("/");
        assertThat(answered.headers().allValues("Set-Cookie")).anySatisfy(c -> assertThat(c)
                .startsWith(Authentication.SESSION_COOKIE + "=").contains("HttpOnly", "SameSite=Lax"));

        HttpResponse<String> replayed = browser.get(callback.uri().toString(), "factory_signin="
                + callback.uri().getQuery().replaceAll(".*state=([^&]*).*", "$1"));
        assertThat(replayed.statusCode()).isEqualTo(400);
        assertThat(error(replayed)).contains("unknown, already answered");
    }

    @Test
    void anAnswerIsTakenOnlyFromTheBrowserThatBeganTheSignIn() throws Exception {
        Browser attacker = new Browser();
        attacker.stopAtCallback = true;
        HttpResponse<String> callback = attacker.signIn("bob", "/");
        // The attacker hands the link to someone else's browser, which did not begin this sign-in.
        HttpResponse<String> victim = new Browser().get(callback.uri().toString());
        assertThat(victim.statusCode()).isEqualTo(400);
        assertThat(error(victim)).contains("not started in this browser");
        assertThat(victim.headers().allValues("Set-Cookie")).noneMatch(c -> c.startsWith(
                Authentication.SESSION_COOKIE + "=") && !c.startsWith(Authentication.SESSION_COOKIE + "=;"));
    }

    @Test
    void badSignInAnswersAreRefusedClearly() throws Exception {
        Browser browser = new Browser();
        HttpResponse<String> denied = browser.get(factory.url()
                + "/auth/callback?error=access_denied&error_description=End-User+aborted+interaction");
        assertThat(denied.statusCode()).isEqualTo(401);
        assertThat(error(denied)).contains("access_denied", "End-User aborted interaction");
        HttpResponse<String> empty = browser.get(factory.url() + "/auth/callback");
        assertThat(empty.statusCode()).isEqualTo(400);
        assertThat(error(empty)).contains("'state' and 'code'");
        HttpResponse<String> unknown = browser.get(factory.url() + "/auth/callback?state=nope&code=nope");
        assertThat(unknown.statusCode()).isEqualTo(400);
        HttpResponse<String> noSession = browser.post(factory.url() + "/auth/logout", "", "x");
        assertThat(noSession.statusCode()).isEqualTo(401);
        HttpResponse<String> unknownCookie = browser.get(factory.url() + "/api/v1/keys", "factory_session=forged");
        assertThat(unknownCookie.statusCode()).isEqualTo(401);
        assertThat(error(unknownCookie)).contains("sign in again");
    }

    /** A browser as far as sign-in goes: cookies kept per host, redirects followed one by one. */
    static final class Browser {
        final HttpClient client = HttpClient.newBuilder()
                .cookieHandler(new java.net.CookieManager(null, java.net.CookiePolicy.ACCEPT_ALL))
                .followRedirects(HttpClient.Redirect.NEVER).build();
        /** Stop at the provider's redirect back to the factory, without following it. */
        boolean stopAtCallback;

        /** A cookie's value, empty when there is none. */
        String cookie(String name) {
            return ((java.net.CookieManager) client.cookieHandler().orElseThrow()).getCookieStore().getCookies()
                    .stream().filter(c -> c.getName().equals(name)).map(java.net.HttpCookie::getValue).findFirst()
                    .orElse("");
        }

        HttpResponse<String> get(String url) throws Exception {
            return client.send(HttpRequest.newBuilder(URI.create(url)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
        }

        HttpResponse<String> get(String url, String cookie) throws Exception {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).header("Cookie", cookie)
                    .GET().build(), HttpResponse.BodyHandlers.ofString());
        }

        HttpResponse<String> post(String url, String json, @org.jspecify.annotations.Nullable String csrf)
                throws Exception {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json));
            if (csrf != null) {
                request.header("X-CSRF-Token", csrf);
            }
            return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        }

        /**
         * Signs {@code user} in from {@code /auth/login?return=…}: through the provider's login page, back to the
         * factory, on to where the sign-in lands; the last answer.
         */
        HttpResponse<String> signIn(String user, String returnTo) throws Exception {
            HttpResponse<String> r = follow(get(factory.url() + "/auth/login?return="
                    + URLEncoder.encode(returnTo, StandardCharsets.UTF_8)));
            assertThat(r.uri().getPath()).as("the provider's login page: %s", r.body()).startsWith("/interaction/");
            HttpResponse<String> submitted = client.send(HttpRequest.newBuilder(r.uri())
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString("prompt=login&login=" + user + "&password=any"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            return follow(submitted);
        }

        private HttpResponse<String> follow(HttpResponse<String> r) throws Exception {
            while (r.statusCode() / 100 == 3) {
                URI next = r.uri().resolve(r.headers().firstValue("Location").orElseThrow());
                if (stopAtCallback && next.getPath().equals("/auth/callback")) {
                    return new Pending(next, r);
                }
                r = get(next.toString());
            }
            return r;
        }
    }

    /** A redirect not followed: its target, as the answer's URI. */
    record Pending(URI uri, HttpResponse<String> from) implements HttpResponse<String> {
        @Override public int statusCode() { return from.statusCode(); }
        @Override public HttpRequest request() { return from.request(); }
        @Override public java.util.Optional<HttpResponse<String>> previousResponse() { return java.util.Optional.of(from); }
        @Override public java.net.http.HttpHeaders headers() { return from.headers(); }
        @Override public String body() { return from.body(); }
        @Override public java.util.Optional<javax.net.ssl.SSLSession> sslSession() { return java.util.Optional.empty(); }
        @Override public java.net.http.HttpClient.Version version() { return from.version(); }
    }

    private static HttpResponse<String> chat(String bearer) {
        return factory.send(factory.request("/v1/chat/completions", bearer)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + MODEL
                        + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2}")));
    }

    private static String error(HttpResponse<String> r) throws Exception {
        return Json.mapper().readTree(r.body()).path("error").path("message").asText();
    }

    private static String token(String client, String resource) throws Exception {
        return token(port, client, resource);
    }

    /** A client-credentials access token from the provider on {@code providerPort}, for {@code resource}. */
    private static String token(int providerPort, String client, String resource) throws Exception {
        String form = "grant_type=client_credentials&scope=api&resource="
                + URLEncoder.encode(resource, StandardCharsets.UTF_8);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + providerPort
                        + "/token"))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString((client + ":" + client
                        + "-secret").getBytes(StandardCharsets.UTF_8)))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("token for %s: %s", client, r.body()).isEqualTo(200);
        return Json.mapper().readTree(r.body()).path("access_token").asText();
    }

    static ECKey key(String id) throws Exception {
        return new ECKeyGenerator(Curve.P_256).keyID(id).algorithm(JWSAlgorithm.ES256).keyUse(KeyUse.SIGNATURE)
                .generate();
    }

    /** The test provider for this test's factory, with its three people: an admin, an invoker and one no rule maps. */
    static Process provider(int providerPort, String providerIssuer, List<ECKey> keys) throws Exception {
        return provider(providerPort, providerIssuer, keys, factory.url(), """
                {"alice": {"email": "alice@example.org", "groups": ["ml-admins", "ml-apps"]},
                 "bob": {"email": "bob@example.org", "groups": ["ml-apps"]},
                 "carol": {"email": "carol@example.org", "groups": ["visitors"]}}""");
    }

    /**
     * The test provider for the factory at {@code factoryUrl}: its console as a confidential client with the code
     * flow, three workload clients (an application, an operator and one no rule maps), and {@code users}.
     */
    static Process provider(int providerPort, String providerIssuer, List<ECKey> keys, String factoryUrl, String users)
            throws Exception {
        StringBuilder jwks = new StringBuilder("[");
        for (ECKey k : keys) {
            jwks.append(jwks.length() > 1 ? "," : "").append(k.toJSONString());
        }
        jwks.append(']');
        String console = """
                {"client_id":"factory-console","client_secret":"factory-console-secret",\
                "grant_types":["authorization_code"],"response_types":["code"],\
                "redirect_uris":["%s/auth/callback"],"post_logout_redirect_uris":["%s/console/"]}"""
                .formatted(factoryUrl, factoryUrl);
        // The command line's public client: the device authorization grant, with refresh tokens.
        String cli = """
                {"client_id":"factory-cli","token_endpoint_auth_method":"none","response_types":[],\
                "grant_types":["urn:ietf:params:oauth:grant-type:device_code","refresh_token"],"redirect_uris":[]}""";
        String clients = """
                [%s, %s, %s, %s, %s]""".formatted(client("app", "ml-apps"), client("ops", "ml-admins"),
                client("stranger", "visitors"), console, cli);
        return NodeClients.start("oidc-provider.mjs", Map.of("OIDC_PORT", String.valueOf(providerPort),
                "OIDC_ISSUER", providerIssuer, "OIDC_KEYS", jwks.toString(), "OIDC_CLIENTS", clients,
                "OIDC_USERS", users, "OIDC_TOKEN_TTL", String.valueOf(TOKEN_TTL)), "oidc-provider listening");
    }

    private static String client(String id, String group) {
        return """
                {"client_id":"%s","client_secret":"%s-secret","grant_types":["client_credentials"],\
                "redirect_uris":[],"response_types":[],"groups":["%s"]}""".formatted(id, id, group);
    }
}
