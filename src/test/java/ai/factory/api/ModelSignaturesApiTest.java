package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.cli.FactoryCliTest;
import ai.factory.config.Setting;
import ai.factory.security.tls.Pem;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Signed models on a running factory: under {@code require} a model signed by a trusted key imports, deploys and
 * answers, while an altered copy, an unsigned file, another signer's signature and a truncated bundle are refused at
 * import with nothing registered, and a model whose signer the site stops trusting is refused at its next load;
 * under {@code warn} an unsigned model loads and the failed check is audited. Signing and verifying are the
 * command line's, offline.
 */
@ServerTest
class ModelSignaturesApiTest {
    @TempDir
    Path dir;

    private static KeyPair ecKeys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    /** Writes a key pair's private half to NAME.pem and public half to NAME.pub. */
    private Path[] write(KeyPair keys, String name) throws Exception {
        Path priv = dir.resolve(name + ".pem");
        Path pub = dir.resolve(name + ".pub");
        Files.writeString(priv, Pem.privateKey(keys.getPrivate()));
        Files.writeString(pub, Pem.publicKey(keys.getPublic()));
        return new Path[] {priv, pub};
    }

    /** A copy of the tiny model as {@code FOLDER/tiny.gguf}. */
    private Path copy(String folder) throws Exception {
        Path target = dir.resolve(folder).resolve("tiny.gguf");
        Files.createDirectories(target.getParent());
        Files.copy(TestModels.tinyLlama(), target);
        return target;
    }

    private static HttpResponse<String> importPath(TestFactory factory, String model, Path file) {
        return factory.post("/api/v1/models/" + model + "/versions", factory.adminKey(), "{\"path\": \""
                + file.toAbsolutePath() + "\"}");
    }

    private static List<JsonNode> verifications(TestFactory factory) {
        JsonNode all = json(factory.get("/api/v1/audit?limit=1000&action=model.verifySignature", factory.adminKey()));
        return StreamSupport.stream(all.path("records").spliterator(), false).toList();
    }

