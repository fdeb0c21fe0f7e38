package ai.factory.quotas;

import static java.util.Objects.requireNonNull;

import ai.factory.engine.Priority;

/**
 * A call's admission under the quotas: its priority, where the caller stands against its per-minute limits, and
 * the one settlement that gives back what the call reserved and did not use. Settling twice, or cancelling after
 * settling, does nothing more.
 */
public interface Ticket {
    Priority priority();

    LimitStatus status();

    /** The call ended having used these tokens (a call that ended early: those it used until then). */
    void settle(long promptTokens, long completionTokens);

    /** The call never ran (its replica's queue was full, say): everything it took comes back, its request too. */
    void cancel();

    /** The ticket of a call that no quota limits. */
    static Ticket free(Priority priority) {
        requireNonNull(priority, "priority is null");
        return new Ticket() {
            @Override
            public Priority priority() {
                return priority;
            }

            @Override
            public LimitStatus status() {
                return LimitStatus.NONE;
            }

            @Override
            public void settle(long promptTokens, long completionTokens) {}

            @Override
            public void cancel() {}
        };
    }
}
