package ai.factory.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.engine.Grammar;
import java.util.Random;
import java.util.regex.Pattern;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The converter on its own: which schemas it takes, the exact grammar for small ones, and the refusals. That
 * the grammars parse in llama.cpp and that what they produce validates is {@code ConstrainedGenerationTest}'s.
 */
class JsonSchemaGrammarTest {

    @Test
    void everySchemaOfTheCorpusBecomesAGrammarWithARoot() {
        SchemaCorpus.schemas().forEach((name, schema) -> {
            Grammar grammar = Gbnf.jsonSchemaGrammar(schema);
            assertThat(grammar.gbnf()).as(name).contains("root ::= ");
            assertThat(grammar.lazy()).isFalse();
        });
    }

    @Test
    void writesPropertiesInOrderWithOptionalOnesLeftOut() {
        String gbnf = Gbnf.jsonSchemaGrammar(SchemaCorpus.parse("""
                {"type":"object","properties":{"a":{"type":"boolean"},"b":{"type":"integer","minimum":1,"maximum":12}},
                 "required":["b"],"additionalProperties":false}""")).gbnf();

        assertThat(gbnf).isEqualTo("""
                ws ::= " "?
                boolean ::= "true" | "false"
                root-a-kv ::= "\\"a\\"" ws ":" ws boolean ws
                root-b ::= ("1" [0-2] | [1-9])
                root-b-kv ::= "\\"b\\"" ws ":" ws root-b ws
                root ::= "{" ws (root-a-kv "," ws root-b-kv | root-b-kv) "}"
                """);
    }

    @Test
    void anyJsonObjectForJsonObjectMode() {
        assertThat(Gbnf.jsonObjectGrammar().gbnf()).isEqualTo("""
                object ::= "{" ws (string ws ":" ws value ws ("," ws string ws ":" ws value ws)*)? "}"
                char ::= [^"\\\\\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F]{4})
                string ::= "\\"" char* "\\""
                ws ::= " "?
                value ::= object | array | string | number | boolean | null
                array ::= "[" ws (value ws ("," ws value ws)*)? "]"
                number ::= "-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})?
                boolean ::= "true" | "false"
                null ::= "null"
                root ::= object
                """);
    }

    @Test
    void recursiveReferencesGetOneRule() {
        String gbnf = Gbnf.jsonSchemaGrammar(SchemaCorpus.schemas().get("recursive tree")).gbnf();

        assertThat(gbnf).contains("node ::= \"{\" ws (node-v-kv (\",\" ws node-kids-kv)?) \"}\"");
        assertThat(gbnf).contains("node-kids ::= \"[\" ws (node ws node-kids-more?)? \"]\"");
        assertThat(gbnf).contains("root ::= node");
    }

    @Test
    void extraMembersNeverRepeatADeclaredKey() {
        String gbnf = Gbnf.jsonSchemaGrammar(SchemaCorpus.parse("""
                {"type":"object","properties":{"ab":{"type":"null"}},"additionalProperties":{"type":"null"}}""")).gbnf();

        assertThat(gbnf).contains("root-additional-key ::= \"\\\"\" ([^\"\\\\\\x00-\\x1Fa] char* \"\\\"\" | \"a\" "
                + "([^\"\\\\\\x00-\\x1Fb] char* \"\\\"\" | \"b\" ([^\"\\\\\\x00-\\x1F] char* \"\\\"\") | \"\\\"\") | \"\\\"\")");
    }

    /** The numeral grammar read as a Java regular expression (its GBNF here is regex syntax with quotes and spaces). */
    private static Pattern numerals(long lo, long hi) {
        return Pattern.compile(JsonSchemaGrammar.positives(lo, hi).replace("\"", "").replace(" ", ""));
    }

    @ParameterizedTest
    @CsvSource({"0,0", "0,9", "1,12", "7,7", "5,123", "10,99", "19,2021", "0,255", "100,1000", "1234,56789", "999,1001"})
    void integerRangesMatchExactlyTheirNumerals(long lo, long hi) {
        Pattern pattern = numerals(lo, hi);
        LongStream.rangeClosed(0, Math.max(hi * 2, 200)).forEach(n -> assertThat(pattern.matcher(Long.toString(n)).matches())
                .as("%d in [%d, %d]", n, lo, hi).isEqualTo(n >= lo && n <= hi));
        assertThat(pattern.matcher("0" + lo).matches()).as("no leading zero").isFalse();
    }

