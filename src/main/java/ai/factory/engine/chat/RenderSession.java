package ai.factory.engine.chat;

import static java.util.Objects.requireNonNull;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import org.jspecify.annotations.Nullable;
import java.time.Clock;
import java.util.List;

/**
 * What one render needs beyond the template's variables: the clock, the loop filters the translator lifted out,
 * and the work budget that stops a hostile template.
 *
 * <p>Jinjava calls template functions statically, so the session travels in the render's context under a key
 * that is not a valid identifier: templates cannot name it, and the functions find it through the current
 * interpreter. One session per render, used by one thread, so the counters need no synchronisation.
 */
final class RenderSession {
    static final String CONTEXT_KEY = "factory:render-session";

    private final Clock clock;
    private final List<Jinja2Translator.LoopFilter> loopFilters;
    private long nodesLeft;
    private long rangeItemsLeft;
    /** Why the render was stopped, once it was. */
    private @Nullable RuntimeException halted;

    RenderSession(Clock clock, List<Jinja2Translator.LoopFilter> loopFilters, ChatTemplateLimits limits) {
        this.clock = requireNonNull(clock, "clock is null");
        this.loopFilters = requireNonNull(loopFilters, "loopFilters is null");
        this.nodesLeft = limits.maxNodeRenders();
        this.rangeItemsLeft = limits.maxRangeItems();
    }

    static RenderSession current() {
        JinjavaInterpreter interpreter = JinjavaInterpreter.getCurrent();
        if (interpreter == null) {
            throw new IllegalStateException("no template is rendering on this thread");
        }
        return of(interpreter);
    }

    static RenderSession of(JinjavaInterpreter interpreter) {
        if (interpreter.getContext().get(CONTEXT_KEY) instanceof RenderSession session) {
            return session;
        }
        throw new IllegalStateException("the render context lost its session");
    }

    Clock clock() {
        return clock;
    }

    Jinja2Translator.LoopFilter loopFilter(int index) {
        return loopFilters.get(index);
    }

    /** Charged for every node Jinjava renders and every loop iteration, so work that prints nothing still costs. */
    void chargeNode() {
        if (halted != null) {
            throw halted;
        }
        if (--nodesLeft < 0) {
            throw halt(new BudgetExceededException("the chat template rendered too many nodes"));
        }
    }

    /** Charged for every number {@code range()} produces: empty nested loops cost no nodes but still take time. */
    void chargeRange(long items) {
        rangeItemsLeft -= items;
        if (rangeItemsLeft < 0) {
            throw halt(new BudgetExceededException("the chat template iterated over too large a range"));
        }
    }

    /**
     * Ends the render: from now on every node and loop iteration throws {@code reason}. Jinjava records an
     * exception from a function as an error and renders on, which would repeat a failed {@code range} or
     * {@code raise_exception} once per iteration of every enclosing loop.
     */
    RuntimeException halt(RuntimeException reason) {
        if (halted == null) {
            halted = reason;
        }
        return reason;
    }

    /** The template used up its work budget; rendering stops at the next node. */
    static final class BudgetExceededException extends RuntimeException {
        BudgetExceededException(String message) {
            super(message, null, false, false);
        }
    }
}
