package ai.factory.inference;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.engine.Generation;
import ai.factory.engine.TextEngine;
import ai.factory.engine.TokenEvent;
import ai.factory.engine.chat.ToolCall;
import ai.factory.engine.chat.ToolCallSplitter;
import ai.factory.engine.chat.ToolOutput;
import org.jspecify.annotations.Nullable;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Queue;
import java.util.function.Consumer;

/**
 * One submitted call (or one choice of a call of several), read as {@link InferenceEvent}s. Not thread-safe: one
 * thread drives a run (the request's, or the reader {@link InferenceRuns} gives each choice), though
 * {@link #cancel()} may come from anywhere.
 *
 * <p>The run turns the engine's tokens into output text and, when the model may call tools, holds back text that
 * could be the start of a call until it knows; calls are parsed when the generation ends and come out as
 * {@link InferenceEvent.ToolCallDelta}s before the {@link InferenceEvent.End}. A run still going after the
 * generation limit is stopped with {@code TIMEOUT}; an engine failure is {@code INTERNAL}. Any failure, and any
 * exception thrown by the consumer of {@link #forEach}, cancels the generation, so its slot is freed within a
 * step.
 */
public final class InferenceRun {
    /** How long {@link #forEach} waits in silence before it asks the caller to check its client. */
    static final Duration SILENCE = Duration.ofSeconds(5);

    private final Generation generation;
    private final TextEngine engine;
    private final int[] prompt;
    private final @Nullable ToolCallSplitter splitter;
    private final CallListener listener;
    private final int choice;
    private final Duration limit;
    private final long deadline;
    private final Queue<InferenceEvent> pending = new ArrayDeque<>();
    private boolean ended;

    /** @param choice which of its request's choices this run is (0 for a request of one) */
    InferenceRun(Generation generation, TextEngine engine, int[] prompt, @Nullable ToolCallSplitter splitter,
                 CallListener listener, int choice, Duration limit) {
        this.generation = requireNonNull(generation, "generation is null");
        this.engine = requireNonNull(engine, "engine is null");
        this.prompt = requireNonNull(prompt, "prompt is null");
        this.splitter = splitter;
        this.listener = requireNonNull(listener, "listener is null");
        this.choice = choice;
        this.limit = requireNonNull(limit, "limit is null");
        this.deadline = System.nanoTime() + limit.toNanos();
    }

    /** The prompt's tokens as text (for APIs that echo the prompt). */
    public String promptText() {
        return engine.detokenize(prompt);
    }

    public int promptTokens() {
        return prompt.length;
    }

    /**
     * The next event, waiting up to {@code wait}; null if none came in time, and after the {@link InferenceEvent.End}.
     *
     * @throws FactoryException TIMEOUT past the generation limit, INTERNAL when the engine failed, UNAVAILABLE when
     *     the thread was interrupted (the server is stopping); the generation is cancelled first
     */
    public @Nullable InferenceEvent next(Duration wait) {
        InferenceEvent queued = pending.poll();
        if (queued != null || ended) {
            return queued;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            generation.cancel();
            throw new FactoryException(ErrorCode.TIMEOUT, "the generation ran longer than " + limit
                    + " and was stopped; ask for fewer tokens, or raise server.generationTimeout");
        }
        TokenEvent event;
        try {
            event = generation.next(left < wait.toNanos() ? Duration.ofNanos(left) : wait);
        } catch (InterruptedException e) {
            generation.cancel();
            Thread.currentThread().interrupt();
            throw new FactoryException(ErrorCode.UNAVAILABLE, "the request was interrupted (the server is stopping)");
        }
        return switch (event) {
            case null -> null;
            case TokenEvent.Token t -> {
                listener.token(choice, t.text());
                yield new InferenceEvent.Text(splitter == null ? t.text() : splitter.accept(t.text()), t);
            }
            case TokenEvent.Done d -> end(d);
        };
    }

    private InferenceEvent end(TokenEvent.Done done) {
        ended = true;
        if (done.reason() == TokenEvent.FinishReason.ERROR) {
            throw new FactoryException(ErrorCode.INTERNAL, "generation failed: " + done.error());
        }
        if (done.reason() == TokenEvent.FinishReason.UNAVAILABLE) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "generation stopped: " + done.error()
                    + "; try again");
        }
        List<ToolCall> calls = List.of();
        if (splitter != null) {
            ToolOutput rest = splitter.finish();
            if (!rest.content().isEmpty()) {
                pending.add(new InferenceEvent.Text(rest.content(), null));
            }
            calls = rest.calls();
            for (int i = 0; i < calls.size(); i++) {
                ToolCall call = calls.get(i);
                pending.add(new InferenceEvent.ToolCallDelta(i, call.id(), call.name(), ""));
                pending.add(new InferenceEvent.ToolCallDelta(i, null, null, call.arguments()));
            }
        }
        // A reply cut by the token limit says so even when calls were complete before the cut, as OpenAI answers.
        InferenceEvent.Finish finish = calls.isEmpty() || done.reason() == TokenEvent.FinishReason.LENGTH
                ? finish(done.reason()) : InferenceEvent.Finish.TOOL_CALLS;
        listener.finished(done.promptTokens(), done.completionTokens());
        pending.add(new InferenceEvent.End(finish, done.promptTokens(), done.completionTokens(),
                done.cachedPromptTokens()));
        return pending.poll();
    }

    private static InferenceEvent.Finish finish(TokenEvent.FinishReason reason) {
        return switch (reason) {
            case STOP -> InferenceEvent.Finish.STOP;
            case STOP_SEQUENCE -> InferenceEvent.Finish.STOP_SEQUENCE;
            case LENGTH -> InferenceEvent.Finish.LENGTH;
            case CANCELLED -> InferenceEvent.Finish.CANCELLED;
            case ERROR, UNAVAILABLE -> throw new IllegalStateException("an engine failure is not a finish");
        };
    }

    /**
     * Sends every event to {@code onEvent} until the end, which it returns; on each silence of a few seconds runs
     * {@code onSilence} (a keep-alive write that notices a departed client). Whatever is thrown, by the run or by
     * either callback, cancels the generation and propagates.
     */
    public InferenceEvent.End forEach(Consumer<InferenceEvent> onEvent, Runnable onSilence) {
        try {
            while (true) {
                InferenceEvent event = next(SILENCE);
                switch (event) {
                    case null -> onSilence.run();
                    case InferenceEvent.End end -> {
                        onEvent.accept(end);
                        return end;
                    }
                    default -> onEvent.accept(event);
                }
            }
        } catch (RuntimeException e) {
            generation.cancel();
            throw e;
        }
    }

    /** The whole output, collected. */
    public Completion collect() {
        CompletionBuilder completion = new CompletionBuilder();
        forEach(completion::accept, () -> { });
        return completion.completion();
    }

    /** Stops the generation; an {@link InferenceEvent.End} with {@code CANCELLED} follows. */
    public void cancel() {
        generation.cancel();
    }
}
