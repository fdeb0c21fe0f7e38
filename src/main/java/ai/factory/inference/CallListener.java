package ai.factory.inference;

/**
 * Hears what a call does, for metering and audit: which model it named, how long its prompt was, the text it
 * produced, and its final token counts. Called on the thread that drives the call; implementations must be quick.
 */
public interface CallListener {
    /** The model the call names, as given (before it is known to exist or to be allowed). */
    void model(String model);

    /** The call was submitted to a replica with a prompt of this many tokens. */
    void submitted(int promptTokens);

    /**
     * The call is running; {@code stop} cancels it (for a caller that has gone away), after which it ends as
     * cancelled with the tokens it generated so far. May be called from any thread.
     */
    default void running(Runnable stop) {}

    /** One generated token and the text it adds (possibly empty). */
    void token(String text);

    /** The call ended with these counts. */
    void finished(int promptTokens, int completionTokens);

    /** A listener that hears nothing. */
    CallListener NONE = new CallListener() {
        @Override
        public void model(String model) {}

        @Override
        public void submitted(int promptTokens) {}

        @Override
        public void token(String text) {}

        @Override
        public void finished(int promptTokens, int completionTokens) {}
    };
}