    @Test
    void underRequireOnlyWhatATrustedSignerSignedImportsAndLoads() throws Exception {
        Path[] site = write(ecKeys(), "site");
        Path[] stranger = write(ecKeys(), "stranger");
        Path signed = copy("signed");
        FactoryCliTest.Run sign = FactoryCliTest.cli("models", "sign", signed.toString(), "--key", site[0].toString());
        assertThat(sign.exit()).as(sign.err()).isZero();
        assertThat(sign.out()).contains("Signed 1 file(s) of tiny with key sha256:");
        assertThat(FactoryCliTest.cli("models", "verify", signed.toString(), "--public-key", site[1].toString())
                .out()).contains("Verified 1 file(s) of tiny, signed by key sha256:");

        Path home = dir.resolve("home");
        try (TestFactory factory = TestFactory.start(home, Map.of(Setting.SIGNATURE_POLICY, "require",
                Setting.TRUSTED_SIGNERS, site[1].toString()))) {
            HttpResponse<String> ok = importPath(factory, "acme/signed", signed);
            assertThat(ok.statusCode()).as(ok.body()).isEqualTo(201);
            assertThat(json(ok).at("/signature/signer").asText()).startsWith("key sha256:");
            HttpResponse<String> deployed = factory.post("/api/v1/deployments", factory.adminKey(),
                    "{\"model\": \"acme/signed\", \"context\": 256}");
            assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(202);
            String id = json(deployed).path("id").asText();
            await().atMost(Duration.ofMinutes(1)).until(() -> json(factory.get("/api/v1/deployments/" + id,
                    factory.adminKey())).path("state").asText().equals("ready"));
            assertThat(factory.post("/v1/chat/completions", factory.adminKey(), "{\"model\": \"acme/signed\", "
                    + "\"max_tokens\": 3, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}").statusCode())
                    .isEqualTo(200);

            // One byte of the weights changed, the signature copied beside it: refused, naming the file, both
            // digests and the signer.
            Path altered = copy("altered");
            byte[] bytes = Files.readAllBytes(altered);
            bytes[bytes.length - 10] ^= 1;
            Files.write(altered, bytes);
            Files.copy(signed.resolveSibling("tiny.gguf.sig"), altered.resolveSibling("tiny.gguf.sig"));
            HttpResponse<String> refused = importPath(factory, "acme/altered", altered);
            assertThat(refused.statusCode()).isEqualTo(400);
            JsonNode error = json(refused).path("error");
            assertThat(error.path("param").asText()).isEqualTo("signature");
            assertThat(error.path("message").asText()).contains("model acme/altered is refused",
                    "file 'tiny.gguf' has SHA-256 ", "and the signature by key sha256:", "expects ");
            assertThat(factory.get("/api/v1/models/acme/altered", factory.adminKey()).statusCode())
                    .as("nothing registered").isEqualTo(404);
            FactoryCliTest.Run offline = FactoryCliTest.cli("models", "verify", altered.toString(), "--public-key",
                    site[1].toString());
            assertThat(offline.exit()).isEqualTo(1);
            assertThat(offline.err()).contains("refused: file 'tiny.gguf' has SHA-256");

            Path unsigned = copy("unsigned");
            assertThat(json(importPath(factory, "acme/unsigned", unsigned)).at("/error/message").asText())
                    .contains("it has no signature");
            Path foreign = copy("foreign");
            assertThat(FactoryCliTest.cli("models", "sign", foreign.toString(), "--key", stranger[0].toString())
                    .exit()).isZero();
            assertThat(json(importPath(factory, "acme/foreign", foreign)).at("/error/message").asText())
                    .contains("a key the site does not trust");
            Path truncated = copy("truncated");
            byte[] bundle = Files.readAllBytes(signed.resolveSibling("tiny.gguf.sig"));
            Files.write(truncated.resolveSibling("tiny.gguf.sig"), Arrays.copyOf(bundle, bundle.length / 2));
            assertThat(json(importPath(factory, "acme/truncated", truncated)).at("/error/message").asText())
                    .contains("not valid JSON");
            for (String model : List.of("unsigned", "foreign", "truncated")) {
                assertThat(factory.get("/api/v1/models/acme/" + model, factory.adminKey()).statusCode()).isEqualTo(404);
            }

            // Streamed from here with its signature in a header.
            FactoryCliTest.Run upload = FactoryCliTest.cli("models", "import", signed.toString(), "--name",
                    "acme/uploaded", "--upload", "--url", factory.url(), "--key", factory.adminKey());
            assertThat(upload.exit()).as(upload.err()).isZero();
            FactoryCliTest.Run show = FactoryCliTest.cli("models", "show", "acme/uploaded", "--url", factory.url(),
                    "--key", factory.adminKey());
            assertThat(show.out()).contains("signature", "signed by key sha256:");

            // Under require the factory cannot register what a fine-tuning job makes: refused before it trains.
            HttpResponse<String> tune = factory.post("/api/v1/training-jobs", factory.adminKey(), "{\"baseModel\": "
                    + "\"acme/signed\", \"trainingDataset\": \"acme/none\", \"outputModel\": \"acme/tuned\"}");
            assertThat(tune.statusCode()).as(tune.body()).isEqualTo(403);
            assertThat(json(tune).at("/error/message").asText()).contains("cannot yet sign what it makes");
            HttpResponse<String> bundled = factory.post("/api/v1/training-jobs", factory.adminKey(), "{\"baseModel\": "
                    + "\"acme/signed\", \"trainingDataset\": \"acme/none\", \"outputModel\": \"builtin/evil\"}");
            assertThat(bundled.statusCode()).as(bundled.body()).isEqualTo(400);

            JsonNode report = json(factory.get("/api/v1/sovereignty/report", factory.adminKey())).path("modelSignatures");
            assertThat(report.path("policy").asText()).isEqualTo("require");
            assertThat(report.path("signedVersions").asLong()).isEqualTo(2); // acme/signed and acme/uploaded
            assertThat(report.path("unsignedVersions").asLong()).isZero();

            List<JsonNode> audited = verifications(factory);
            assertThat(audited).anySatisfy(r -> assertThat(r.path("outcome").asText()).isEqualTo("success"));
            assertThat(audited).anySatisfy(r -> {
                assertThat(r.path("detail").asText()).contains("at import", "has SHA-256");
                assertThat(r.path("decision").asText()).isEqualTo("deny");
                assertThat(r.path("principalName").asText()).as("who imported it").isNotEqualTo("factory");
            });
        }

        // The site stops trusting the key: the deployment, which loads again at start, is refused before it loads.
        try (TestFactory factory = TestFactory.start(home, Map.of(Setting.SIGNATURE_POLICY, "require",
                Setting.TRUSTED_SIGNERS, stranger[1].toString()))) {
            await().atMost(Duration.ofMinutes(1)).until(() -> json(factory.get("/api/v1/deployments",
                    factory.adminKey())).path("deployments").get(0).path("state").asText().equals("failed"));
            JsonNode failed = json(factory.get("/api/v1/deployments", factory.adminKey())).path("deployments").get(0);
            assertThat(failed.toString()).contains("is not loaded", "does not trust");
            HttpResponse<String> again = factory.post("/api/v1/deployments", factory.adminKey(),
                    "{\"model\": \"acme/uploaded\", \"context\": 256}");
            assertThat(again.statusCode()).isEqualTo(403);
            assertThat(verifications(factory)).anySatisfy(r -> assertThat(r.path("detail").asText())
                    .startsWith("at load").contains("does not trust"));
        }
    }

    @Test
    void underWarnAnUnsignedModelLoadsAndTheFailedCheckIsAudited() throws Exception {
        Path[] site = write(ecKeys(), "site");
        try (TestFactory factory = TestFactory.start(dir.resolve("home"), Map.of(Setting.SIGNATURE_POLICY, "warn",
                Setting.TRUSTED_SIGNERS, site[1].toString()))) {
            Path unsigned = copy("unsigned");
            HttpResponse<String> imported = importPath(factory, "acme/unsigned", unsigned);
            assertThat(imported.statusCode()).as(imported.body()).isEqualTo(201);
            assertThat(json(imported).has("signature")).isFalse();
            factory.deployGguf("acme/second", unsigned, "\"context\": 256");
            assertThat(verifications(factory)).anySatisfy(r -> {
                assertThat(r.path("outcome").asText()).isEqualTo("failure");
                assertThat(r.path("detail").asText()).isEqualTo("at import: unsigned");
            }).anySatisfy(r -> assertThat(r.path("detail").asText()).isEqualTo("at load: unsigned"));
        }
    }
}
