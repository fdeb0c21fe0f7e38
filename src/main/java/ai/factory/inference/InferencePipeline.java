package ai.factory.inference;

import ai.factory.engine.EmbeddingEngine;
import ai.factory.engine.Embeddings;
import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.engine.Generation;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.Grammar;
import ai.factory.engine.SamplingParams;
import ai.factory.engine.TextEngine;
import ai.factory.serving.TextReplicas;
import ai.factory.engine.chat.ToolCallFormat;
import ai.factory.engine.chat.ToolChoice;
import ai.factory.engine.chat.ToolSpec;
import ai.factory.engine.grammar.SchemaNotSupportedException;
import ai.factory.engine.grammar.Gbnf;
import ai.factory.models.Model;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import ai.factory.quotas.Quotas;
import ai.factory.quotas.Ticket;
import ai.factory.security.Action;
import ai.factory.security.Authorizer;
import ai.factory.identity.Principal;
import ai.factory.security.Resource;
import ai.factory.serving.Deployments;
import org.jspecify.annotations.Nullable;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The one way text is generated, and texts are embedded, for a caller, whichever API the call came through.
 * {@link #start} does, in this order: tells the listener which model was named (metrics and audit attribute even a
 * refused call to it), checks that the caller may invoke the model (Cedar, through the {@link Authorizer}), picks a
 * ready replica, renders the prompt with the model's own template (tools included), builds the grammar that
 * constrains the output (a JSON schema, or the model family's tool-call syntax), submits, and tells the listener the
 * prompt's size and how to stop the call. Between rendering and submitting, the call is admitted under the caller's
 * quotas ({@link Quotas}): refused when a limit is reached, else holding a {@link Ticket} that the call's end settles. What comes back is an {@link InferenceRun} that the caller reads to the
 * end, or, for a call of several choices, the {@link InferenceRuns} of all of them. {@link #embed} does the same for
 * embeddings: names the model, authorizes, picks a replica, fits the texts to the model, embeds them and reports
 * their tokens.
 */
public final class InferencePipeline {
    private final Authorizer authorizer;
    private final ModelRegistry registry;
    private final Deployments deployments;
    private final Quotas quotas;
    private final Duration generationTimeout;
    private final Prompts prompts;

    /** {@code clock} is what chat templates read as the current date, in its zone. */
    public InferencePipeline(Authorizer authorizer, ModelRegistry registry, Deployments deployments, Quotas quotas,
                             Duration generationTimeout, Clock clock) {
        this.authorizer = requireNonNull(authorizer, "authorizer is null");
        this.registry = requireNonNull(registry, "registry is null");
        this.deployments = requireNonNull(deployments, "deployments is null");
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.generationTimeout = requireNonNull(generationTimeout, "generationTimeout is null");
        this.prompts = new Prompts(clock);
    }

    /**
     * Starts a call.
     *
     * @throws ai.factory.FactoryException FORBIDDEN when the caller may not invoke the model, NOT_FOUND when it
     *     does not exist, has no deployment or is another project's that the caller may not see, UNAVAILABLE while
     *     it loads, INVALID_REQUEST for a prompt the model
     *     can't take, RATE_LIMITED when its replicas' queues are full
     * @throws ai.factory.quotas.QuotaExceededException when a quota of the caller refuses the call
     */
    public InferenceRun start(Principal principal, InferenceCall call, CallListener listener) {
        requireNonNull(call, "call is null");
        Started started = submit(principal, List.of(call), 1, listener);
        listener = started.settling();
        listener.submitted(started.promptTokens());
        InferenceRun run = started.run(0, listener);
        listener.running(run::cancel);
        return run;
    }

    /**
     * Starts a call of several choices: {@code n} for each of {@code prompts} (calls that differ in their prompt
     * alone), choice {@code p * n + i} being the {@code i}-th of prompt {@code p}. Each choice is a generation of its
     * own on one replica, and all are queued together or none is (a full queue refuses the whole call). With a
     * {@code seed}, choice {@code i} of each prompt samples with {@code seed + i}: the choices differ, and each is
     * the same as a call of one choice with that seed. The listener hears the call once: the prompts' tokens (each
     * prompt once), every choice's tokens, and the summed counts when all have ended.
     *
     * @throws ai.factory.FactoryException as {@link #start(Principal, InferenceCall, CallListener)}, and
     *     INVALID_REQUEST on {@code n} when the replica cannot queue that many generations at once
     */
    public InferenceRuns start(Principal principal, List<InferenceCall> prompts, int n, CallListener listener) {
        requireNonNull(prompts, "prompts is null");
        if (prompts.isEmpty() || n < 1) {
            throw new IllegalArgumentException("a call has at least one prompt and one choice");
        }
        if (prompts.stream().map(InferenceCall::model).distinct().count() != 1) {
            throw new IllegalArgumentException("the prompts of a call name one model");
        }
        Started started = submit(principal, prompts, n, listener);
        listener = started.settling();
        listener.submitted(started.promptTokens());
        int choices = prompts.size() * n;
        CallListener shared = choices == 1 ? listener : new ChoicesListener(listener, choices, started.promptTokens());
        List<InferenceRun> runs = new ArrayList<>(choices);
        for (int choice = 0; choice < choices; choice++) {
            runs.add(started.run(choice, shared));
        }
        listener.running(() -> runs.forEach(InferenceRun::cancel));
        return new InferenceRuns(runs, n);
    }

    /**
     * What {@link #submit} queued: the prompts' tokens and tool-call formats, and the generations, {@code n} per
     * prompt in order.
     */
    private record Started(TextEngine engine, List<int[]> prompts, List<ToolCallFormat> calls, int n,
                           List<Generation> generations, Duration limit, CallListener settling) {
        int promptTokens() {
            return prompts.stream().mapToInt(p -> p.length).sum();
        }

        InferenceRun run(int choice, CallListener listener) {
            ToolCallFormat format = calls.get(choice / n);
            return new InferenceRun(generations.get(choice), engine, prompts.get(choice / n),
                    format == null ? null : format.splitter(), listener, choice, limit);
        }
    }

    private Started submit(Principal principal, List<InferenceCall> calls, int n, CallListener listener) {
        requireNonNull(principal, "principal is null");
        requireNonNull(listener, "listener is null");
        String model = calls.getFirst().model();
        listener.model(model);
        authorize(principal, model);
        TextReplicas replicas = deployments.textReplicas(model);
        // Any replica tokenizes as the others would; the prompt then goes to the one holding most of it.
        TextEngine engine = replicas.leastBusy();
        int context = engine.info().contextPerSequence();
        for (InferenceCall call : calls) {
            if (call.maxTokensAsked() && call.maxTokens() > context) {
                throw FactoryException.invalidParam("max_tokens", ("'max_tokens' is too large: %d. This deployment "
                        + "holds %d tokens per sequence, prompt and output together; ask for at most %d")
                        .formatted(call.maxTokens(), context, context - 1));
            }
        }
        List<int[]> tokens = new ArrayList<>(calls.size());
        List<ToolCallFormat> formats = new ArrayList<>(calls.size());
        List<GenerationRequest> requests = new ArrayList<>(calls.size() * n);
        for (int p = 0; p < calls.size(); p++) {
            InferenceCall call = calls.get(p);
            int[] prompt = prompts.tokens(engine, call, calls.size() == 1 ? "prompt" : "prompt[" + p + "]");
            ToolCallFormat format = call.tools().active() ? prompts.template(engine).toolCallFormat() : null;
            Grammar grammar = format == null ? grammar(call.format()) : grammar(format, call.tools());
            tokens.add(prompt);
            formats.add(format);
            for (int i = 0; i < n; i++) {
                requests.add(new GenerationRequest(prompt, seeded(call.sampling(), i), call.maxTokens(), call.stop(),
                        call.ignoreEos(), call.logprobs(), call.topLogprobs(), grammar, format != null,
                        call.logitBias()));
            }
        }
        // Counted busy on the replica from now, not from when it is handed the call: calls routed at the same moment
        // spread over the replicas.
        try (TextReplicas.Routed routed = replicas.route(tokens.getFirst())) {
            TextEngine chosen = routed.engine();
            Ticket ticket = admit(principal, model, calls, tokens, n, context);
            listener.admitted(ticket);
            try {
                listener.awaitAdmission();
                routed.close(); // the replica counts the call itself from here
                List<Generation> generations = chosen.submitAll(requests.stream()
                        .map(r -> r.withPriority(ticket.priority())).toList());
                return new Started(chosen, tokens, formats, n, generations, generationTimeout,
                        settling(listener, ticket));
            } catch (RuntimeException e) {
                ticket.cancel();
                throw e;
            }
        }
    }

    /**
     * Admits the call under the caller's quotas: its prompts' tokens and the output its {@code n} choices may
     * generate (their {@code max_tokens}, else {@link Quotas#DEFAULT_OUTPUT_RESERVE} or the rest of the context).
     */
    private Ticket admit(Principal principal, String model, List<InferenceCall> calls, List<int[]> prompts, int n,
                         int context) {
        long prompt = 0;
        long output = 0;
        for (int p = 0; p < calls.size(); p++) {
            InferenceCall call = calls.get(p);
            int room = Math.max(0, context - prompts.get(p).length);
            int asked = call.maxTokens() > 0 ? call.maxTokens() : room;
            prompt += prompts.get(p).length;
            output += (long) n * (call.maxTokensAsked() ? asked : Math.min(Math.min(asked, room),
                    Quotas.DEFAULT_OUTPUT_RESERVE));
        }
        return quotas.admit(principal, ModelRef.parse(model).name().toString(), prompt, output,
                calls.getFirst().priority());
    }

    /** The listener that settles the call's ticket when it ends, then tells {@code listener}. */
    private static CallListener settling(CallListener listener, Ticket ticket) {
        return new CallListener() {
            @Override
            public void model(String model) {
                listener.model(model);
            }

            @Override
            public void admitted(Ticket t) {
                listener.admitted(t);
            }

            @Override
            public void awaitAdmission() {
                listener.awaitAdmission();
            }

            @Override
            public void submitted(int promptTokens) {
                listener.submitted(promptTokens);
            }

            @Override
            public void running(Runnable stop) {
                listener.running(stop);
            }

            @Override
            public void token(int choice, String text) {
                listener.token(choice, text);
            }

            @Override
            public void finished(int promptTokens, int completionTokens) {
                ticket.settle(promptTokens, completionTokens);
                listener.finished(promptTokens, completionTokens);
            }
        };
    }

    /**
     * Embeds texts.
     *
     * @throws ai.factory.FactoryException FORBIDDEN when the caller may not invoke the model, NOT_FOUND when it
     *     does not exist, has no deployment or is another project's that the caller may not see, UNAVAILABLE while
     *     it loads, INVALID_REQUEST when it generates text,
     *     when the call asks for dimensions it does not return (field {@code dimensions}) or for a text it cannot
     *     take (field {@code input}, the text named {@code input[i]})
     */
    public Embeddings embed(Principal principal, EmbeddingCall call, CallListener listener) {
        requireNonNull(principal, "principal is null");
        requireNonNull(call, "call is null");
        requireNonNull(listener, "listener is null");
        listener.model(call.model());
        authorize(principal, call.model());
        EmbeddingEngine engine = deployments.embeddingEngine(call.model());
        if (call.dimensions().isPresent() && call.dimensions().getAsInt() != engine.dimensions()) {
            throw FactoryException.invalidParam("dimensions", "the model '" + call.model() + "' returns "
                    + engine.dimensions() + " dimensions and cannot return " + call.dimensions().getAsInt());
        }
        List<String> inputs = call.inputs().stream()
                .map(text -> call.truncation().fit(text, engine.maxInputTokens(), engine::countTokens))
                .toList();
        Ticket ticket = quotas.admit(principal, ModelRef.parse(call.model()).name().toString(), 0, 0, null);
        listener.admitted(ticket);
        Embeddings result;
        try {
            listener.awaitAdmission();
            result = engine.embed(inputs);
        } catch (RuntimeException e) {
            ticket.cancel();
            throw e;
        }
        // The texts' tokens are known once they are embedded: charged after the fact.
        ticket.settle(result.promptTokens(), 0);
        listener.finished(result.promptTokens(), 0);
        return result;
    }

    /**
     * Whether the model is an embedding model (else it generates text), once the caller may invoke it: for an API
     * whose body takes a shape that depends on the model (Bedrock's InvokeModel), so that a body of the wrong shape
     * is answered with the shape the model takes. The call that follows authorizes again (a policy evaluation, no
     * more).
     *
     * @throws ai.factory.FactoryException FORBIDDEN, NOT_FOUND or UNAVAILABLE as {@link #start} does
     */
    public boolean embeds(Principal principal, String model, CallListener listener) {
        requireNonNull(principal, "principal is null");
        requireNonNull(model, "model is null");
        requireNonNull(listener, "listener is null");
        listener.model(model);
        authorize(principal, model);
        return deployments.embeds(model);
    }

    /** The sampling of the {@code i}-th choice of a prompt: a given seed moves by {@code i}, so choices differ. */
    private static SamplingParams seeded(SamplingParams sampling, int i) {
        return i == 0 || sampling.seed() == null ? sampling : sampling.withSeed(sampling.seed() + i);
    }

    /**
     * A model that is not registered is left to the serving layer, which answers NOT_FOUND; another project's model
     * that the caller may not see answers the same.
     */
    private void authorize(Principal principal, String model) {
        Optional<Model> found = registry.find(ModelRef.parse(model).name());
        found.ifPresent(m -> authorizer.require(principal, Action.INVOKE, resource(m), () -> Deployments.notServed(model)));
    }

    /** The grammar of an output format; a schema it cannot express is the caller's error on field {@code schema}. */
    private static @Nullable Grammar grammar(InferenceCall.OutputFormat format) {
        return switch (format) {
            case InferenceCall.OutputFormat.Text t -> null;
            case InferenceCall.OutputFormat.JsonObject o -> Gbnf.jsonObjectGrammar();
            case InferenceCall.OutputFormat.JsonSchema s -> {
                try {
                    yield Gbnf.jsonSchemaGrammar(s.schema());
                } catch (SchemaNotSupportedException e) {
                    throw FactoryException.invalidParam("schema", "the schema '" + s.name() + "' cannot be enforced: "
                            + e.getMessage());
                }
            }
        };
    }

    /**
     * The grammar that forces or guards the tool calls; a tool whose parameters schema cannot be expressed is the
     * caller's error on field {@code tools}, naming the tool (found again only on that path).
     */
    private static @Nullable Grammar grammar(ToolCallFormat calls, InferenceCall.Tools tools) {
        try {
            // A named tool is asked for once: the call the client needs, not a loop of it.
            boolean parallel = tools.parallel() && !(tools.choice() instanceof ToolChoice.Named);
            return calls.grammar(tools.specs(), tools.choice(), parallel);
        } catch (SchemaNotSupportedException e) {
            for (ToolSpec spec : tools.specs()) {
                try {
                    Gbnf.jsonSchemaGrammar(spec.parameters());
                } catch (SchemaNotSupportedException inTool) {
                    throw FactoryException.invalidParam("tools", "the parameters of tool '" + spec.name()
                            + "' cannot be enforced: " + inTool.getMessage());
                }
            }
            throw FactoryException.invalidParam("tools", "the tools' parameters cannot be enforced: " + e.getMessage());
        }
    }

    /** A model as the authorizer sees it. */
    public static Resource.Model resource(Model m) {
        return new Resource.Model(m.name().toString(), m.project(), m.classification(), ModelRegistry.isBuiltin(m.name()));
    }
}
