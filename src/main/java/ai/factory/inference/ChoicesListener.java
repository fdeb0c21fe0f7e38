package ai.factory.inference;

import static java.util.Objects.requireNonNull;

/**
 * The request's listener as the runs of its choices share it: they report from their own threads, so their tokens
 * reach the request's listener one at a time, and the counts only once every choice has ended, summed, with each
 * prompt counted once (as OpenAI counts {@code n} choices of one prompt). A call that ends early (a failure, a
 * departed client) leaves the request's listener with what it heard so far.
 */
final class ChoicesListener implements CallListener {
    private final CallListener request;
    private final int choices;
    private final int promptTokens;
    private int ended; // guarded by this
    private int completionTokens; // guarded by this

    /** @param promptTokens the tokens of the call's prompts, each counted once */
    ChoicesListener(CallListener request, int choices, int promptTokens) {
        this.request = requireNonNull(request, "request is null");
        this.choices = choices;
        this.promptTokens = promptTokens;
    }

    @Override
    public synchronized void model(String model) {
        request.model(model);
    }

    @Override
    public synchronized void submitted(int promptTokens) {
        request.submitted(promptTokens);
    }

    @Override
    public synchronized void token(int choice, String text) {
        request.token(choice, text);
    }

    @Override
    public synchronized void finished(int promptTokens, int completionTokens) {
        this.completionTokens += completionTokens;
        if (++ended == choices) {
            request.finished(this.promptTokens, this.completionTokens);
        }
    }
}
