package ai.factory.api.codec.bedrock;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.Json;
import ai.factory.inference.InferenceEvent;
import org.junit.jupiter.api.Test;

/** Converse's usage with Bedrock's prompt-caching meaning: input tokens are those not read from the cache. */
class ConverseUsageTest {
    private static String usage(int prompt, int completion, int cached) throws Exception {
        return Json.mapper().writeValueAsString(ConverseCodec.usage(
                new InferenceEvent.End(InferenceEvent.Finish.STOP, prompt, completion, cached)));
    }

    @Test
    void nothingReadFromTheCacheLeavesTheCacheFieldsOut() throws Exception {
        assertThat(usage(10, 5, 0)).isEqualTo("{\"inputTokens\":10,\"outputTokens\":5,\"totalTokens\":15}");
    }

    @Test
    void tokensReadFromTheCacheAreCountedApartFromTheInputAndInTheTotal() throws Exception {
        assertThat(usage(10, 5, 7))
                .isEqualTo("{\"inputTokens\":3,\"outputTokens\":5,\"totalTokens\":15,\"cacheReadInputTokens\":7}");
    }
}
