package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.TestFactory;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpResponse;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.bedrock.BedrockClient;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeAsyncClient;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeClient;

/** The official AWS SDK clients pointed at a test factory, with an access key made through its API. */
final class BedrockSdk {
    private BedrockSdk() {}

    /** An AWS access key of the factory: its key id in the registry and the pair the SDK signs with. */
    record AwsKey(String id, String accessKeyId, String secretAccessKey) {}

    static AwsKey createAwsKey(TestFactory factory, String name) {
        return createAwsKey(factory, name, "invoker");
    }

    static AwsKey createAwsKey(TestFactory factory, String name, String role) {
        HttpResponse<String> created = factory.post("/api/v1/keys", factory.adminKey(),
                "{\"name\": \"" + name + "\", \"aws\": true, \"role\": \"" + role + "\"}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        JsonNode body = json(created);
        return new AwsKey(body.path("id").asText(), body.path("accessKeyId").asText(),
                body.path("secretAccessKey").asText());
    }

    /** A synchronous runtime client that does not retry, so every refusal reaches the test as it came. */
    static BedrockRuntimeClient runtime(TestFactory factory, Region region, String accessKeyId, String secret) {
        return BedrockRuntimeClient.builder()
                .endpointOverride(URI.create(factory.url()))
                .region(region)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKeyId, secret)))
                .httpClient(UrlConnectionHttpClient.create())
                .overrideConfiguration(o -> o.retryStrategy(b -> b.maxAttempts(1)))
                .build();
    }

    /** The control-plane (model management) client, likewise without retries. */
    static BedrockClient control(TestFactory factory, AwsKey key) {
        return BedrockClient.builder()
                .endpointOverride(URI.create(factory.url()))
                .region(Region.US_WEST_2)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(key.accessKeyId(), key.secretAccessKey())))
                .httpClient(UrlConnectionHttpClient.create())
                .overrideConfiguration(o -> o.retryStrategy(b -> b.maxAttempts(1)))
                .build();
    }

    /** The control-plane client as a user builds it: endpoint, region and credentials, the SDK's defaults else. */
    static BedrockClient defaultControl(TestFactory factory, AwsKey key) {
        return BedrockClient.builder()
                .endpointOverride(URI.create(factory.url()))
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(key.accessKeyId(), key.secretAccessKey())))
                .build();
    }

    /**
     * A synchronous runtime client as a user builds it: endpoint, region and credentials, everything else the SDK's
     * defaults (its default HTTP client, its retries).
     */
    static BedrockRuntimeClient defaultRuntime(TestFactory factory, AwsKey key) {
        return BedrockRuntimeClient.builder()
                .endpointOverride(URI.create(factory.url()))
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(key.accessKeyId(), key.secretAccessKey())))
                .build();
    }

    /**
     * The asynchronous client, which the SDK needs for event-stream responses, with its default HTTP client: for this
     * service that is Netty speaking HTTP/2 (cleartext, prior knowledge, against an http:// endpoint).
     */
    static BedrockRuntimeAsyncClient runtimeAsync(TestFactory factory, AwsKey key) {
        return BedrockRuntimeAsyncClient.builder()
                .endpointOverride(URI.create(factory.url()))
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(key.accessKeyId(), key.secretAccessKey())))
                .overrideConfiguration(o -> o.retryStrategy(b -> b.maxAttempts(1)))
                .build();
    }
}
