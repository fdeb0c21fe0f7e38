package ai.factory.inference;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import org.jspecify.annotations.Nullable;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.ObjIntConsumer;

/**
 * The runs of one call with several choices (OpenAI's {@code n}, a prompt array), read together: choice
 * {@code p * n + i} is the {@code i}-th of the {@code n} choices of prompt {@code p}. They generate concurrently in
 * the engine; {@link #forEach} hands on their events as they come, each with its choice, and ends when every choice
 * has. Any failure of one choice, and anything thrown by the consumer, cancels them all.
 *
 * <p>Concurrency: with more than one choice, each run is read by a virtual thread of its own that queues its
 * events for the thread calling {@link #forEach}, which alone calls the consumer. Those readers are joined before
 * {@link #forEach} returns or throws, so nothing reports to the call's listener after it. A call of one choice is
 * read on the caller's thread, as {@link InferenceRun#forEach} does.
 */
public final class InferenceRuns {
    private final List<InferenceRun> runs;
    private final int n;

    /** @param n choices per prompt; {@code runs} holds them prompt by prompt */
    InferenceRuns(List<InferenceRun> runs, int n) {
        this.runs = List.copyOf(requireNonNull(runs, "runs is null"));
        this.n = n;
        if (n < 1 || this.runs.isEmpty() || this.runs.size() % n != 0) {
            throw new IllegalArgumentException(this.runs.size() + " runs are not a whole number of prompts of " + n);
        }
    }

    /** How many choices: prompts times {@code n}. */
    public int size() {
        return runs.size();
    }

    /** The prompt of a choice as text (for APIs that echo the prompt). */
    public String promptText(int choice) {
        return runs.get(choice).promptText();
    }

    /**
     * The call's token counts.
     *
     * @param promptTokens the prompts' tokens, each prompt counted once however many choices it has
     * @param completionTokens the tokens generated for every choice
     * @param cachedPromptTokens of {@code promptTokens}, those reused from the cache (as the first choice of each
     *     prompt found them)
     */
    public record Usage(int promptTokens, int completionTokens, int cachedPromptTokens) {}

    /**
     * Sends every event of every choice to {@code onEvent} (with the choice's index), each choice's in order and the
     * choices interleaved as they come, until all have ended; on each silence of a few seconds runs
     * {@code onSilence} (a keep-alive write that notices a departed client). Whatever is thrown, by a run or by
     * either callback, cancels every choice and propagates.
     *
     * @return the counts of the whole call
     */
    public Usage forEach(ObjIntConsumer<InferenceEvent> onEvent, Runnable onSilence) {
        requireNonNull(onEvent, "onEvent is null");
        requireNonNull(onSilence, "onSilence is null");
        if (runs.size() == 1) {
            return usage(List.of(runs.getFirst().forEach(event -> onEvent.accept(event, 0), onSilence)));
        }
        BlockingQueue<Item> events = new LinkedBlockingQueue<>();
        List<Thread> readers = new ArrayList<>(runs.size());
        InferenceEvent.End[] ends = new InferenceEvent.End[runs.size()];
        try {
            for (int i = 0; i < runs.size(); i++) {
                int choice = i;
                readers.add(Thread.ofVirtual().name("inference-choice-" + choice).start(() -> read(choice, events)));
            }
            int left = runs.size();
            while (left > 0) {
                Item item = events.poll(InferenceRun.SILENCE.toNanos(), TimeUnit.NANOSECONDS);
                if (item == null) {
                    onSilence.run();
                    continue;
                }
                if (item.failure() != null) {
                    throw item.failure();
                }
                onEvent.accept(item.event(), item.choice());
                if (item.event() instanceof InferenceEvent.End end) {
                    ends[item.choice()] = end;
                    left--;
                }
            }
            return usage(List.of(ends));
        } catch (InterruptedException e) {
            cancel();
            Thread.currentThread().interrupt();
            throw new FactoryException(ErrorCode.UNAVAILABLE, "the request was interrupted (the server is stopping)");
        } catch (RuntimeException e) {
            cancel();
            throw e;
        } finally {
            join(readers);
        }
    }

    /**
     * A whole call's output.
     *
     * @param choices every choice's output, by index
     */
    public record Collected(List<Completion> choices, Usage usage) {
        public Collected {
            choices = List.copyOf(choices);
            requireNonNull(usage, "usage is null");
        }
    }

    /** Every choice's output, collected. */
    public Collected collect() {
        List<CompletionBuilder> choices = new ArrayList<>(runs.size());
        for (int i = 0; i < runs.size(); i++) {
            choices.add(new CompletionBuilder());
        }
        Usage usage = forEach((event, choice) -> choices.get(choice).accept(event), () -> { });
        return new Collected(choices.stream().map(CompletionBuilder::completion).toList(), usage);
    }

    /** Stops every choice; each ends with {@code CANCELLED}. */
    public void cancel() {
        runs.forEach(InferenceRun::cancel);
    }

    /** The call's counts: each prompt's tokens from its first choice, every choice's generated tokens. */
    private Usage usage(List<InferenceEvent.End> ends) {
        int prompt = 0;
        int completion = 0;
        int cached = 0;
        for (int i = 0; i < ends.size(); i++) {
            InferenceEvent.End end = ends.get(i);
            if (i % n == 0) {
                prompt += end.promptTokens();
                cached += end.cachedPromptTokens();
            }
            completion += end.completionTokens();
        }
        return new Usage(prompt, completion, cached);
    }

    /** A reader: one run's events onto the shared queue, up to its end or its failure. */
    private void read(int choice, BlockingQueue<Item> events) {
        InferenceRun run = runs.get(choice);
        try {
            while (true) {
                InferenceEvent event = run.next(InferenceRun.SILENCE);
                if (event != null) {
                    events.add(new Item(choice, event, null));
                    if (event instanceof InferenceEvent.End) {
                        return;
                    }
                }
            }
        } catch (RuntimeException e) {
            run.cancel();
            events.add(new Item(choice, null, e));
        }
    }

    /**
     * Waits for the readers, which end within an engine step once their runs are cancelled or done. Interrupted,
     * it interrupts them (a run read by an interrupted thread cancels itself and ends) and still waits.
     */
    private static void join(List<Thread> readers) {
        boolean interrupted = false;
        for (Thread reader : readers) {
            while (true) {
                try {
                    reader.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                    readers.forEach(Thread::interrupt);
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** An event of a choice, or the failure that ended its reading. */
    private record Item(int choice, @Nullable InferenceEvent event, @Nullable RuntimeException failure) {}
}
