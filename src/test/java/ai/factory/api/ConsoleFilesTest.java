package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The console's files as the factory serves them, without a browser: which names reach a file (never one outside the
 * console's folder), and the answers' content security policy, types and caching.
 */
@ServerTest
class ConsoleFilesTest {
    @TempDir
    Path home;

    @Test
    void onlyNamesInsideTheConsolesFolderReachAFile() {
        assertThat(ConsoleFiles.file("/")).isEqualTo("index.html");
        assertThat(ConsoleFiles.file("/models")).isEqualTo("index.html");
        assertThat(ConsoleFiles.file("/assets/index-DRMvN_o_.js")).isEqualTo("assets/index-DRMvN_o_.js");
        for (String bad : List.of("/../application.properties", "/assets/../../ai/factory/security/x.cedar",
                "/..", "/assets/..%2f..%2fx.js", "/%2e%2e/x.js", "/.hidden.js", "/assets//x.js", "/a\\b.js",
                "/assets/x.js\u0000.png", "/C:/x.js")) {
            assertThat(ConsoleFiles.file(bad)).as(bad).isNull();
        }
    }

    @Test
    void theConsoleIsServedWithAPolicyThatLetsItReachNothingButThisFactory() {
        try (TestFactory factory = TestFactory.start(home)) {
            HttpResponse<String> page = factory.send(factory.request("/console/", null).GET());
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.headers().firstValue("Content-Security-Policy").orElseThrow()).contains(
                    "default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'");
            assertThat(page.headers().firstValue("Cache-Control")).hasValue("no-cache");
            assertThat(page.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
            assertThat(page.body()).contains("<div id=\"app\">").doesNotContain("<script>");
            String asset = page.body().replaceAll("(?s).*src=\"(/console/assets/[^\"]+\\.js)\".*", "$1");
            HttpResponse<String> script = factory.send(factory.request(asset, null).GET());
            assertThat(script.statusCode()).isEqualTo(200);
            assertThat(script.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/javascript");
            assertThat(script.headers().firstValue("Cache-Control").orElseThrow()).contains("immutable");
            assertThat(factory.send(factory.request("/console/models", null).GET()).body())
                    .contains("<div id=\"app\">");
            HttpResponse<String> bare = factory.send(factory.request("/console", null).GET());
            assertThat(bare.statusCode()).isEqualTo(301);
            assertThat(bare.headers().firstValue("Location")).hasValue("/console/");
            HttpResponse<String> none = factory.send(factory.request("/console/assets/none.js", null).GET());
            assertThat(none.statusCode()).isEqualTo(404);
            assertThat(none.body()).contains("no such file of the console");
        }
    }
}
