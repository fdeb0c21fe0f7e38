package ai.factory.inference;

import ai.factory.quotas.Ticket;

/**
 * Hears what a call does, for metering and audit: which model it named, how long its prompts were, the text it
 * produced, and its final token counts. A call of several choices (OpenAI's {@code n}, or a prompt array) is heard
 * as one: its prompts are submitted together, each choice's tokens say which choice they belong to, and the counts
 * come once, summed, when every choice has ended. Calls may come from the threads that read the choices, one at a
 * time; implementations must be quick.
 */
public interface CallListener {
    /** The model the call names, as given (before it is known to exist or to be allowed). */
    void model(String model);

    /**
     * The call was admitted under its caller's quotas, before it is queued: the ticket says where the caller stands
     * against its limits (for rate-limit headers) and settles what the call used. The pipeline settles it when the
     * call ends; a listener that sees the request end first (a failure, a client gone) may settle it with what it
     * counted, and the later settlement does nothing.
     */
    default void admitted(Ticket ticket) {}

    /**
     * Returns once the call may run: its admission is recorded where a crash cannot lose it (the audit trail's
     * write-ahead, which the request's hook may write while the prompt is rendered and tokenized). The pipeline
     * asks before it queues anything on a replica.
     *
     * @throws ai.factory.FactoryException UNAVAILABLE when the admission could not be recorded: the call must not run
     */
    default void awaitAdmission() {}

    /** The call was submitted to a replica with prompts of this many tokens in all (each prompt counted once). */
    void submitted(int promptTokens);

    /**
     * The call is running; {@code stop} cancels it, every choice of it (for a caller that has gone away), after
     * which it ends as cancelled with the tokens it generated so far. May be called from any thread.
     */
    default void running(Runnable stop) {}

    /** One generated token of choice {@code choice} (0 for a call of one) and the text it adds (possibly empty). */
    void token(int choice, String text);

    /** The call ended with these counts, summed over its choices (each prompt counted once). */
    void finished(int promptTokens, int completionTokens);

    /** A listener that hears nothing. */
    CallListener NONE = new CallListener() {
        @Override
        public void model(String model) {}

        @Override
        public void submitted(int promptTokens) {}

        @Override
        public void token(int choice, String text) {}

        @Override
        public void finished(int promptTokens, int completionTokens) {}
    };
}
