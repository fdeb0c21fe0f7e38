package ai.factory.api;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.engine.Generation;
import ai.factory.engine.TokenEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Drives one generation to its end for an HTTP request, collecting it or streaming it. A client that goes
 * away cancels the generation, so its engine slot is freed within a step.
 */
public final class GenerationRun {
    /** How long a stream may stay silent before a keep-alive comment checks that the client is still there. */
    private static final Duration KEEP_ALIVE = Duration.ofSeconds(5);

    private GenerationRun() {}

    /** Everything a finished generation produced. */
    public record Result(String text, List<TokenEvent.Token> tokens, TokenEvent.Done done) {}

    /** Collects a whole generation; {@code tap} sees each token as it comes (the request audit counts them). */
    public static Result collect(Generation generation, Duration limit, Consumer<TokenEvent.Token> tap) {
        StringBuilder text = new StringBuilder();
        List<TokenEvent.Token> tokens = new ArrayList<>();
        TokenEvent.Done done = drive(generation, t -> {
            tap.accept(t);
            text.append(t.text());
            tokens.add(t);
        }, null, limit);
        return new Result(text.toString(), tokens, done);
    }

    /**
     * Streams tokens to {@code onToken}; on silence runs {@code onSilence} (if any), e.g. a keep-alive write that
     * notices a gone client. A generation still running after {@code limit} is stopped: TIMEOUT.
     */
    public static TokenEvent.Done drive(Generation generation, Consumer<TokenEvent.Token> onToken, Runnable onSilence,
                                        Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        try {
            while (true) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new FactoryException(ErrorCode.TIMEOUT, "the generation ran longer than " + limit
                            + " and was stopped; ask for fewer tokens, or raise server.generationTimeout");
                }
                TokenEvent event = generation.next(left < KEEP_ALIVE.toNanos() ? Duration.ofNanos(left) : KEEP_ALIVE);
                switch (event) {
                    case null -> {
                        if (onSilence != null) {
                            onSilence.run();
                        }
                    }
                    case TokenEvent.Token t -> onToken.accept(t);
                    case TokenEvent.Done d -> {
                        if (d.reason() == TokenEvent.FinishReason.ERROR) {
                            throw new FactoryException(ErrorCode.INTERNAL, "generation failed: " + d.error());
                        }
                        return d;
                    }
                }
            }
        } catch (InterruptedException e) {
            generation.cancel();
            Thread.currentThread().interrupt();
            throw new FactoryException(ErrorCode.UNAVAILABLE, "the request was interrupted (the server is stopping)");
        } catch (RuntimeException e) {
            generation.cancel();
            throw e;
        }
    }

    /** OpenAI's {@code finish_reason}. */
    public static String finishReason(TokenEvent.Done done) {
        return switch (done.reason()) {
            case STOP, STOP_SEQUENCE -> "stop";
            case LENGTH -> "length";
            case CANCELLED, ERROR -> "stop";
        };
    }
}