    @Test
    void randomIntegerRangesMatchExactlyTheirNumerals() {
        Random random = new Random(7);
        for (int i = 0; i < 200; i++) {
            long lo = random.nextInt(100_000);
            long hi = lo + random.nextInt(100_000);
            Pattern pattern = numerals(lo, hi);
            for (int j = 0; j < 200; j++) {
                long n = random.nextInt(250_000);
                assertThat(pattern.matcher(Long.toString(n)).matches()).as("%d in [%d, %d]", n, lo, hi)
                        .isEqualTo(n >= lo && n <= hi);
            }
            assertThat(pattern.matcher(Long.toString(lo)).matches()).isTrue();
            assertThat(pattern.matcher(Long.toString(hi)).matches()).isTrue();
        }
    }

    @Test
    void unboundedIntegersHaveAtMostSixteenDigits() {
        Pattern pattern = numerals(0, 9_999_999_999_999_999L);
        assertThat(pattern.matcher("9".repeat(16)).matches()).isTrue();
        assertThat(pattern.matcher("1" + "0".repeat(16)).matches()).isFalse();
    }

    @Test
    void longRepetitionsAreChunkedUnderLlamasLimit() {
        assertThat(JsonSchemaGrammar.repeat("char", 0, 2500)).isEqualTo("char{0,1000} char{0,1000} char{0,500}");
        assertThat(JsonSchemaGrammar.repeat("x", 1500, -1)).isEqualTo("x{1000} x{500} x*");
        assertThat(JsonSchemaGrammar.repeat("x", 1, 1)).isEqualTo("x");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"type\":\"object\",\"patternProperties\":{\"^a\":{}}}|#/patternProperties|patternProperties",
            "{\"properties\":{\"x\":{\"if\":{\"type\":\"string\"},\"then\":{\"maxLength\":3}}}}|#/properties/x/if|if",
            "{\"properties\":{\"x\":{\"$ref\":\"#/$defs/missing\"}}}|#/properties/x/$ref|$ref",
            "{\"$ref\":\"https://example.com/s.json\"}|#/$ref|$ref",
            "{\"type\":\"string\",\"pattern\":\"^a(?=b)\"}|#/pattern|pattern",
            "{\"properties\":{\"p\":{\"type\":\"string\",\"pattern\":\"(a)\\\\1\"}}}|#/properties/p/pattern|pattern",
            "{\"properties\":{\"when\":{\"type\":\"string\",\"format\":\"duration\"}}}|#/properties/when/format|format",
            "{\"type\":\"strin\"}|#/type|type",
            "{\"properties\":{\"a\":5}}|#/properties/a|properties",
            "{\"items\":{\"type\":\"integer\"},\"uniqueItems\":true}|#/uniqueItems|uniqueItems",
            "{\"type\":\"integer\",\"multipleOf\":3}|#/multipleOf|multipleOf",
            "{\"type\":\"object\",\"minProperties\":1}|#/minProperties|minProperties",
            "{\"not\":{\"type\":\"null\"}}|#/not|not",
            "{\"type\":\"integer\",\"minimum\":5,\"maximum\":4}|#/maximum|maximum",
            "{\"type\":\"number\",\"minimum\":0.5}|#/minimum|minimum",
            "{\"type\":\"string\",\"maxLength\":100000}|#/maxLength|maxLength",
            "{\"anyOf\":[{\"type\":\"string\"}],\"maxLength\":3}|#/maxLength|maxLength",
            "{\"$defs\":{\"a~b/c\":{\"type\":\"string\",\"format\":\"x\"}},\"$ref\":\"#/$defs/a~0b~1c\"}|#/$defs/a~0b~1c/format|format",
            "false|#|schema"})
    void refusesWhatItCannotExpressNamingPathAndKeyword(String schema, String path, String keyword) {
        assertThatThrownBy(() -> Gbnf.jsonSchemaGrammar(SchemaCorpus.parse(schema)))
                .isInstanceOfSatisfying(SchemaNotSupportedException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.path()).isEqualTo(path);
                    assertThat(e.keyword()).isEqualTo(keyword);
                    assertThat(e.getMessage()).startsWith(path + ": '" + keyword + "' ");
                });
    }

    @Test
    void refusalMessagesSayWhatIsWrong() {
        assertThatThrownBy(() -> Gbnf.jsonSchemaGrammar(SchemaCorpus.parse("""
                {"type":"object","properties":{"when":{"type":"string","format":"duration"}}}""")))
                .hasMessage("#/properties/when/format: 'format' \"duration\" is not supported; supported formats are "
                        + "date, time, date-time, uuid, email, ipv4");
        assertThatThrownBy(() -> Gbnf.jsonSchemaGrammar(SchemaCorpus.parse("""
                {"type":"string","pattern":"\\\\bword"}""")))
                .hasMessageContaining("word boundary");
    }
}
