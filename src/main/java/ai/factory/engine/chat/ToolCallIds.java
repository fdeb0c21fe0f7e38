package ai.factory.engine.chat;

import java.util.random.RandomGenerator;

/** Ids for calls whose format carries none. They need to be unique within a conversation, not secret. */
final class ToolCallIds {
    private static final String ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private ToolCallIds() {}

    /** {@code call_} and 24 letters or digits, as OpenAI's ids look. */
    static String openAi(RandomGenerator random) {
        return "call_" + alphanumeric(random, 24);
    }

    static String alphanumeric(RandomGenerator random, int length) {
        StringBuilder id = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            id.append(ALPHANUMERIC.charAt(random.nextInt(ALPHANUMERIC.length())));
        }
        return id.toString();
    }
}
