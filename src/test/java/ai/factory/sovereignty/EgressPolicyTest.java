package ai.factory.sovereignty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.config.EgressPolicy;
import org.junit.jupiter.api.Test;

class EgressPolicyTest {
    @Test
    void emptyRefusesEverythingLoopbackIncluded() {
        EgressPolicy none = EgressPolicy.parse("");
        assertThat(none.rules()).isEmpty();
        assertThat(none.allows("127.0.0.1", 80)).isFalse();
        assertThat(none.allows("localhost", 8080)).isFalse();
        assertThat(none.allows("example.com", 443)).isFalse();
        assertThat(EgressPolicy.parse(" , ").rules()).isEmpty();
    }

    @Test
    void hostsPortsAndWildcardsMatchAsWritten() {
        EgressPolicy p = EgressPolicy.parse("models.example.com:443, *.corp.internal, 10.0.0.5:*, [::1]:9000");
        assertThat(p.allows("models.example.com", 443)).isTrue();
        assertThat(p.allows("MODELS.example.com", 443)).isTrue();
        assertThat(p.allows("models.example.com", 80)).isFalse();
        assertThat(p.allows("evil.example.com", 443)).isFalse();
        assertThat(p.allows("a.b.corp.internal", 1234)).isTrue();
        assertThat(p.allows("corp.internal", 1234)).isFalse();
        assertThat(p.allows("notcorp.internal", 1234)).isFalse();
        assertThat(p.allows("10.0.0.5", 22)).isTrue();
        assertThat(p.allows("10.0.0.50", 22)).isFalse();
        assertThat(p.allows("::1", 9000)).isTrue();
        assertThat(p.allows("[::1]", 9001)).isFalse();
        assertThat(p).hasToString("models.example.com:443,*.corp.internal,10.0.0.5,[::1]:9000");
        assertThat(EgressPolicy.parse("*").allows("anything.at.all", 1)).isTrue();
    }

    @Test
    void badPatternsAreRefusedWithTheirText() {
        assertThatThrownBy(() -> EgressPolicy.parse("example.com:http")).hasMessageContaining("'example.com:http'")
                .hasMessageContaining("bad port");
        assertThatThrownBy(() -> EgressPolicy.parse("example.com:70000")).hasMessageContaining("bad port");
        assertThatThrownBy(() -> EgressPolicy.parse("http://example.com")).hasMessageContaining("not a host[:port]");
        assertThatThrownBy(() -> EgressPolicy.parse("exa mple.com")).hasMessageContaining("not a host[:port]");
        assertThatThrownBy(() -> EgressPolicy.parse("foo.*.com")).hasMessageContaining("not a host[:port]");
    }
}
