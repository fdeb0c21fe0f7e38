package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Serving clear text to the network is warned about; loopback, or TLS, is not. */
class PlainTextWarningTest {
    @Test
    void warnsWhenTheNetworkCanReachAClearTextPort() {
        assertThat(ApiServer.plainTextWarning("0.0.0.0", false)).hasValueSatisfying(w -> assertThat(w)
                .contains("server.host 0.0.0.0", "clear text", "API keys", "prompts", "server.tls.enabled",
                        "TLS terminator", "docs/tls.md"));
        assertThat(ApiServer.plainTextWarning("::", false)).isPresent();
        assertThat(ApiServer.plainTextWarning("[::]", false)).isPresent();
        assertThat(ApiServer.plainTextWarning("192.0.2.10", false)).isPresent();
    }

    @Test
    void staysQuietOnLoopbackOrWithTls() {
        assertThat(ApiServer.plainTextWarning("127.0.0.1", false)).isEmpty();
        assertThat(ApiServer.plainTextWarning("127.0.0.2", false)).isEmpty();
        assertThat(ApiServer.plainTextWarning("::1", false)).isEmpty();
        assertThat(ApiServer.plainTextWarning("[::1]", false)).isEmpty();
        assertThat(ApiServer.plainTextWarning("localhost", false)).isEmpty();
        assertThat(ApiServer.plainTextWarning("0.0.0.0", true)).isEmpty();
    }
}
