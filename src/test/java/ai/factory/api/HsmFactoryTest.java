package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.config.Setting;
import ai.factory.security.keys.TestHsm;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A factory whose master key lives in a real SoftHSM2 token, configured as a site would: library, token label, PIN. */
@ServerTest
class HsmFactoryTest {
    @TempDir
    Path home;

    @Test
    void aFactoryWithItsMasterKeyInAnHsmServesEncryptedModelsRotatesAndRestarts() {
        Path module = TestHsm.module();
        Map<Setting, String> settings = Map.of(Setting.KEYS_PROVIDER, "pkcs11",
                Setting.PKCS11_LIBRARY, module.toString(),
                Setting.PKCS11_TOKEN_LABEL, TestHsm.TOKEN_LABEL,
                Setting.PKCS11_PIN, TestHsm.PIN,
                Setting.MASTER_KEY_LABEL, "factory-" + System.nanoTime());
        try (TestFactory factory = TestFactory.start(home, TestFactory.withBuiltin(settings))) {
            String admin = factory.adminKey();
            factory.deployGguf("acme/tiny", TestModels.tinyLlama(), "\"context\": 256");
            assertThat(CustomerKeysApiTest.chat(factory, admin).statusCode()).isEqualTo(200);

            JsonNode status = json(factory.get("/api/v1/encryption", admin));
            assertThat(status.path("master").path("provider").asText()).isEqualTo("pkcs11");
            assertThat(status.path("master").path("location").asText()).contains("token=" + TestHsm.TOKEN_LABEL)
                    .doesNotContain(TestHsm.PIN);
            assertThat(home.resolve("master.p12")).doesNotExist();
            assertThat(home.resolve("master.key")).doesNotExist();

            JsonNode rotated = json(factory.post("/api/v1/encryption/rotate-master", admin, "{\"destroyPrevious\": true}"));
            assertThat(rotated.path("version").asInt()).isEqualTo(2);
            assertThat(rotated.path("destroyedVersions").toString()).isEqualTo("[1]");
            JsonNode report = json(factory.get("/api/v1/sovereignty/report", admin));
            assertThat(report.path("keyProviders").findValuesAsText("kind")).contains("pkcs11");
            assertThat(report.toString()).doesNotContain(TestHsm.PIN);
        }
        try (TestFactory restarted = TestFactory.start(home, TestFactory.withBuiltin(settings))) {
            CustomerKeysApiTest.awaitReady(restarted, json(restarted.get("/api/v1/deployments", restarted.adminKey()))
                    .path("deployments").findValuesAsText("id").stream()
                    .filter(id -> json(restarted.get("/api/v1/deployments/" + id, restarted.adminKey())).path("model")
                            .asText().equals("acme/tiny")).findFirst().orElseThrow());
            assertThat(CustomerKeysApiTest.chat(restarted, restarted.adminKey()).statusCode()).isEqualTo(200);
            assertThat(restarted.post("/v1/embeddings", restarted.adminKey(),
                    "{\"model\": \"builtin/all-minilm-l6-v2\", \"input\": \"x\"}").statusCode()).isEqualTo(200);
        }
        assertThat(Files.exists(home.resolve("master.p12"))).isFalse();
    }
}
