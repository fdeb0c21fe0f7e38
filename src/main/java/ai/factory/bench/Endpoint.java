package ai.factory.bench;

/** The OpenAI API a benchmark calls. */
public enum Endpoint {
    /** {@code /completions} with prompts of token ids: exact prompt lengths. */
    COMPLETIONS("/completions"),
    /** {@code /chat/completions} with text prompts of about the requested length. */
    CHAT("/chat/completions");

    private final String path;

    Endpoint(String path) {
        this.path = path;
    }

    public String path() {
        return path;
    }
}
