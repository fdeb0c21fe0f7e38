package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The management API reads its bodies into wire records strictly: a field of the wrong JSON type is a 400 in the
 * factory's error shape naming the field, never coerced, and the server keeps serving.
 */
@ServerTest
class AdminBadRequestsApiTest {
    @TempDir
    static Path home;

    static TestFactory factory;

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home);
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    @ParameterizedTest(name = "{0} {1}: {2}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            POST  | /api/v1/projects                   | {"name": 7}                                 | name            | 'name' must be a string, not a number
            POST  | /api/v1/projects                   | {"name": ["x"]}                             | name            | 'name' must be a string, not an array
            POST  | /api/v1/projects                   | {}                                          | name            | 'name' is required
            POST  | /api/v1/keys                       | {"name": "k", "aws": "yes"}                 | aws             | 'aws' must be true or false, not a string
            POST  | /api/v1/keys                       | {"name": "k", "role": 3}                    | role            | 'role' must be a string, not a number
            POST  | /api/v1/keys                       | {"name": {"first": "k"}}                    | name            | 'name' must be a string, not an object
            POST  | /api/v1/deployments                | {"model": "acme/tiny", "replicas": "2"}     | replicas        | 'replicas' must be an integer, not a string
            POST  | /api/v1/deployments                | {"model": "acme/tiny", "context": 1.5}      | context         | 'context' must be an integer
            POST  | /api/v1/deployments                | {"model": "acme/tiny", "gpuLayers": true}   | gpuLayers       | 'gpuLayers' must be an integer, not a boolean
            POST  | /api/v1/deployments                | {"model": "acme/tiny", "gpuLayers": "most"} | gpuLayers       | 'gpuLayers' must be "auto" or a whole number
            POST  | /api/v1/deployments                | {"model": 5}                                | model           | 'model' must be a string, not a number
            POST  | /api/v1/deployments                | {"model": "acme/tiny", "stepTokens": true}  | stepTokens      | 'stepTokens' must be an integer, not a boolean
            POST  | /api/v1/deployments                | {"model": "acme/tiny", "stepTokens": 3.5}   | stepTokens      | 'stepTokens' must be an integer, not a number
            POST  | /api/v1/deployments                | {"model": "acme/tiny", "cacheType": 8}      | cacheType       | 'cacheType' must be a string, not a number
            POST  | /api/v1/deployments                | {"model": "acme/tiny", "prefixCache": true} | prefixCache     | 'prefixCache' must be an integer, not a boolean
            POST  | /api/v1/deployments                | {"model": "acme/tiny", "prefixCache": 1.5}  | prefixCache     | 'prefixCache' must be an integer
            PATCH | /api/v1/models/acme/tiny           | {"classification": false}                   | classification  | 'classification' must be a string, not a boolean
            PATCH | /api/v1/models/acme/tiny           | {}                                          | classification  | 'classification' is required
            PATCH | /api/v1/projects/default           | {"contentLogging": "on"}                    | contentLogging  | 'contentLogging' must be true or false, not a string
            PATCH | /api/v1/projects/default           | {"contentLogging": 1}                       | contentLogging  | 'contentLogging' must be true or false, not a number
            PATCH | /api/v1/projects/default           | {"name": "other"}                           | name            | 'name' can't be changed
            POST  | /api/v1/models/acme/tiny/versions  | {"path": 42}                                | path            | 'path' must be a string, not a number
            POST  | /api/v1/policies                   | {"policy": ["permit"]}                      | policy          | `'policy' is required: the Cedar source as a string`
            POST  | /api/v1/encryption/rotate-master   | {"destroyPrevious": "no"}                   | destroyPrevious | `'destroyPrevious' must be a boolean, not a string`
            """)
    void wrongTypedFieldsAre400NamingTheFieldAndTheServerKeepsServing(String method, String path, String body,
                                                                      String param, String message) {
        HttpResponse<String> r = factory.send(factory.request(path, factory.adminKey())
                .header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(body)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json(r).at("/error/code").asText()).as(r.body()).isNotBlank();
        assertThat(json(r).at("/error/param").asText()).as(r.body()).isEqualTo(param);
        assertThat(json(r).at("/error/message").asText()).as(r.body()).contains(message);
        assertThat(factory.get("/api/v1/projects", factory.adminKey()).statusCode()).isEqualTo(200);
    }
}
