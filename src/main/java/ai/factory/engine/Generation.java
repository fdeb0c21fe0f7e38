package ai.factory.engine;

import java.time.Duration;

/** A running generation: its events in order, and a way to stop it. */
public interface Generation {
    /**
     * The next event, waiting up to {@code timeout}; null if none came in time. After {@link TokenEvent.Done}
     * there are no more events.
     */
    TokenEvent next(Duration timeout) throws InterruptedException;

    /** Stops the generation; its slot is freed within one engine step and a Done(CANCELLED) follows. */
    void cancel();
}
