package ai.factory.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.engine.chat.TrainingExample;
import ai.factory.engine.chat.ChatMessage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class DatasetParserTest {
    private static final DatasetLimits LIMITS = DatasetLimits.DEFAULTS;
    private static final String CHAT = "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, "
            + "{\"role\": \"assistant\", \"content\": \"Hello!\"}]}";
    private static final String TEXT = "{\"prompt\": \"2+2=\", \"completion\": \"4\"}";

    private static DatasetParser.Result parse(String content, List<TrainingExample> examples) {
        return DatasetParser.parse(content.getBytes(StandardCharsets.UTF_8), LIMITS, examples);
    }

    private static DatasetParser.Result.Valid valid(String content, List<TrainingExample> examples) {
        DatasetParser.Result result = parse(content, examples);
        assertThat(result).isInstanceOf(DatasetParser.Result.Valid.class);
        return (DatasetParser.Result.Valid) result;
    }

    private static List<String> errors(String content) {
        return errors(content, LIMITS);
    }

    private static List<String> errors(String content, DatasetLimits limits) {
        DatasetParser.Result result = DatasetParser.parse(content.getBytes(StandardCharsets.UTF_8), limits,
                new ArrayList<>());
        assertThat(result).as("a dataset with errors").isInstanceOf(DatasetParser.Result.Invalid.class);
        return ((DatasetParser.Result.Invalid) result).errors();
    }

    @Test
    void readsBedrockTextRecords() {
        List<TrainingExample> examples = new ArrayList<>();
        DatasetParser.Result.Valid v = valid(TEXT + "\n{\"prompt\": \"Capital of France?\", \"completion\": \"Paris\"}\n",
                examples);
        assertThat(v.format()).isEqualTo(DatasetFormat.BEDROCK_TEXT);
        assertThat(v.records()).isEqualTo(2);
        assertThat(examples).containsExactly(new TrainingExample.Completion("2+2=", "4"),
                new TrainingExample.Completion("Capital of France?", "Paris"));
    }

    @Test
    void readsBedrockConversationRecordsWithTheSystemPromptFirst() {
        List<TrainingExample> examples = new ArrayList<>();
        String record = "{\"schemaVersion\": \"bedrock-conversation-2024\", \"system\": [{\"text\": \"Be brief.\"}], "
                + "\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": \"Hi\"}]}, "
                + "{\"role\": \"assistant\", \"content\": [{\"text\": \"Hello\"}, {\"text\": \"there\"}]}, "
                + "{\"role\": \"user\", \"content\": [{\"text\": \"Bye\"}]}, "
                + "{\"role\": \"assistant\", \"content\": [{\"text\": \"Bye!\"}]}]}";
        String noSystem = "{\"schemaVersion\": \"bedrock-conversation-2024\", \"messages\": [{\"role\": \"user\", "
                + "\"content\": [{\"text\": \"Q\"}]}, {\"role\": \"assistant\", \"content\": [{\"text\": \"A\"}]}]}";
        DatasetParser.Result.Valid v = valid(record + "\r\n" + noSystem, examples);
        assertThat(v.format()).isEqualTo(DatasetFormat.BEDROCK_CONVERSATION);
        assertThat(v.records()).isEqualTo(2);
        assertThat(examples).containsExactly(
                new TrainingExample.Conversation(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"),
                        ChatMessage.assistant("Hello\nthere"), ChatMessage.user("Bye"), ChatMessage.assistant("Bye!"))),
                new TrainingExample.Conversation(List.of(ChatMessage.user("Q"), ChatMessage.assistant("A"))));
    }

    @Test
    void readsOpenAiChatRecords() {
        List<TrainingExample> examples = new ArrayList<>();
        String withSystem = "{\"messages\": [{\"role\": \"system\", \"content\": \"You are terse.\"}, "
                + "{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}]}";
        DatasetParser.Result.Valid v = valid("\uFEFF" + withSystem + "\n\n" + CHAT + "\n", examples);
        assertThat(v.format()).isEqualTo(DatasetFormat.OPENAI_CHAT);
        assertThat(v.records()).as("blank lines are no records").isEqualTo(2);
        assertThat(v.bytes()).isEqualTo(("\uFEFF" + withSystem + "\n\n" + CHAT + "\n")
                .getBytes(StandardCharsets.UTF_8).length);
        assertThat(examples).containsExactly(
                new TrainingExample.Conversation(List.of(ChatMessage.system("You are terse."), ChatMessage.user("Hi"),
                        ChatMessage.assistant("Yo"))),
                new TrainingExample.Conversation(List.of(ChatMessage.user("Hi"), ChatMessage.assistant("Hello!"))));
    }

    @Test
    void namesTheLineAndFieldOfEachError() {
        String tool = "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", "
                + "\"content\": \"calling\"}, {\"role\": \"tool\", \"content\": \"42\"}, "
                + "{\"role\": \"assistant\", \"content\": \"42\"}]}";
        String content = String.join("\n", CHAT, CHAT, "", tool, "{\"messages\": [{\"role\": \"user\", "
                + "\"content\": \"Hi\"}]}", "{\"messages\": [{\"role\": \"user\", \"content\": 7}, "
                + "{\"role\": \"assistant\", \"content\": \"\"}]}", "{\"messages\": \"hi\"}", "{\"messages\": []}");
        assertThat(errors(content)).containsExactly(
                "line 4: messages[2].role must be system, user or assistant, not 'tool'",
                "line 5: the last message must be the assistant's, not user; the assistant's messages are what the "
                        + "model learns",
                "line 6: messages[0].content must be a string, not a number",
                "line 6: messages[1].content must not be empty",
                "line 7: messages must be an array, not a string",
                "line 8: messages must not be empty");
    }

    @Test
    void openAiSystemMessagesComeFirst() {
        assertThat(errors("{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"system\", "
                + "\"content\": \"late\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}]}"))
                .containsExactly("line 1: messages[1] is a system message after the conversation began; system "
                        + "messages come first");
    }

    @Test
    void bedrockTextNeedsBothFieldsAsNonEmptyStrings() {
        assertThat(errors(TEXT + "\n{\"prompt\": \"\", \"completion\": \"x\"}\n{\"prompt\": \"x\"}\n"
                + "{\"completion\": 4, \"prompt\": \"x\"}")).containsExactly(
                "line 2: prompt must not be empty",
                "line 3: completion is required",
                "line 4: completion must be a string, not a number");
    }

    @Test
    void aWrongSchemaVersionNamesTheExpectedOne() {
        String turns = "\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": \"Q\"}]}, "
                + "{\"role\": \"assistant\", \"content\": [{\"text\": \"A\"}]}]";
        assertThat(errors("{\"schemaVersion\": \"bedrock-conversation-2023\", " + turns + "}\n{" + turns + "}"))
                .containsExactly("line 1: schemaVersion must be \"bedrock-conversation-2024\", not "
                                + "\"bedrock-conversation-2023\"",
                        "line 2: schemaVersion is required: \"bedrock-conversation-2024\"");
    }

    @Test
    void bedrockTurnsAlternateFromUserToAssistant() {
        String head = "{\"schemaVersion\": \"bedrock-conversation-2024\", \"messages\": [";
        String user = "{\"role\": \"user\", \"content\": [{\"text\": \"Q\"}]}";
        String assistant = "{\"role\": \"assistant\", \"content\": [{\"text\": \"A\"}]}";
        assertThat(errors(String.join("\n",
                head + assistant + "," + user + "]}",
                head + user + "," + assistant + "," + user + "]}",
                head + user + ", {\"role\": \"system\", \"content\": [{\"text\": \"S\"}]}]}",
                head + user + ", {\"role\": \"assistant\", \"content\": [{\"image\": {}}]}]}",
                head + user + ", {\"role\": \"assistant\", \"content\": \"A\"}]}")))
                .containsExactly(
                        "line 1: messages[0].role must be user, not 'assistant': turns alternate user, assistant, "
                                + "starting with user",
                        "line 1: messages[1].role must be assistant, not 'user': turns alternate user, assistant, "
                                + "starting with user",
                        "line 2: the last message must be the assistant's; this conversation ends with a user turn",
                        "line 3: messages[1].role must be user or assistant, not 'system'",
                        "line 4: unknown field 'messages[1].content[0].image'; messages[1].content[0] may hold only text",
                        "line 4: messages[1].content[0].text is required",
                        "line 5: messages[1].content must be an array of {\"text\": \"…\"} blocks, not a string");
    }

    @Test
    void unknownFieldsAreRefusedByName() {
        assertThat(errors(TEXT + "\n{\"prompt\": \"a\", \"completion\": \"b\", \"weight\": 1, \"id\": 3}\n"
                + "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\", \"name\": \"bob\"}, "
                + "{\"role\": \"assistant\", \"content\": \"Yo\"}]}"))
                .containsExactly("line 2: unknown fields 'weight', 'id'; a record may hold only completion, prompt",
                        "line 3: this record is OpenAI chat, but the dataset is Bedrock text (from line 1); a dataset "
                                + "holds records of one format");
        assertThat(errors(CHAT + "\n{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\", \"name\": \"bob\"}, "
                + "{\"role\": \"assistant\", \"content\": \"Yo\"}], \"tools\": []}"))
                .containsExactly("line 2: unknown field 'tools'; a record may hold only messages",
                        "line 2: unknown field 'messages[0].name'; messages[0] may hold only content, role");
    }

    @Test
    void malformedJsonAndOtherValuesNameTheirLine() {
        assertThat(errors(CHAT + "\n{\"messages\": [\n[1, 2]\n\"text\"\n{\"prompt\": \"a\", \"prompt\": \"b\"}\n"
                + CHAT + " {}\n{\"hello\": \"world\"}")).satisfiesExactly(
                e -> assertThat(e).startsWith("line 2: not valid JSON: "),
                e -> assertThat(e).isEqualTo("line 3: a record is a JSON object, not an array"),
                e -> assertThat(e).isEqualTo("line 4: a record is a JSON object, not a string"),
                e -> assertThat(e).startsWith("line 5: not valid JSON: Duplicate field 'prompt'"),
                e -> assertThat(e).startsWith("line 6: not valid JSON: "),
                e -> assertThat(e).startsWith("line 7: not a record of a format the factory knows: ")
                        .endsWith("found the fields hello"));
    }

    @Test
    void theFormatComesFromTheFirstRecordThatReads() {
        List<String> errors = errors("not json\n" + TEXT + "\n" + CHAT);
        assertThat(errors).hasSize(2);
        assertThat(errors.get(0)).startsWith("line 1: not valid JSON");
        assertThat(errors.get(1)).isEqualTo("line 3: this record is OpenAI chat, but the dataset is Bedrock text (from "
                + "line 2); a dataset holds records of one format");
    }

    @Test
    void emptyFilesAndBlankLinesHoldNoDataset() {
        assertThat(errors("")).containsExactly("the dataset is empty; a dataset is JSON Lines, one record per line");
        assertThat(errors("\n  \n\r\n")).containsExactly(
                "the dataset holds only blank lines; a dataset is JSON Lines, one record per line");
    }

    @Test
    void invalidUtf8IsAnErrorOfItsLine() {
        byte[] content = (CHAT + "\n{\"prompt\": \"caf\u00e9\", \"completion\": \"x\"}\n").getBytes(StandardCharsets.UTF_8);
        byte[] broken = java.util.Arrays.copyOf(content, content.length);
        int at = CHAT.length() + 1 + "{\"prompt\": \"caf".length();
        broken[at] = (byte) 0xff;
        DatasetParser.Result result = DatasetParser.parse(broken, LIMITS, new ArrayList<>());
        assertThat(((DatasetParser.Result.Invalid) result).errors())
                .containsExactly("line 2: not valid UTF-8; a dataset is UTF-8 text");
    }

    @Test
    void listsTwentyErrorsThenCountsTheRest() {
        String content = TEXT + "\n" + IntStream.range(0, 25).mapToObj(i -> "{\"prompt\": \"x\"}")
                .collect(Collectors.joining("\n"));
        DatasetParser.Result.Invalid invalid = (DatasetParser.Result.Invalid) parse(content, new ArrayList<>());
        assertThat(invalid.errors()).hasSize(DatasetParser.MAX_ERRORS);
        assertThat(invalid.errors().getFirst()).isEqualTo("line 2: completion is required");
        assertThat(invalid.errors().getLast()).isEqualTo("line 21: completion is required");
        assertThat(invalid.more()).isEqualTo(5);
        assertThat(invalid.message()).endsWith("line 21: completion is required; … and 5 more");
    }

    @Test
    void aRecordLongerThanTheLimitIsAnErrorOfItsLine() {
        DatasetLimits small = new DatasetLimits(64, 1 << 20, 100);
        String longPrompt = "{\"prompt\": \"" + "x".repeat(200) + "\", \"completion\": \"y\"}";
        assertThat(errors(TEXT + "\n" + longPrompt + "\n" + TEXT + "\n", small)).containsExactly(
                "line 2: the record is " + longPrompt.length() + " bytes; a record may be at most 64 bytes");
        String frame = "{\"prompt\": \"\", \"completion\": \"y\"}";
        String exactly = "{\"prompt\": \"" + "x".repeat(64 - frame.length()) + "\", \"completion\": \"y\"}";
        assertThat(exactly).hasSize(64);
        assertThat(DatasetParser.parse((exactly + "\r\n" + exactly).getBytes(StandardCharsets.UTF_8), small,
                new ArrayList<>())).as("a CR before the LF is not the record's").isInstanceOf(
                DatasetParser.Result.Valid.class);
    }

    @Test
    void aDatasetPastItsSizeOrRecordLimitIsTooLarge() {
        String content = (TEXT + "\n").repeat(10);
        assertThatThrownBy(() -> DatasetParser.parse(content.getBytes(StandardCharsets.UTF_8),
                new DatasetLimits(1024, content.length() - 1, 100), new ArrayList<>()))
                .isInstanceOfSatisfying(FactoryException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.PAYLOAD_TOO_LARGE));
        assertThatThrownBy(() -> DatasetParser.parse(content.getBytes(StandardCharsets.UTF_8),
                new DatasetLimits(1024, 1 << 20, 9), new ArrayList<>()))
                .isInstanceOfSatisfying(FactoryException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.PAYLOAD_TOO_LARGE);
                    assertThat(e.getMessage()).contains("more than 9 records");
                });
        assertThat(DatasetParser.parse(content.getBytes(StandardCharsets.UTF_8),
                new DatasetLimits(1024, content.length(), 10), new ArrayList<>()))
                .isInstanceOf(DatasetParser.Result.Valid.class);
    }

    @Test
    void formatsHaveWireNames() {
        for (DatasetFormat f : DatasetFormat.values()) {
            assertThat(DatasetFormat.parse(f.id())).isEqualTo(f);
        }
        assertThatThrownBy(() -> DatasetFormat.parse("csv")).hasMessageContaining("unknown dataset format 'csv'");
    }
}
