package ai.factory.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.TestModels;
import ai.factory.engine.Generation;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.Grammar;
import ai.factory.engine.SamplingParams;
import ai.factory.engine.TokenEvent;
import ai.factory.engine.TokenEvent.Done;
import ai.factory.engine.TokenEvent.FinishReason;
import ai.factory.engine.TokenEvent.Token;
import ai.factory.engine.grammar.Gbnf;
import ai.factory.engine.grammar.SchemaCorpus;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Grammar-constrained generation on the tiny random model: whatever the model would say, the output must be
 * JSON valid against the schema, checked by an independent validator (formats asserted too), and bounded
 * schemas must end with STOP (the grammar, once complete, leaves only end-of-generation tokens).
 */
class ConstrainedGenerationTest {
    private static final Duration EVENT_TIMEOUT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SchemaRegistry VALIDATORS = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
            builder -> builder.schemaRegistryConfig(SchemaRegistryConfig.builder().formatAssertionsEnabled(true).build()));
    private static final List<SamplingParams> SAMPLINGS = List.of(SamplingParams.GREEDY,
            new SamplingParams(1f, 1f, 0, 0f, 1f, 0f, 0f, 64, 1L),
            new SamplingParams(1f, 1f, 0, 0f, 1f, 0f, 0f, 64, 2L));

    private static LlamaRuntime runtime;
    private static LlamaEngine engine;

    @BeforeAll
    static void load() {
        runtime = LlamaTestSupport.runtime();
        engine = LlamaEngine.load(runtime, TestModels.tinyLlama(),
                LlamaEngineOptions.defaults().withContextPerSequence(1024).withParallel(3).withThreads(1));
    }

    @AfterAll
    static void close() {
        if (engine != null) {
            engine.close();
        }
    }

    record Result(String text, Done done) {}

    private static Result collect(Generation generation) throws InterruptedException {
        StringBuilder text = new StringBuilder();
        while (true) {
            TokenEvent event = generation.next(EVENT_TIMEOUT);
            assertThat(event).as("an event within %s", EVENT_TIMEOUT).isNotNull();
            switch (event) {
                case Token token -> text.append(token.text());
                case Done done -> {
                    return new Result(text.toString(), done);
                }
            }
        }
    }

    private static GenerationRequest request(SamplingParams sampling, int maxTokens, Grammar grammar) {
        return new GenerationRequest(engine.tokenize("Answer in JSON:", true, false), sampling, maxTokens, List.of(),
                false, false, 0, grammar);
    }

    @Test
    void everyCorpusSchemaYieldsValidJsonAndBoundedOnesStop() throws Exception {
        List<String> lengthCut = new ArrayList<>();
        int stops = 0;
        for (Map.Entry<String, JsonNode> entry : SchemaCorpus.schemas().entrySet()) {
            String name = entry.getKey();
            Grammar grammar = Gbnf.jsonSchemaGrammar(entry.getValue());
            Schema validator = VALIDATORS.getSchema(entry.getValue());
            // The three samplings run side by side in the engine's three slots. An unbounded schema gets fewer
            // tokens: a random model that follows it forever shows nothing more in its 97th token than in its 96th.
            int maxTokens = name.contains("(unbounded") ? 96 : 384;
            List<Generation> generations = new ArrayList<>();
            for (SamplingParams sampling : SAMPLINGS) {
                generations.add(engine.submit(request(sampling, maxTokens, grammar)));
            }
            for (int i = 0; i < generations.size(); i++) {
                Result result = collect(generations.get(i));
                String as = "%s, sampling %d: %s".formatted(name, i, result.text());
                assertThat(result.done().reason()).as(as).isIn(FinishReason.STOP, FinishReason.LENGTH);
                if (result.done().reason() == FinishReason.LENGTH) {
                    lengthCut.add(as);
                    continue;
                }
                stops++;
                JsonNode value = JSON.readTree(result.text());
                assertThat(validator.validate(value)).as(as).isEmpty();
            }
        }
        // Only the schemas with unbounded parts may run to max_tokens on a random model.
        assertThat(lengthCut).allMatch(s -> s.contains("(unbounded"));
        long bounded = SchemaCorpus.schemas().keySet().stream().filter(name -> !name.contains("(unbounded")).count();
        assertThat(stops).isGreaterThanOrEqualTo((int) (SAMPLINGS.size() * bounded));
    }

    @Test
    void jsonObjectModeYieldsAnObjectWhenItStops() throws Exception {
        for (SamplingParams sampling : SAMPLINGS) {
            Result result = collect(engine.submit(request(sampling, 256, Gbnf.jsonObjectGrammar())));
            assertThat(result.text()).startsWith("{");
            if (result.done().reason() == FinishReason.STOP) {
                assertThat(JSON.readTree(result.text()).isObject()).isTrue();
            }
        }
    }

    @Test
    void aGrammarThatDoesNotParseIsRefusedAtSubmitAndTheEngineServesOn() throws Exception {
        assertThatThrownBy(() -> engine.submit(request(SamplingParams.GREEDY, 16, Grammar.of("root ::= \"a\" undefined-rule"))))
                .isInstanceOfSatisfying(FactoryException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.getMessage()).startsWith("the grammar does not parse: ");
                });
        assertThatThrownBy(() -> engine.submit(request(SamplingParams.GREEDY, 16, Grammar.of("start ::= \"a\""))))
                .isInstanceOf(FactoryException.class).hasMessageStartingWith("the grammar does not parse: ");

        Result result = collect(engine.submit(request(SamplingParams.GREEDY, 16, Grammar.of("root ::= \"yes\" | \"no\""))));
        assertThat(result.text()).isIn("yes", "no");
        assertThat(result.done().reason()).isEqualTo(FinishReason.STOP);
    }

    @Test
    void aLazyGrammarWhoseTriggerIsNotOneTokenConstrainsNothing() throws Exception {
        int[] prompt = engine.tokenize("Once upon a time", true, false);
        // "<tool_call>" is several tokens of this model's vocabulary: nothing to trigger on.
        assertThat(engine.tokenize("<tool_call>", false, true).length).isGreaterThan(1);
        Grammar lazy = new Grammar("root ::= \"<tool_call>\" [a-z]+ \"</tool_call>\"", List.of("<tool_call>"));
        Result free = collect(engine.submit(new GenerationRequest(prompt, SamplingParams.GREEDY, 24, List.of(), false,
                false, 0)));
        Result constrained = collect(engine.submit(new GenerationRequest(prompt, SamplingParams.GREEDY, 24, List.of(),
                false, false, 0, lazy)));

        assertThat(constrained.text()).isEqualTo(free.text());
        assertThat(constrained.done().reason()).isEqualTo(free.done().reason());
    }

    @Test
    void aLazyGrammarTakesOverAtItsTriggerToken() throws Exception {
        int[] prompt = engine.tokenize("Once upon a time", true, false);
        List<String> pieces = new ArrayList<>();
        Generation free = engine.submit(new GenerationRequest(prompt, SamplingParams.GREEDY, 24, List.of(), false,
                false, 0));
        for (TokenEvent e = free.next(EVENT_TIMEOUT); e instanceof Token t; e = free.next(EVENT_TIMEOUT)) {
            pieces.add(t.text());
        }
        // The text of the third token the free generation writes, as the trigger word (seen first there).
        int at = 2;
        while (pieces.get(at).isBlank() || pieces.subList(0, at).contains(pieces.get(at))) {
            at++;
        }
        String word = pieces.get(at);
        Grammar lazy = new Grammar("root ::= " + Gbnf.literal(word) + " \" OK\"", List.of(word));

        Result constrained = collect(engine.submit(new GenerationRequest(prompt, SamplingParams.GREEDY, 24, List.of(),
                false, false, 0, lazy)));

        // Free up to the trigger, then held to the grammar: " OK" and the end of the turn.
        assertThat(constrained.text()).isEqualTo(String.join("", pieces.subList(0, at + 1)) + " OK");
        assertThat(constrained.done().reason()).isEqualTo(FinishReason.STOP);
    }

    @Test
    void aCompleteGrammarWithIgnoreEosRunsToTheLimitWithoutFailing() throws Exception {
        Result result = collect(engine.submit(new GenerationRequest(engine.tokenize("Hi", true, false),
                SamplingParams.GREEDY, 12, List.of(), true, false, 0, Grammar.of("root ::= \"ok\""))));

        assertThat(result.done().reason()).isEqualTo(FinishReason.LENGTH);
        assertThat(result.text()).startsWith("ok");
    }
}
