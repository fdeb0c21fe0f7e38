package ai.factory.engine.chat;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaProcessors;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.OutputTooBigException;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.loader.ResourceNotFoundException;
import com.hubspot.jinjava.tree.Node;
import org.jspecify.annotations.Nullable;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A model's chat template, compiled once from the Jinja text in its GGUF metadata ({@code tokenizer.chat_template})
 * and rendered for every request into the prompt the model was trained on.
 *
 * <p>Templates are written for Hugging Face transformers: Jinja2 with {@code trim_blocks} and
 * {@code lstrip_blocks}, the variables {@code messages}, {@code add_generation_prompt}, {@code bos_token},
 * {@code eos_token} (plus whatever the caller adds, such as {@code tools} or {@code date_string}), and the
 * functions {@code raise_exception} and {@code strftime_now}. Rendering runs on Jinjava. Jinjava already has
 * {@code namespace()} with attribute assignment, {@code loop.first/last/index0}, simple slices,
 * {@code is defined}, {@code in}, {@code break}/{@code continue}, macros and string escapes; where it differs
 * from Jinja2, a bridge makes it behave as transformers does:
 * <ul>
 *   <li>Python {@code str} methods ({@code strip}, {@code split}, {@code startswith}, {@code title},
 *       {@code format}, ...) and string indexing: {@link PythonMethodResolver};
 *   <li>printing values as Python's {@code str()} does ({@code True}, {@code {'k': 'v'}}): {@link PythonStr};
 *   <li>{@code tojson} with Python's exact spacing, {@code indent} and {@code sort_keys}, never HTML-escaped;
 *       {@code items}; Python's {@code trim} and {@code string}: {@link TemplateFilters};
 *   <li>{@code raise_exception}, {@code strftime_now} from an injectable clock, a {@code range} without
 *       Jinjava's silent 1000-item cap: {@link TemplateFunctions};
 *   <li>{@code {% generation %}} blocks: {@link GenerationTag}; {@code {% filter %}} blocks:
 *       {@link FilterBlockTag};
 *   <li>{@code not} binding looser than tests ({@code not x is defined}), keyword arguments holding
 *       expressions, {@code n+1} without spaces, stepped slices ({@code messages[::-1]}) and computed slice
 *       bounds: {@link Jinja2Expressions};
 *   <li>loop filters ({@code for x in xs if c}), {@code lstrip_blocks}, comments' whitespace, and the
 *       template's trailing newline: {@link Jinja2Translator}.
 * </ul>
 * Known differences that remain, none used by the templates of the major model families:
 * {@code loop.previtem}/{@code nextitem} and {@code recursive} loops are missing; {@code None} printed on its
 * own shows as nothing (Jinjava cannot tell it from an undefined variable); {@code ~} joins booleans as
 * {@code true}; {@code 'ab' * 2}, {@code '%s' % x}, {@code dict(...)} and the {@code min}/{@code max} filters
 * fail; Jinja2's Markup escaping ({@code "x"|safe + text}) does not happen.
 *
 * <p>Templates come from model files, so rendering is sandboxed: no template can load another
 * ({@code include}, {@code import}, {@code extends}, {@code from} are disabled and no loader is configured),
 * message text is never re-interpreted as template code, and each render is bounded in output
 * ({@value #MAX_OUTPUT_DESCRIPTION}), nodes evaluated, {@code range} items and macro recursion.
 *
 * <p>Some templates refuse a system message (Gemma 2, early Mistral) or drop it silently. Compiling probes for
 * that, and for such templates {@link #render} folds a leading system message into the first user message, as
 * llama.cpp does, so OpenAI clients that always send one keep working.
 *
 * <p>Instances are immutable and safe to render from many threads at once.
 */
public final class ChatTemplate {
    static final String MAX_OUTPUT_DESCRIPTION = "1 MiB";
    private static final Set<String> RESERVED = Set.of("messages", "add_generation_prompt", "bos_token", "eos_token");
    private static final String SYSTEM_PROBE = "factory-system-probe-7f3a";
    private static final String USER_PROBE = "factory-user-probe-7f3a";
    /**
     * Every Jinjava fix that moves it towards Jinja2 ({@code for k in dict} yields keys, {@code {%-} strips as
     * Jinja2 does, Python operator precedence...), except requiring whitespace inside delimiters, which makes
     * Jinjava print {@code {%- if %}} verbatim.
     */
    private static final LegacyOverrides JINJA2_SEMANTICS = LegacyOverrides.newBuilder()
            .withEvaluateMapKeys(true)
            .withIterateOverMapKeys(true)
            .withUsePyishObjectMapper(true)
            .withUseSnakeCasePropertyNaming(true)
            .withUseNaturalOperatorPrecedence(true)
            .withParseWhitespaceControlStrictly(true)
            .withAllowAdjacentTextNodes(true)
            .withUseTrimmingForNotesAndExpressions(true)
            .withKeepNullableLoopValues(true)
            .withHandleBackslashInQuotesOnly(true)
            .build();

    private final String source;
    private final Clock clock;
    private final ChatTemplateLimits limits;
    private final Jinjava jinjava;
    private final Jinja2Translator.Translation translation;
    private final Node root;
    private final boolean supportsSystemRole;
    private final boolean supportsTools;
    private final boolean readsToolCalls;
    private final boolean handlesToolRole;
    private final ToolCallFormat toolCallFormat;

    private ChatTemplate(String source, Clock clock, ChatTemplateLimits limits) {
        this.source = source;
        this.clock = clock;
        this.limits = limits;
        this.jinjava = newEngine(limits, clock);
        this.translation = Jinja2Translator.translate(source);
        this.root = parse(translation.text());
        this.supportsSystemRole = probeSystemRole();
        this.supportsTools = ToolPrompt.mentionsTools(source);
        this.readsToolCalls = ToolPrompt.mentionsToolCalls(source);
        this.handlesToolRole = ToolPrompt.handlesToolRole(source);
        this.toolCallFormat = ToolCallFormat.detect(source);
    }

    /** Compiles a template whose {@code strftime_now} reads the system clock in the local time zone. */
    public static ChatTemplate compile(String template) {
        return compile(template, Clock.systemDefaultZone());
    }

    /**
     * Compiles a template.
     *
     * @param clock the time and zone {@code strftime_now} formats (Llama 3.x puts "Today Date" in its prompt)
     * @throws FactoryException INVALID_REQUEST when the text does not parse or cannot render even a one-message
     *     conversation; callers then fall back to {@link ChatFormats}
     */
    public static ChatTemplate compile(String template, Clock clock) {
        return compile(template, clock, ChatTemplateLimits.DEFAULT);
    }

    static ChatTemplate compile(String template, Clock clock, ChatTemplateLimits limits) {
        requireNonNull(template, "template is null");
        requireNonNull(clock, "clock is null");
        requireNonNull(limits, "limits is null");
        if (template.isBlank()) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "the chat template is empty");
        }
        return new ChatTemplate(template, clock, limits);
    }

    /** The template text as given. */
    public String source() {
        return source;
    }

    /** False when the template rejects or ignores system messages; {@link #render} then folds them into the first user turn. */
    public boolean supportsSystemRole() {
        return supportsSystemRole;
    }

    /**
     * Whether the template describes tools itself (its code uses a {@code tools} variable). When it does not,
     * {@link #render(List, List, boolean, String, String, Map)} describes them in the generic format.
     */
    public boolean supportsTools() {
        return supportsTools;
    }

    /**
     * How a model prompted through this template writes tool calls: the family the template teaches, or
     * {@link ToolCallFormat#GENERIC} when the template has no tool support and tools are described generically.
     */
    public ToolCallFormat toolCallFormat() {
        return toolCallFormat;
    }

    /** {@link #render(List, List, boolean, String, String, Map)} without further template variables. */
    public String render(List<ChatMessage> messages, List<ToolSpec> tools, boolean addGenerationPrompt,
                         String bosToken, String eosToken) {
        return render(messages, tools, addGenerationPrompt, bosToken, eosToken, Map.of());
    }

    /**
     * Renders a conversation that may involve tools: the tools the model may call, assistant turns with calls
     * ({@link ChatMessage#assistantCalls}) and tool results ({@link ChatMessage#toolResult}).
     *
     * <p>A template with tool support ({@link #supportsTools()}) gets {@code tools} as OpenAI's list of
     * {@code {"type": "function", "function": {"name", "description", "parameters"}}} (left undefined when there
     * are none, as templates test {@code tools is defined} or {@code tools is not none}), and the messages with
     * {@code tool_calls} and {@code tool_call_id}. Should it not read {@code tool_calls}, or never compare a role
     * with {@code 'tool'}, calls become assistant text and results user turns, as in the generic format. Mistral
     * templates get call ids of the 9 letters and digits they insist on (others are mapped by a hash, so calls
     * and results still pair up).
     *
     * <p>Any other template renders the generic format (see {@link ToolCallFormat#GENERIC}): the tools are listed
     * with their JSON Schemas in the leading system message (one is added when there is none; templates without
     * a system role get it folded into the first user turn), and the model is told to answer with
     * {@code <tool_call>{"name": ..., "arguments": {...}}</tool_call>} blocks; calls in the history are written
     * into the assistant's text in that syntax, and results come back as user turns of {@code <tool_response>}
     * blocks.
     *
     * @param tools the tools the model may call; empty for none (the history may still hold calls)
     * @param extraContext further template variables, as for {@link #render(List, boolean, String, String, Map)};
     *     not {@code tools}
     * @throws FactoryException as {@link #render(List, boolean, String, String, Map)} does
     */
    public String render(List<ChatMessage> messages, List<ToolSpec> tools, boolean addGenerationPrompt,
                         String bosToken, String eosToken, Map<String, ?> extraContext) {
        requireNonNull(messages, "messages is null");
        requireNonNull(tools, "tools is null");
        requireNonNull(extraContext, "extraContext is null");
        if (extraContext.containsKey("tools")) {
            throw new IllegalArgumentException("pass tools as the tools argument, not as extra context");
        }
        if (!supportsTools) {
            return render(ToolPrompt.generic(messages, tools), addGenerationPrompt, bosToken, eosToken, extraContext);
        }
        List<ChatMessage> turns = readsToolCalls ? messages : ToolPrompt.withCallsAsText(messages);
        turns = handlesToolRole ? turns : ToolPrompt.withToolResultsAsUser(turns);
        if (toolCallFormat instanceof MistralToolCalls) {
            turns = ToolPrompt.withNineCharacterIds(turns);
        }
        Map<String, Object> context = new HashMap<>(extraContext);
        if (!tools.isEmpty()) {
            context.put("tools", ToolPrompt.templateValue(tools));
        }
        return render(turns, addGenerationPrompt, bosToken, eosToken, context);
    }

    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, String bosToken, String eosToken) {
        return render(messages, addGenerationPrompt, bosToken, eosToken, Map.of());
    }

    /**
     * Renders a conversation into prompt text.
     *
     * @param addGenerationPrompt end with the header that starts the assistant's reply
     * @param bosToken the model's BOS text; many templates emit it, so the prompt must then be tokenized
     *     without adding another
     * @param extraContext further template variables, such as {@code tools}, {@code date_string} or
     *     {@code enable_thinking}; values must be JSON-like (maps with string keys, lists, strings, numbers,
     *     booleans, null)
     * @throws FactoryException INVALID_REQUEST when the template rejects the conversation (its
     *     {@code raise_exception} message, such as "Conversation roles must alternate user/assistant/...") or
     *     the prompt would exceed {@value #MAX_OUTPUT_DESCRIPTION}; INTERNAL when the template itself fails or
     *     exhausts its work budget
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, String bosToken, String eosToken,
                         Map<String, ?> extraContext) {
        requireNonNull(messages, "messages is null");
        requireNonNull(bosToken, "bosToken is null");
        requireNonNull(eosToken, "eosToken is null");
        requireNonNull(extraContext, "extraContext is null");
        Map<String, Object> bindings = new HashMap<>();
        extraContext.forEach((name, value) -> {
            if (RESERVED.contains(name)) {
                throw new IllegalArgumentException("'" + name + "' is set by render itself and cannot be extra context");
            }
            bindings.put(name, templateValue(value));
        });
        List<ChatMessage> turns = supportsSystemRole ? messages : foldSystemIntoFirstUser(messages);
        bindings.put("messages", new ArrayList<>(turns.stream().map(ChatMessage::toTemplateValue).toList()));
        bindings.put("add_generation_prompt", addGenerationPrompt);
        bindings.put("bos_token", bosToken);
        bindings.put("eos_token", eosToken);
        return render(bindings);
    }

    private String render(Map<String, Object> bindings) {
        bindings.put(RenderSession.CONTEXT_KEY, new RenderSession(clock, translation.loopFilters(), limits));
        // Templates test "strftime_now is defined" before calling it (Llama 3.2); functions are not variables.
        bindings.putIfAbsent("strftime_now", true);
        JinjavaInterpreter interpreter = newInterpreter(bindings);
        String output = null;
        RuntimeException thrown = null;
        try {
            output = interpreter.render(root, false);
        } catch (RuntimeException e) {
            thrown = e;
        }
        // The first recorded error is what stopped the render, such as the template's own raise_exception.
        for (TemplateError error : interpreter.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw failure(error.getException(), error.getLineno(), error.getMessage());
            }
        }
        if (thrown != null) {
            throw failure(thrown, interpreter.getLineNumber(), String.valueOf(thrown.getMessage()));
        }
        String rendered = requireNonNull(output, "a render that did not throw has its output");
        if (rendered.length() > limits.maxOutputChars()) {
            throw tooLong();
        }
        return rendered;
    }

    private Node parse(String text) {
        JinjavaInterpreter interpreter = newInterpreter(new HashMap<>());
        Node parsed;
        try (var _ = JinjavaInterpreter.closeablePushCurrent(interpreter).get()) {
            parsed = interpreter.parse(text);
        } catch (RuntimeException e) {
            throw invalid(String.valueOf(e.getMessage()));
        }
        for (TemplateError error : interpreter.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL
                    || error.getReason() == TemplateError.ErrorReason.SYNTAX_ERROR) {
                throw invalid("line " + error.getLineno() + ": " + error.getMessage());
            }
        }
        return parsed;
    }

    /**
     * Renders a system-plus-user conversation to learn whether the template keeps system messages: it does not
     * when it raises, or prints the user's text but not the system's. Then renders a user-only conversation to
     * learn whether the template renders at all. A template's own {@code raise_exception} is an answer, not a
     * failure.
     */
    private boolean probeSystemRole() {
        boolean keepsSystem;
        try {
            String prompt = probe(List.of(ChatMessage.system(SYSTEM_PROBE), ChatMessage.user(USER_PROBE)));
            keepsSystem = prompt.contains(SYSTEM_PROBE) || !prompt.contains(USER_PROBE);
        } catch (FactoryException e) {
            keepsSystem = false;
        }
        try {
            probe(List.of(ChatMessage.user(USER_PROBE)));
        } catch (FactoryException e) {
            if (!(e.getCause() instanceof TemplateFunctions.TemplateRaisedException)) {
                throw invalid("it fails on a one-message conversation: " + e.getMessage());
            }
        }
        return keepsSystem;
    }

    private String probe(List<ChatMessage> messages) {
        Map<String, Object> bindings = new HashMap<>();
        bindings.put("messages", new ArrayList<>(messages.stream().map(ChatMessage::toTemplateValue).toList()));
        bindings.put("add_generation_prompt", true);
        bindings.put("bos_token", "");
        bindings.put("eos_token", "");
        return render(bindings);
    }

    /** Prepends the leading system message to the first user message, joined by a newline as llama.cpp does. */
    static List<ChatMessage> foldSystemIntoFirstUser(List<ChatMessage> messages) {
        if (messages.isEmpty() || !messages.getFirst().role().equals("system")) {
            return messages;
        }
        String system = messages.getFirst().content();
        List<ChatMessage> folded = new ArrayList<>(messages.subList(1, messages.size()));
        for (int i = 0; i < folded.size(); i++) {
            ChatMessage message = folded.get(i);
            if (message.role().equals("user")) {
                folded.set(i, message.withContent(system + "\n" + message.content()));
                return folded;
            }
        }
        folded.addFirst(ChatMessage.user(system));
        return folded;
    }

    private FactoryException failure(Throwable cause, int line, String message) {
        for (Throwable t = cause; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof TemplateFunctions.TemplateRaisedException raised) {
                return new FactoryException(ErrorCode.INVALID_REQUEST, String.valueOf(raised.getMessage()), raised);
            }
            if (t instanceof OutputTooBigException) {
                return tooLong();
            }
            if (t instanceof RenderSession.BudgetExceededException budget) {
                return new FactoryException(ErrorCode.INTERNAL, budget.getMessage()
                        + "; the model's chat template is unusable, configure another one", budget);
            }
        }
        String detail = message == null ? "unknown error" : message;
        if (detail.length() > 200) {
            detail = detail.substring(0, 200) + "...";
        }
        return new FactoryException(ErrorCode.INTERNAL, "the model's chat template failed at line " + line + ": " + detail);
    }

    private FactoryException tooLong() {
        return new FactoryException(ErrorCode.INVALID_REQUEST,
                "the conversation renders to a prompt longer than " + MAX_OUTPUT_DESCRIPTION
                        + "; send fewer or shorter messages");
    }

    private static FactoryException invalid(String reason) {
        return new FactoryException(ErrorCode.INVALID_REQUEST, "the chat template is not usable: " + reason);
    }

    private JinjavaInterpreter newInterpreter(Map<String, Object> bindings) {
        JinjavaConfig config = jinjava.getGlobalConfig();
        Context context = new Context(jinjava.getGlobalContextCopy(), bindings, config.getDisabled());
        return new PythonInterpreter(jinjava, context, config);
    }

    private static Jinjava newEngine(ChatTemplateLimits limits, Clock clock) {
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                // Jinja2Translator applies lstrip_blocks; Jinjava's version also strips mid-line.
                .withLstripBlocks(false)
                // Jinja2 drops the template's trailing newline, not the output's; Jinja2Translator does that.
                .withKeepTrailingNewline(true)
                .withLegacyOverrides(JINJA2_SEMANTICS)
                // Message text must print as text, never be parsed again as template code.
                .withNestedInterpretationEnabled(false)
                .withMaxOutputSize(limits.maxOutputChars())
                .withMaxStringLength(limits.maxOutputChars())
                .withMaxListSize(100_000)
                .withMaxMapSize(100_000)
                // gpt-oss renders nested tool parameter types with a recursive macro.
                .withEnableRecursiveMacroCalls(true)
                .withMaxMacroRecursionDepth(64)
                .withDisabled(Map.of(Context.Library.TAG, Set.of("include", "import", "from", "extends")))
                .withElResolver(PythonMethodResolver.chain())
                .withProcessors(JinjavaProcessors.newBuilder()
                        .withNodePreProcessor((node, interpreter) -> RenderSession.of(interpreter).chargeNode())
                        .build())
                .withLocale(Locale.ENGLISH)
                .withTimeZone(clock.getZone())
                .build();
        Jinjava jinjava = new Jinjava(config);
        jinjava.setResourceLocator((name, encoding, interpreter) -> {
            throw new ResourceNotFoundException("chat templates cannot load other templates");
        });
        TemplateFunctions.register(jinjava);
        TemplateFilters.register(jinjava);
        jinjava.registerTag(new ChargedForTag());
        jinjava.registerTag(new GenerationTag());
        jinjava.registerTag(new FilterBlockTag());
        return jinjava;
    }

    /** A deep, mutable copy of a JSON-like value, so templates can neither see caller types nor change caller data. */
    private static @Nullable Object templateValue(Object value) {
        return switch (value) {
            case null -> null;
            case String s -> s;
            case Boolean b -> b;
            case Integer i -> i.longValue();
            case Short s -> s.longValue();
            case Byte b -> b.longValue();
            case Number n -> n;
            case Map<?, ?> map -> {
                Map<String, Object> copy = new LinkedHashMap<>();
                map.forEach((key, item) -> {
                    if (!(key instanceof String name)) {
                        throw new IllegalArgumentException("template map keys must be strings, got " + key);
                    }
                    copy.put(name, templateValue(item));
                });
                yield copy;
            }
            case Collection<?> items -> new ArrayList<>(items.stream().map(ChatTemplate::templateValue).toList());
            default -> throw new IllegalArgumentException(
                    "template values must be JSON-like, got " + value.getClass().getName());
        };
    }
}
