package ai.factory.engine.chat;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Built-in chat formats, for models whose GGUF carries no chat template or one that does not compile. Each is
 * the template its model family publishes, so a built-in renders exactly what the family's own template would
 * for plain text conversations.
 *
 * <p>Without a template a model gets ChatML, as llama-server does for unknown models. A template that fails to
 * compile still says which family it belongs to through its special tokens, so {@link #forModel} picks the
 * built-in for those tokens before falling back to ChatML.
 */
public final class ChatFormats {
    private static final Logger LOG = LoggerFactory.getLogger(ChatFormats.class);

    /** The format for a model that says nothing about its own. */
    public static final String DEFAULT = "chatml";

    /** Special tokens that identify a family, most specific first: Phi-4 is ChatML with an extra separator. */
    private static final List<Marker> MARKERS = List.of(
            new Marker("phi4", "<|im_sep|>"),
            new Marker("chatml", "<|im_start|>"),
            new Marker("llama3", "<|start_header_id|>"),
            new Marker("mistral-v7", "[SYSTEM_PROMPT]"),
            new Marker("llama2", "[INST]"),
            new Marker("gemma", "<start_of_turn>"),
            new Marker("phi3", "<|end|>"));

    private static final Set<String> NAMES = Set.of("chatml", "llama2", "llama3", "mistral-v7", "gemma", "phi3", "phi4");

    private record Marker(String format, String token) {}

    private ChatFormats() {}

    /** The names {@link #byName} accepts. */
    public static Set<String> names() {
        return NAMES;
    }

    public static ChatTemplate byName(String name) {
        return byName(name, Clock.systemDefaultZone());
    }

    /**
     * A built-in format.
     *
     * @throws FactoryException NOT_FOUND for a name not in {@link #names()}
     */
    public static ChatTemplate byName(String name, Clock clock) {
        requireNonNull(name, "name is null");
        String key = name.toLowerCase(Locale.ROOT);
        if (!NAMES.contains(key)) {
            throw new FactoryException(ErrorCode.NOT_FOUND,
                    "no built-in chat format '" + name + "'; known formats: "
                            + String.join(", ", NAMES.stream().sorted().toList()));
        }
        return ChatTemplate.compile(load(key), clock);
    }

    public static ChatTemplate forModel(@Nullable String template) {
        return forModel(template, Clock.systemDefaultZone());
    }

    /**
     * The template a model should use: its own when it compiles, else the built-in its special tokens point to,
     * else ChatML.
     *
     * @param template the GGUF's {@code tokenizer.chat_template}, or null when it has none
     */
    public static ChatTemplate forModel(@Nullable String template, Clock clock) {
        requireNonNull(clock, "clock is null");
        if (template == null || template.isBlank()) {
            return byName(DEFAULT, clock);
        }
        try {
            return ChatTemplate.compile(template, clock);
        } catch (FactoryException e) {
            String format = detect(template);
            LOG.warn("the model's chat template is not usable ({}); using the built-in '{}' format", e.getMessage(),
                    format);
            return byName(format, clock);
        }
    }

    /** The built-in whose special tokens the template uses, or the default. */
    static String detect(String template) {
        return MARKERS.stream()
                .filter(marker -> template.contains(marker.token()))
                .map(Marker::format)
                .findFirst()
                .orElse(DEFAULT);
    }

    private static String load(String name) {
        String resource = "formats/" + name + ".jinja";
        try (InputStream in = ChatFormats.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("built-in chat format missing from the build: " + resource);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
