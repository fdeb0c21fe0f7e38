package ai.factory.engine.chat;

/**
 * How much one render may produce and do. Chat templates come inside model files, so a render must stay
 * bounded whatever the template says.
 *
 * @param maxOutputChars the longest prompt a render may produce
 * @param maxNodeRenders how many template nodes (text, expressions, tags) and loop iterations one render may
 *     evaluate
 * @param maxRangeItems how many numbers all {@code range()} calls in one render may produce together
 */
record ChatTemplateLimits(int maxOutputChars, long maxNodeRenders, long maxRangeItems) {
    /**
     * Each unit of node or range budget costs Jinjava about a microsecond, so a hostile template gets well under a
     * second; a thousand-message conversation through gpt-oss's template uses about a tenth of the node budget.
     */
    static final ChatTemplateLimits DEFAULT = new ChatTemplateLimits(1 << 20, 500_000, 100_000);

    ChatTemplateLimits {
        if (maxOutputChars <= 0 || maxNodeRenders <= 0 || maxRangeItems <= 0) {
            throw new IllegalArgumentException("limits must be positive");
        }
    }
}
