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
        factory = TestFactory.start(home, Map.of(
                Setting.OIDC_ISSUER, issuer,
                Setting.OIDC_AUDIENCE, "urn:factory",
                Setting.OIDC_ROLE_MAPPING, "groups=ml-admins:default:admin, groups=ml-apps:default:invoker, "
                        + "groups=auditors:default:auditor",
                Setting.OIDC_CLIENT_ID, "factory-console",
                Setting.OIDC_CLIENT_SECRET, "factory-console-secret",
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
        assertThat(lines).as("%s%n%s", run.out(), run.err()).hasSize(11).allMatch(l -> l.startsWith("ok "));
        assertThat(run.exit()).as(run.err()).isZero();
    }

    @Test
    void theConsoleIsServedWithAPolicyThatLetsItReachNothingButThisFactory() throws Exception {
        HttpResponse<String> page = factory.send(factory.request("/console/", null).GET());
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Security-Policy").orElseThrow())
                .contains("default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'");
        assertThat(page.headers().firstValue("Cache-Control")).hasValue("no-cache");
        assertThat(page.body()).contains("<div id=\"app\">").doesNotContain("<script>");
        String asset = page.body().replaceAll("(?s).*src=\"(/console/assets/[^\"]+\\.js)\".*", "$1");
        HttpResponse<String> script = factory.send(factory.request(asset, null).GET());
        assertThat(script.statusCode()).isEqualTo(200);
        assertThat(script.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/javascript");
        assertThat(script.headers().firstValue("Cache-Control").orElseThrow()).contains("immutable");
        // A page of the console that is not a file is the console; the bare path goes to it.
        assertThat(factory.send(factory.request("/console/models", null).GET()).body()).contains("<div id=\"app\">");
        HttpResponse<String> bare = factory.send(factory.request("/console", null).GET());
        assertThat(bare.statusCode()).isEqualTo(301);
        assertThat(bare.headers().firstValue("Location")).hasValue("/console/");
        // Nothing outside the console's files, and no file that is not there.
        for (String bad : List.of("/console/../api/v1/keys", "/console/assets/..%2f..%2fapplication.properties",
                "/console/assets/none.js", "/console/%2e%2e/x.js")) {
            HttpResponse<String> r = factory.send(factory.request(bad, null).GET());
            assertThat(r.statusCode()).as(bad).isIn(400, 401, 404);
            assertThat(r.body()).as(bad).doesNotContain("secret");
        }
    }
}
