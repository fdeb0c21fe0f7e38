package ai.factory.engine.chat;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * One example a model is fine-tuned on, whatever file format it came from: a prompt with the completion to learn, or
 * a conversation whose assistant turns are what to learn. An engine that trains reads these and nothing of the
 * formats datasets are uploaded in. It lives beside {@link ChatMessage}, not in {@code ai.factory.engine}, which
 * {@code engine.chat} uses: the engine's own package knows no chat types, so the packages stay free of cycles.
 */
public sealed interface TrainingExample {
    /** A prompt and the text the model should answer it with. */
    record Completion(String prompt, String completion) implements TrainingExample {
        public Completion {
            requireNonNull(prompt, "prompt is null");
            requireNonNull(completion, "completion is null");
        }
    }

    /**
     * A conversation, a system prompt first when it has one, ending with an assistant turn; the assistant turns are
     * what the model should learn to say.
     */
    record Conversation(List<ChatMessage> messages) implements TrainingExample {
        public Conversation {
            messages = List.copyOf(requireNonNull(messages, "messages is null"));
            if (messages.isEmpty() || !messages.getLast().role().equals("assistant")) {
                throw new IllegalArgumentException("a training conversation ends with an assistant message");
            }
        }
    }
}
