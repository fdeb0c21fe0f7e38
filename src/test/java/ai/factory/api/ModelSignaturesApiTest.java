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
        Path[] site = TestSigners.write(dir, "site");
        Path[] stranger = TestSigners.write(dir, "stranger");
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

            // Under require, with no site key, the factory cannot register what a fine-tuning job makes: refused
            // before it trains.
            HttpResponse<String> tune = factory.post("/api/v1/training-jobs", factory.adminKey(), "{\"baseModel\": "
                    + "\"acme/signed\", \"trainingDataset\": \"acme/none\", \"outputModel\": \"acme/tuned\"}");
            assertThat(tune.statusCode()).as(tune.body()).isEqualTo(403);
            assertThat(json(tune).at("/error/message").asText()).contains("has no signing key");
            HttpResponse<String> noKey = factory.post("/api/v1/models/acme/signed/versions/1/signature",
                    factory.adminKey(), "{}");
            assertThat(noKey.statusCode()).as(noKey.body()).isEqualTo(409);
            assertThat(json(noKey).at("/error/message").asText()).contains("the site has no signing key");
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
    void theSiteKeySignsWhatTheFactoryMakesAndRegisteredVersionsTakeSignaturesMadeElsewhere() throws Exception {
        Path[] vendor = TestSigners.write(dir, "vendor");
        Path[] siteKey = TestSigners.write(dir, "site");
        Path[] stranger = TestSigners.write(dir, "stranger");
        Path base = copy("base");
        assertThat(FactoryCliTest.cli("models", "sign", base.toString(), "--key", vendor[0].toString()).exit())
                .isZero();
        try (TestFactory factory = TestFactory.start(dir.resolve("home"), Map.of(Setting.SIGNATURE_POLICY,
                "require", Setting.TRUSTED_SIGNERS, vendor[1].toString(), Setting.SIGNING_KEY,
                siteKey[0].toString()))) {
            assertThat(importPath(factory, "acme/base", base).statusCode()).isEqualTo(201);
            String siteHint = "key sha256:" + ai.factory.security.signing.ModelSigning.hint(Pem.publicKeysAndCertificates(
                    siteKey[1], "site").stream().map(java.security.PublicKey.class::cast).findFirst().orElseThrow());

            // A fine-tuned model is signed with the site's key as it is registered, so it trains under require; it is
            // classified as its base.
            assertThat(factory.send(factory.request("/api/v1/models/acme/base", factory.adminKey()).method("PATCH",
                    java.net.http.HttpRequest.BodyPublishers.ofString("{\"classification\": \"restricted\"}")))
                    .statusCode()).isEqualTo(200);
            HttpResponse<String> corpus = factory.send(factory.request("/api/v1/datasets/acme/capitals",
                    factory.adminKey()).PUT(java.net.http.HttpRequest.BodyPublishers.ofString(
                    TrainingJobsApiTest.corpus())));
            assertThat(corpus.statusCode()).as(corpus.body()).isEqualTo(201);
            HttpResponse<String> tune = factory.post("/api/v1/training-jobs", factory.adminKey(), "{\"baseModel\": "
                    + "\"acme/base\", \"trainingDataset\": \"acme/capitals\", \"outputModel\": \"acme/tuned\", "
                    + "\"hyperparameters\": {\"epochCount\": \"1\", \"contextLength\": 256}}");
            assertThat(tune.statusCode()).as(tune.body()).isEqualTo(201);
            String job = json(tune).path("id").asText();
            await().atMost(Duration.ofMinutes(3)).until(() -> json(factory.get("/api/v1/training-jobs/" + job,
                    factory.adminKey())).path("status").asText().matches("completed|failed"));
            JsonNode tuned = json(factory.get("/api/v1/models/acme/tuned/versions/1", factory.adminKey()));
            assertThat(tuned.at("/signature/signer").asText()).as(tuned.toString()).isEqualTo(siteHint);
            assertThat(json(factory.get("/api/v1/models/acme/tuned", factory.adminKey())).path("classification")
                    .asText()).isEqualTo("restricted");

            // The site's key signs a registered version where it lies; the bundle verifies offline against the file.
            Path bundle = dir.resolve("base.site.sig");
            FactoryCliTest.Run signed = FactoryCliTest.cli("models", "sign", "acme/base", "--out", bundle.toString(),
                    "--url", factory.url(), "--api-key", factory.adminKey());
            assertThat(signed.exit()).as(signed.err()).isZero();
            assertThat(signed.out()).contains("Signed acme/base:1: " + siteHint);
            FactoryCliTest.Run offline = FactoryCliTest.cli("models", "verify", base.toString(), "--bundle",
                    bundle.toString(), "--public-key", siteKey[1].toString());
            assertThat(offline.exit()).as(offline.err()).isZero();

            // A key held here signs the digests the registry shows; the factory takes it only from a trusted signer.
            FactoryCliTest.Run byVendor = FactoryCliTest.cli("models", "sign", "acme/base:1", "--key",
                    vendor[0].toString(), "--url", factory.url(), "--api-key", factory.adminKey());
            assertThat(byVendor.exit()).as(byVendor.err()).isZero();
            String vendorSigner = json(factory.get("/api/v1/models/acme/base/versions/1", factory.adminKey()))
                    .at("/signature/signer").asText();
            assertThat(vendorSigner).isNotEqualTo(siteHint).startsWith("key sha256:");
            FactoryCliTest.Run byStranger = FactoryCliTest.cli("models", "sign", "acme/base", "--key",
                    stranger[0].toString(), "--url", factory.url(), "--api-key", factory.adminKey());
            assertThat(byStranger.exit()).isNotZero();
            assertThat(byStranger.err()).contains("a key the site does not trust");
            // A bundle over other digests (another file's) is refused, and the version keeps its signature.
            Path other = copy("other");
            byte[] weights = Files.readAllBytes(other);
            weights[weights.length - 3] ^= 1;
            Files.write(other, weights);
            assertThat(FactoryCliTest.cli("models", "sign", other.toString(), "--key", vendor[0].toString()).exit())
                    .isZero();
            HttpResponse<String> wrong = factory.post("/api/v1/models/acme/base/versions/1/signature",
                    factory.adminKey(), "{\"bundle\": " + Files.readString(other.resolveSibling("tiny.gguf.sig")) + "}");
            assertThat(wrong.statusCode()).as(wrong.body()).isEqualTo(400);
            assertThat(json(wrong).at("/error/message").asText()).contains("has SHA-256", "expects");
            HttpResponse<String> notABundle = factory.post("/api/v1/models/acme/base/versions/1/signature",
                    factory.adminKey(), "{\"bundle\": {\"mediaType\": 7}}");
            assertThat(notABundle.statusCode()).as(notABundle.body()).isEqualTo(400);
            assertThat(json(factory.get("/api/v1/models/acme/base/versions/1", factory.adminKey()))
                    .at("/signature/signer").asText()).as("kept").isEqualTo(vendorSigner);
            String developer = factory.createKey("dev", "default", "developer");
            assertThat(factory.post("/api/v1/models/acme/base/versions/1/signature", developer, "{}").statusCode())
                    .as("only admins sign for the site").isEqualTo(403);
            assertThat(factory.get("/api/v1/models/acme/base/versions/1/signature", factory.adminKey()).body())
                    .contains("dsseEnvelope");
            assertThat(verifications(factory)).anySatisfy(r -> assertThat(r.path("detail").asText())
                    .isEqualTo("at signing: signed by " + siteHint))
                    .anySatisfy(r -> assertThat(r.path("detail").asText()).startsWith("at signing:")
                            .contains("does not trust"));
        }
    }

    @Test
    void aProjectOrAClassificationReplacesTheSitesPolicy() throws Exception {
        Path[] vendor = TestSigners.write(dir, "vendor");
        Path[] own = TestSigners.write(dir, "own");
        Path unsigned = copy("unsigned");
        try (TestFactory factory = TestFactory.start(dir.resolve("home"), Map.of(Setting.SIGNATURE_POLICY, "warn",
                Setting.TRUSTED_SIGNERS, vendor[1].toString(), Setting.SIGNATURE_POLICY_BY_CLASSIFICATION,
                "restricted=require", Setting.TRUSTED_SIGNERS_BY_CLASSIFICATION, "restricted=" + own[1]))) {
            String key = factory.adminKey();
            assertThat(factory.post("/api/v1/projects", key, "{\"name\": \"secure\"}").statusCode()).isEqualTo(201);
            FactoryCliTest.Run set = FactoryCliTest.cli("projects", "set", "secure", "--signature-policy", "require",
                    "--url", factory.url(), "--key", key);
            assertThat(set.exit()).as(set.err()).isZero();
            assertThat(set.out()).contains("its model-signature policy is require");
            for (String bad : List.of("{\"signaturePolicy\": \"sometimes\"}", "{\"signaturePolicy\": 3}", "{}",
                    "{\"signingPolicy\": \"off\"}")) {
                HttpResponse<String> refused = factory.send(factory.request("/api/v1/projects/secure", key)
                        .method("PATCH", java.net.http.HttpRequest.BodyPublishers.ofString(bad)));
                assertThat(refused.statusCode()).as(bad + ": " + refused.body()).isEqualTo(400);
            }
            assertThat(json(factory.get("/api/v1/projects/secure", key)).path("signaturePolicy").asText())
                    .isEqualTo("require");

            HttpResponse<String> inSecure = factory.post("/api/v1/models/secure/unsigned/versions", key,
                    "{\"path\": \"" + unsigned + "\", \"project\": \"secure\"}");
            assertThat(inSecure.statusCode()).as(inSecure.body()).isEqualTo(400);
            assertThat(json(inSecure).at("/error/message").asText()).contains("no signature", "policy is require");
            assertThat(factory.post("/api/v1/models/acme/unsigned/versions", key, "{\"path\": \"" + unsigned
                    + "\"}").statusCode()).as("the site's warn, elsewhere").isEqualTo(201);
            HttpResponse<String> restricted = factory.post("/api/v1/models/acme/restricted/versions", key,
                    "{\"path\": \"" + unsigned + "\", \"classification\": \"restricted\"}");
            assertThat(restricted.statusCode()).as(restricted.body()).isEqualTo(400);
            // A classification with rules of its own is chosen by those who may classify, not by any importer.
            String developer = factory.createKey("dev", "default", "developer");
            HttpResponse<String> chosen = factory.send(factory.request("/api/v1/models/acme/chosen/versions?"
                    + "classification=restricted&filename=tiny.gguf", developer).PUT(
                    java.net.http.HttpRequest.BodyPublishers.ofFile(unsigned)));
            assertThat(chosen.statusCode()).as(chosen.body()).isEqualTo(403);

            // Classified restricted after it was imported: refused at its next load.
            assertThat(factory.send(factory.request("/api/v1/models/acme/unsigned", key).method("PATCH",
                    java.net.http.HttpRequest.BodyPublishers.ofString("{\"classification\": \"restricted\"}")))
                    .statusCode()).isEqualTo(200);
            HttpResponse<String> deploy = factory.post("/api/v1/deployments", key,
                    "{\"model\": \"acme/unsigned\", \"context\": 256}");
            assertThat(deploy.statusCode()).as(deploy.body()).isEqualTo(403);

            JsonNode report = json(factory.get("/api/v1/sovereignty/report", key)).path("modelSignatures");
            assertThat(report.path("projectPolicies").path("secure").asText()).isEqualTo("require");
            assertThat(report.path("classificationPolicies").path("restricted").asText()).startsWith("require")
                    .contains("trusting its own signers (1 key(s)");

            // The project trusts its own signer in place of the site's: the vendor's signature no longer does there.
            Path byVendor = copy("by-vendor");
            assertThat(FactoryCliTest.cli("models", "sign", byVendor.toString(), "--key", vendor[0].toString())
                    .exit()).isZero();
            Path byOwn = copy("by-own");
            assertThat(FactoryCliTest.cli("models", "sign", byOwn.toString(), "--key", own[0].toString()).exit())
                    .isZero();
            FactoryCliTest.Run signers = FactoryCliTest.cli("projects", "set", "secure", "--trusted-signers",
                    own[1].toString(), "--url", factory.url(), "--key", key);
            assertThat(signers.exit()).as(signers.err()).isZero();
            assertThat(signers.out()).contains("trusting its own signers (1 key(s)");
            HttpResponse<String> vendorThere = factory.post("/api/v1/models/secure/vendor/versions", key,
                    "{\"path\": \"" + byVendor + "\", \"project\": \"secure\"}");
            assertThat(vendorThere.statusCode()).as(vendorThere.body()).isEqualTo(400);
            assertThat(json(vendorThere).at("/error/message").asText()).contains("a key the site does not trust");
            assertThat(factory.post("/api/v1/models/secure/own/versions", key, "{\"path\": \"" + byOwn
                    + "\", \"project\": \"secure\"}").statusCode()).isEqualTo(201);
            HttpResponse<String> notPem = factory.send(factory.request("/api/v1/projects/secure", key).method("PATCH",
                    java.net.http.HttpRequest.BodyPublishers.ofString("{\"trustedSigners\": \"not PEM\"}")));
            assertThat(notPem.statusCode()).as(notPem.body()).isEqualTo(400);
            assertThat(json(notPem).at("/error/param").asText()).isEqualTo("trustedSigners");
            assertThat(json(factory.get("/api/v1/sovereignty/report", key)).at("/modelSignatures/projectPolicies/secure")
                    .asText()).contains("require", "trusting its own signers");
            assertThat(FactoryCliTest.cli("projects", "set", "secure", "--trusted-signers", "site", "--url",
                    factory.url(), "--key", key).exit()).isZero();
            // So does the restricted classification, from the site's configuration, in every project.
            HttpResponse<String> vendorRestricted = factory.post("/api/v1/models/acme/vendor-restricted/versions", key,
                    "{\"path\": \"" + byVendor + "\", \"classification\": \"restricted\"}");
            assertThat(vendorRestricted.statusCode()).as(vendorRestricted.body()).isEqualTo(400);
            assertThat(factory.post("/api/v1/models/acme/own-restricted/versions", key, "{\"path\": \"" + byOwn
                    + "\", \"classification\": \"restricted\"}").statusCode()).isEqualTo(201);

            // Back to the site's: the project's models are warned about, and imported.
            HttpResponse<String> site = factory.send(factory.request("/api/v1/projects/secure", key).method("PATCH",
                    java.net.http.HttpRequest.BodyPublishers.ofString("{\"signaturePolicy\": \"site\"}")));
            assertThat(site.statusCode()).as(site.body()).isEqualTo(200);
            assertThat(json(site).has("signaturePolicy")).isFalse();
            assertThat(factory.post("/api/v1/models/secure/unsigned/versions", key, "{\"path\": \"" + unsigned
                    + "\", \"project\": \"secure\"}").statusCode()).isEqualTo(201);
        }
    }

    @Test
    void underWarnAnUnsignedModelLoadsAndTheFailedCheckIsAudited() throws Exception {
        Path[] site = TestSigners.write(dir, "site");
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
