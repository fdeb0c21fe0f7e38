package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.config.Setting;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The web console as people use it: Debian's Chromium, driven by Playwright ({@code src/test/node/console-e2e.mjs}),
 * against this factory and the test OpenID provider. People sign in through the provider (an admin, an invoker, an
 * auditor) or with a key; the admin uploads and deploys the tiny model, chats in the playground and sees the tokens
 * stream, creates and revokes a key; the invoker sees no admin page and is told why; the auditor sees the audit trail
 * verify; every page is checked with axe-core for serious accessibility violations, at 1280 px and a phone's width.
 *
 * <p>Without Chromium the test is skipped, unless {@code FACTORY_TEST_REQUIRE_CHROMIUM=true} (as under CI, whose
 * {@code .ci/run} installs Debian's chromium), which fails it. {@code -Dfactory.console.screenshots=docs/console}
 * keeps a screenshot of each page there.
 */
@ServerTest
class ConsoleTest {
    private static final Path CHROMIUM = Path.of(System.getenv().getOrDefault("FACTORY_TEST_CHROMIUM",
            "/usr/bin/chromium"));

    @TempDir
    static Path home;

    static TestFactory factory;
    static Process provider;

    @BeforeAll
    static void start() throws Exception {
        if (!Files.isExecutable(CHROMIUM)) {
            if (Boolean.parseBoolean(System.getenv("FACTORY_TEST_REQUIRE_CHROMIUM"))) {
                fail(CHROMIUM + " is not installed (FACTORY_TEST_REQUIRE_CHROMIUM=true; install Debian's chromium)");
            }
            assumeTrue(false, CHROMIUM + " is not installed");
        }
        assumeTrue(NodeClients.available() || "true".equals(System.getenv("CI")), "node and npm are not installed");
        int port = TestCluster.freePort();
        String issuer = "http://127.0.0.1:" + port;
        // The site's signing key, which an admin signs a model version with from the console.
        java.security.KeyPairGenerator ec = java.security.KeyPairGenerator.getInstance("EC");
        ec.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
        Path signingKey = home.resolveSibling(home.getFileName() + "-site-signer.pem");
        Files.writeString(signingKey, ai.factory.security.tls.Pem.privateKey(ec.generateKeyPair().getPrivate()));
        factory = TestFactory.start(home, Map.of(
                Setting.SIGNING_KEY, signingKey.toString(),
                Setting.OIDC_ISSUER, issuer,
                Setting.OIDC_AUDIENCE, "urn:factory",
                Setting.OIDC_ROLE_MAPPING, "groups=ml-admins:default:admin, groups=ml-apps:default:invoker, "
                        + "groups=auditors:default:auditor",
                Setting.OIDC_CLIENT_ID, "factory-console",
                Setting.OIDC_CLIENT_SECRET, "factory-console-secret",
                Setting.OIDC_CLI_CLIENT_ID, "factory-cli",
                Setting.EGRESS_ALLOW, "127.0.0.1:" + port));
        provider = OidcApiTest.provider(port, issuer, List.of(OidcApiTest.key("console")), factory.url(), """
                {"alice": {"email": "alice@example.org", "groups": ["ml-admins"]},
                 "bob": {"email": "bob@example.org", "groups": ["ml-apps"]},
                 "dana": {"email": "dana@example.org", "groups": ["auditors"]}}""");
    }

    @AfterAll
    static void stop() {
        if (provider != null) {
            provider.destroyForcibly();
        }
        TestFactory.closeAll(factory);
    }

    @Test
    void peopleUseTheConsoleThroughTheirBrowser() throws Exception {
        Map<String, String> env = new HashMap<>(Map.of("FACTORY_URL", factory.url(), "ADMIN_KEY", factory.adminKey(),
                "MODEL_FILE", TestModels.tinyLlama().toString(), "CHROMIUM", CHROMIUM.toString()));
        String screenshots = System.getProperty("factory.console.screenshots");
        if (screenshots != null) {
            env.put("SCREENSHOTS", Path.of(screenshots).toAbsolutePath().toString());
        }
        ClientProcess.Result run = NodeClients.node("console-e2e.mjs", env);
        List<String> lines = run.out().lines().filter(l -> l.startsWith("ok ") || l.startsWith("FAIL ")).toList();
        assertThat(lines).as("%s%n%s", run.out(), run.err()).hasSize(12).allMatch(l -> l.startsWith("ok "));
        assertThat(run.exit()).as(run.err()).isZero();
        // The deployment made in the browser counts the tokens its playground chat generated (48 asked for).
        com.fasterxml.jackson.databind.JsonNode deployments = ai.factory.Json.mapper().readTree(
                factory.get("/api/v1/deployments", factory.adminKey()).body()).path("deployments");
        assertThat(deployments.findValues("generatedTokens").stream().mapToLong(
                com.fasterxml.jackson.databind.JsonNode::asLong).sum()).isGreaterThanOrEqualTo(48);
    }

    /**
     * {@code factory login}: the command line shows a page and a code, the person confirms it in a browser, and the
     * commands then act as that person (refused what their role may not do), renew the sign-in when its token has
     * ended, and go back to keys after {@code factory logout}.
     */
    @Test
    void aPersonSignsTheCommandLineInWithTheDeviceFlow() throws Exception {
        Map<String, String> env = Map.of("XDG_CONFIG_HOME", home.resolve("config").toString(), "FACTORY_HOME",
                home.resolve("nowhere").toString());
        TestCluster.Started login = TestCluster.process(List.of("login", "--url", factory.url()), env,
                "and confirm the code");
        String page = login.output().get(login.output().size() - 2).strip();
        assertThat(page).startsWith("http://127.0.0.1:").contains("/device");
        ClientProcess.Result approve = NodeClients.node("device-approve.mjs", Map.of("DEVICE_URL", page, "LOGIN", "bob",
                "CHROMIUM", CHROMIUM.toString()));
        assertThat(approve.out()).as(approve.err()).contains("approved");
        assertThat(login.process().waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(login.process().exitValue()).isZero();

        ai.factory.cli.FactoryCliTest.Run models = cli(env, "models", "list", "--url", factory.url());
        assertThat(models.exit()).as(models.err()).isZero();
        ai.factory.cli.FactoryCliTest.Run keys = cli(env, "keys", "list", "--url", factory.url());
        assertThat(keys.exit()).as("an invoker may not list keys").isNotZero();
        assertThat(keys.err()).contains(
                "'bob@example.org (sub bob)' (role invoker, project default) may not readKeys");
        Path logins = home.resolve("config").resolve("sovereign-ai-factory").resolve("logins.json");
        assertThat(java.nio.file.Files.getPosixFilePermissions(logins))
                .containsExactlyInAnyOrder(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                        java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);

        // A token that has ended is renewed with the refresh token before the next command.
        com.fasterxml.jackson.databind.node.ObjectNode kept = (com.fasterxml.jackson.databind.node.ObjectNode)
                ai.factory.Json.mapper().readTree(java.nio.file.Files.readString(logins));
        com.fasterxml.jackson.databind.node.ObjectNode entry = (com.fasterxml.jackson.databind.node.ObjectNode)
                kept.path(factory.url());
        String before = entry.path("accessToken").asText();
        assertThat(entry.path("refreshToken").asText()).isNotEmpty();
        entry.put("expiresAt", "2020-01-01T00:00:00Z");
        java.nio.file.Files.writeString(logins, kept.toString());
        // Two commands at once find it ended: one renews it (the provider rotates the refresh token, and would
        // revoke the grant were the old one spent twice), the other waits for the lock and takes the new token.
        List<java.util.concurrent.Future<ai.factory.cli.FactoryCliTest.Run>> both = new java.util.ArrayList<>();
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 2; i++) {
                both.add(pool.submit(() -> cli(env, "models", "list", "--url", factory.url())));
            }
        }
        for (var run : both) {
            assertThat(run.get().exit()).as(run.get().err()).isZero();
        }
        String after = ai.factory.Json.mapper().readTree(java.nio.file.Files.readString(logins)).path(factory.url())
                .path("accessToken").asText();
        assertThat(after).isNotEqualTo(before);

        ai.factory.cli.FactoryCliTest.Run logout = cli(env, "logout", "--url", factory.url());
        assertThat(logout.out()).contains("Signed out of " + factory.url(), "the identity provider revoked");
        ai.factory.cli.FactoryCliTest.Run without = cli(env, "models", "list", "--url", factory.url());
        assertThat(without.exit()).isNotZero();
        assertThat(without.err()).contains("no API key");
    }

    /** The command line in a process of its own, with {@code env} (its own configuration folder). */
    private static ai.factory.cli.FactoryCliTest.Run cli(Map<String, String> env, String... args) throws Exception {
        return ai.factory.cli.FactoryCliTest.cliProcess(env, args);
    }
}
