package ai.factory.training;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.engine.chat.TrainingExample;
import ai.factory.engine.chat.ChatMessage;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Reads a dataset: JSON Lines in UTF-8, one record per line, every record of the format the first one has
 * ({@link DatasetFormat}). Blank lines are skipped (their numbers still count), a line may end in CRLF, and a UTF-8
 * byte-order mark before the first line is ignored. Records are strict, as training data should be: a field the
 * format does not define is an error naming it, and so is a key given twice.
 *
 * <p>Every line is checked, and the errors are collected with their line numbers (the first {@link #MAX_ERRORS}, then
 * how many more), so one upload shows what to fix. A record longer than {@link DatasetLimits#maxRecordBytes} is an
 * error of its line; a dataset past {@link DatasetLimits#maxDatasetBytes} or {@link DatasetLimits#maxRecords} stops the
 * read with {@link ErrorCode#PAYLOAD_TOO_LARGE}.
 */
public final class DatasetParser {
    /** The errors a result lists; beyond these it counts them. */
    public static final int MAX_ERRORS = 20;

    private static final ObjectReader JSON = Json.mapper().reader().with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);
    private static final Set<String> TEXT_FIELDS = Set.of("prompt", "completion");
    private static final Set<String> CONVERSATION_FIELDS = Set.of("schemaVersion", "system", "messages");
    private static final Set<String> CHAT_FIELDS = Set.of("messages");
    private static final Set<String> CONVERSATION_MESSAGE_FIELDS = Set.of("role", "content");
    private static final Set<String> CHAT_MESSAGE_FIELDS = Set.of("role", "content");
    private static final Set<String> TEXT_BLOCK_FIELDS = Set.of("text");

    private DatasetParser() {}

    /** What a read found: a valid dataset, or the errors that make it invalid. */
    public sealed interface Result {
        /** A dataset every line of which is a record of {@code format}. */
        record Valid(DatasetFormat format, int records, long bytes) implements Result {
            public Valid {
                requireNonNull(format, "format is null");
            }
        }

        /**
         * A dataset with errors: the first {@link #MAX_ERRORS}, each {@code line N: …} (or one about the whole file),
         * and how many more there were.
         */
        record Invalid(List<String> errors, int more) implements Result {
            public Invalid {
                errors = List.copyOf(errors);
                if (errors.isEmpty()) {
                    throw new IllegalArgumentException("an invalid dataset has at least one error");
                }
            }

            /** The errors on one line: {@code line 3: …; line 7: …; … and 4 more}. */
            public String message() {
                return String.join("; ", errors) + (more == 0 ? "" : "; … and " + more + " more");
            }
        }
    }

    /**
     * Reads a whole dataset from {@code in}, handing each valid record to {@code examples} as it is read (an invalid
     * dataset may have handed some before its errors were known). Does not close {@code in}.
     *
     * @throws FactoryException PAYLOAD_TOO_LARGE past the dataset's size or record limit
     * @throws UncheckedIOException when {@code in} fails
     */
    public static Result parse(InputStream in, DatasetLimits limits, Consumer<TrainingExample> examples) {
        requireNonNull(in, "in is null");
        requireNonNull(limits, "limits is null");
        requireNonNull(examples, "examples is null");
        Reading reading = new Reading(limits, examples);
        long bytes;
        try {
            bytes = new Lines(in, limits).forEach(reading::line);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return reading.result(bytes);
    }

    /** Reads a dataset held in memory and returns its examples; for tests and small files. */
    public static Result parse(byte[] content, DatasetLimits limits, List<TrainingExample> examples) {
        return parse(new java.io.ByteArrayInputStream(content), limits, examples::add);
    }

    /** One line of the input: its number, its bytes (null when it was longer than a record may be), its length. */
    private record Line(int number, byte @Nullable [] bytes, long length) {}

    /** Splits the input into lines without holding more than one record's bytes. */
    private static final class Lines {
        private final InputStream in;
        private final DatasetLimits limits;
        private final byte[] buffer = new byte[64 * 1024];
        private int position;
        private int limit;
        private long total;

        Lines(InputStream in, DatasetLimits limits) {
            this.in = in;
            this.limits = limits;
        }

        interface LineConsumer {
            void accept(Line line);
        }

        /** Hands each line to {@code consumer}; returns how many bytes the input held. */
        long forEach(LineConsumer consumer) throws IOException {
            ByteArrayOutputStream current = new ByteArrayOutputStream();
            long length = 0;
            int number = 1;
            boolean first = true;
            while (true) {
                if (position == limit) {
                    limit = in.read(buffer, 0, buffer.length);
                    position = 0;
                    if (limit < 0) {
                        break;
                    }
                    total += limit;
                    if (total > limits.maxDatasetBytes()) {
                        throw new FactoryException(ErrorCode.PAYLOAD_TOO_LARGE, "the dataset is larger than "
                                + limits.maxDatasetBytes() + " bytes, the most one may hold");
                    }
                    continue;
                }
                int end = position;
                while (end < limit && buffer[end] != '\n') {
                    end++;
                }
                int n = end - position;
                if (length + n <= limits.maxRecordBytes() + 1) { // +1: a CR before the LF is not the record's
                    current.write(buffer, position, n);
                }
                length += n;
                position = end;
                if (end < limit) {
                    position++; // the LF
                    consumer.accept(line(number++, current, length, first));
                    first = false;
                    current.reset();
                    length = 0;
                }
            }
            if (length > 0) {
                consumer.accept(line(number, current, length, first));
            }
            return total;
        }

        private Line line(int number, ByteArrayOutputStream current, long length, boolean first) {
            byte[] bytes = current.toByteArray();
            int from = 0;
            int to = bytes.length;
            if (first && to >= 3 && (bytes[0] & 0xff) == 0xef && (bytes[1] & 0xff) == 0xbb && (bytes[2] & 0xff) == 0xbf) {
                from = 3;
                length -= 3;
            }
            if (length > 0 && length == to - from && bytes[to - 1] == '\r') {
                to--;
                length--;
            }
            if (length > limits.maxRecordBytes()) {
                return new Line(number, null, length);
            }
            return new Line(number, java.util.Arrays.copyOfRange(bytes, from, to), length);
        }
    }

    /** The state of one read: the format once detected, the records, the errors. */
    private static final class Reading {
        private final DatasetLimits limits;
        private final Consumer<TrainingExample> examples;
        private final List<String> errors = new ArrayList<>();
        private int more;
        private @Nullable DatasetFormat format;
        private int formatLine;
        private int records;
        private boolean anyRecord;

        Reading(DatasetLimits limits, Consumer<TrainingExample> examples) {
            this.limits = limits;
            this.examples = examples;
        }

        void error(int line, String message) {
            if (errors.size() < MAX_ERRORS) {
                errors.add("line " + line + ": " + message);
            } else {
                more++;
            }
        }

        void line(Line line) {
            if (line.bytes() == null) {
                anyRecord = true;
                countRecord();
                error(line.number(), "the record is " + line.length() + " bytes; a record may be at most "
                        + limits.maxRecordBytes() + " bytes");
                return;
            }
            String text;
            try {
                text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(line.bytes()))
                        .toString();
            } catch (CharacterCodingException e) {
                anyRecord = true;
                countRecord();
                error(line.number(), "not valid UTF-8; a dataset is UTF-8 text");
                return;
            }
            if (text.isBlank()) {
                return;
            }
            anyRecord = true;
            countRecord();
            JsonNode record;
            try {
                record = JSON.readTree(text);
            } catch (JsonProcessingException e) {
                var at = e.getLocation();
                error(line.number(), "not valid JSON: " + e.getOriginalMessage().lines().findFirst().orElse("")
                        + (at == null ? "" : " (column " + at.getColumnNr() + ")"));
                return;
            }
            if (record == null || !record.isObject()) {
                error(line.number(), "a record is a JSON object, not " + kind(record));
                return;
            }
            Optional<DatasetFormat> detected = detect(record);
            if (detected.isEmpty()) {
                error(line.number(), "not a record of a format the factory knows: expected Bedrock text "
                        + "{\"prompt\", \"completion\"}, Bedrock conversation {\"schemaVersion\": \""
                        + DatasetFormat.BEDROCK_CONVERSATION_SCHEMA + "\", \"messages\"} or OpenAI chat "
                        + "{\"messages\": [{\"role\", \"content\"}]}; found the fields " + fieldNames(record));
                return;
            }
            if (format == null) {
                format = detected.get();
                formatLine = line.number();
            } else if (detected.get() != format) {
                error(line.number(), "this record is " + detected.get().title() + ", but the dataset is " + format.title()
                        + " (from line " + formatLine + "); a dataset holds records of one format");
                return;
            }
            Problems problems = new Problems(this, line.number());
            TrainingExample example = switch (format) {
                case BEDROCK_TEXT -> bedrockText(record, problems);
                case BEDROCK_CONVERSATION -> bedrockConversation(record, problems);
                case OPENAI_CHAT -> openAiChat(record, problems);
            };
            if (example != null && !problems.any) {
                examples.accept(example);
            }
        }

        private void countRecord() {
            records++;
            if (records > limits.maxRecords()) {
                throw new FactoryException(ErrorCode.PAYLOAD_TOO_LARGE, "the dataset holds more than "
                        + limits.maxRecords() + " records, the most one may hold");
            }
        }

        Result result(long bytes) {
            if (!anyRecord) {
                return new Result.Invalid(List.of(bytes == 0 ? "the dataset is empty; a dataset is JSON Lines, one "
                        + "record per line" : "the dataset holds only blank lines; a dataset is JSON Lines, one record "
                        + "per line"), 0);
            }
            if (!errors.isEmpty()) {
                return new Result.Invalid(errors, more);
            }
            return new Result.Valid(requireNonNull(format, "format is null"), records, bytes);
        }
    }

    /** The errors of one record, each prefixed with its line. */
    private static final class Problems {
        private final Reading reading;
        private final int line;
        boolean any;

        Problems(Reading reading, int line) {
            this.reading = reading;
            this.line = line;
        }

        void add(String message) {
            any = true;
            reading.error(line, message);
        }
    }

    /**
     * The format a record is written in: a {@code schemaVersion}, or messages whose content is a list of blocks (or a
     * {@code system} list) make it Bedrock conversation; a {@code prompt} or {@code completion} Bedrock text; other
     * {@code messages} OpenAI chat.
     */
    static Optional<DatasetFormat> detect(JsonNode record) {
        if (record.has("schemaVersion") || record.path("system").isArray()
                || record.path("messages").path(0).path("content").isArray()) {
            return Optional.of(DatasetFormat.BEDROCK_CONVERSATION);
        }
        if (record.has("prompt") || record.has("completion")) {
            return Optional.of(DatasetFormat.BEDROCK_TEXT);
        }
        if (record.has("messages")) {
            return Optional.of(DatasetFormat.OPENAI_CHAT);
        }
        return Optional.empty();
    }

    private static TrainingExample.@Nullable Completion bedrockText(JsonNode record, Problems problems) {
        unknownFields(record, TEXT_FIELDS, "", problems);
        String prompt = text(record, "prompt", "prompt", problems);
        String completion = text(record, "completion", "completion", problems);
        return prompt == null || completion == null ? null : new TrainingExample.Completion(prompt, completion);
    }

    private static TrainingExample.@Nullable Conversation bedrockConversation(JsonNode record, Problems problems) {
        unknownFields(record, CONVERSATION_FIELDS, "", problems);
        JsonNode schema = record.get("schemaVersion");
        if (schema == null) {
            problems.add("schemaVersion is required: \"" + DatasetFormat.BEDROCK_CONVERSATION_SCHEMA + "\"");
        } else if (!schema.isTextual() || !schema.asText().equals(DatasetFormat.BEDROCK_CONVERSATION_SCHEMA)) {
            problems.add("schemaVersion must be \"" + DatasetFormat.BEDROCK_CONVERSATION_SCHEMA + "\", not "
                    + schema);
        }
        List<ChatMessage> messages = new ArrayList<>();
        JsonNode system = record.get("system");
        if (system != null) {
            String prompt = textBlocks(system, "system", problems);
            if (prompt != null) {
                messages.add(ChatMessage.system(prompt));
            }
        }
        JsonNode turns = messages(record, problems);
        if (turns == null) {
            return null;
        }
        for (int i = 0; i < turns.size(); i++) {
            String at = "messages[" + i + "]";
            JsonNode m = turns.get(i);
            if (!m.isObject()) {
                problems.add(at + " must be an object, not " + kind(m));
                continue;
            }
            unknownFields(m, CONVERSATION_MESSAGE_FIELDS, at + ".", problems);
            String expected = i % 2 == 0 ? "user" : "assistant";
            String role = text(m, "role", at + ".role", problems);
            if (role != null && !role.equals("user") && !role.equals("assistant")) {
                problems.add(at + ".role must be user or assistant, not '" + role + "'");
                role = null;
            } else if (role != null && !role.equals(expected)) {
                problems.add(at + ".role must be " + expected + ", not '" + role + "': turns alternate user, "
                        + "assistant, starting with user");
                role = null;
            }
            JsonNode content = m.get("content");
            String text = content == null ? missing(at + ".content", problems) : textBlocks(content, at + ".content",
                    problems);
            if (role != null && text != null) {
                messages.add(role.equals("user") ? ChatMessage.user(text) : ChatMessage.assistant(text));
            }
        }
        if (turns.size() % 2 == 1) {
            problems.add("the last message must be the assistant's; this conversation ends with a user turn");
        }
        return problems.any ? null : new TrainingExample.Conversation(messages);
    }

    private static TrainingExample.@Nullable Conversation openAiChat(JsonNode record, Problems problems) {
        unknownFields(record, CHAT_FIELDS, "", problems);
        JsonNode turns = messages(record, problems);
        if (turns == null) {
            return null;
        }
        List<ChatMessage> messages = new ArrayList<>();
        boolean conversationStarted = false;
        @Nullable String lastRole = null;
        for (int i = 0; i < turns.size(); i++) {
            String at = "messages[" + i + "]";
            JsonNode m = turns.get(i);
            if (!m.isObject()) {
                problems.add(at + " must be an object, not " + kind(m));
                continue;
            }
            unknownFields(m, CHAT_MESSAGE_FIELDS, at + ".", problems);
            String role = text(m, "role", at + ".role", problems);
            String content = text(m, "content", at + ".content", problems);
            if (role == null) {
                continue;
            }
            lastRole = role;
            switch (role) {
                case "system" -> {
                    if (conversationStarted) {
                        problems.add(at + " is a system message after the conversation began; system messages "
                                + "come first");
                    } else if (content != null) {
                        messages.add(ChatMessage.system(content));
                    }
                }
                case "user", "assistant" -> {
                    conversationStarted = true;
                    if (content != null) {
                        messages.add(role.equals("user") ? ChatMessage.user(content) : ChatMessage.assistant(content));
                    }
                }
                default -> problems.add(at + ".role must be system, user or assistant, not '" + role + "'");
            }
        }
        if (lastRole != null && !lastRole.equals("assistant")) {
            problems.add("the last message must be the assistant's, not " + lastRole + "; the assistant's messages "
                    + "are what the model learns");
        }
        return problems.any ? null : new TrainingExample.Conversation(messages);
    }

    /** The record's {@code messages}: a non-empty array, else null with the error. */
    private static @Nullable JsonNode messages(JsonNode record, Problems problems) {
        JsonNode messages = record.get("messages");
        if (messages == null) {
            problems.add("messages is required");
            return null;
        }
        if (!messages.isArray()) {
            problems.add("messages must be an array, not " + kind(messages));
            return null;
        }
        if (messages.isEmpty()) {
            problems.add("messages must not be empty");
            return null;
        }
        return messages;
    }

    /** Bedrock's content blocks ({@code [{"text": "…"}, …]}) as one text, blocks joined by a line break. */
    private static @Nullable String textBlocks(JsonNode blocks, String at, Problems problems) {
        if (!blocks.isArray()) {
            problems.add(at + " must be an array of {\"text\": \"…\"} blocks, not " + kind(blocks));
            return null;
        }
        if (blocks.isEmpty()) {
            problems.add(at + " must hold at least one {\"text\": \"…\"} block");
            return null;
        }
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < blocks.size(); i++) {
            JsonNode block = blocks.get(i);
            String where = at + "[" + i + "]";
            if (!block.isObject()) {
                problems.add(where + " must be an object {\"text\": \"…\"}, not " + kind(block));
                continue;
            }
            unknownFields(block, TEXT_BLOCK_FIELDS, where + ".", problems);
            String text = text(block, "text", where + ".text", problems);
            if (text != null) {
                texts.add(text);
            }
        }
        return texts.size() == blocks.size() ? String.join("\n", texts) : null;
    }

    /** A required, non-empty string field; null with the error otherwise. */
    private static @Nullable String text(JsonNode parent, String field, String at, Problems problems) {
        JsonNode value = parent.get(field);
        if (value == null) {
            return missing(at, problems);
        }
        if (!value.isTextual()) {
            problems.add(at + " must be a string, not " + kind(value));
            return null;
        }
        if (value.asText().isEmpty()) {
            problems.add(at + " must not be empty");
            return null;
        }
        return value.asText();
    }

    private static @Nullable String missing(String at, Problems problems) {
        problems.add(at + " is required");
        return null;
    }

    private static void unknownFields(JsonNode object, Set<String> known, String at, Problems problems) {
        Set<String> unknown = new LinkedHashSet<>();
        for (Iterator<String> names = object.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!known.contains(name)) {
                unknown.add(name);
            }
        }
        if (!unknown.isEmpty()) {
            problems.add((unknown.size() == 1 ? "unknown field " : "unknown fields ")
                    + String.join(", ", unknown.stream().map(u -> "'" + at + u + "'").toList()) + "; "
                    + (at.isEmpty() ? "a record" : at.substring(0, at.length() - 1)) + " may hold only "
                    + String.join(", ", known.stream().sorted().toList()));
        }
    }

    private static String fieldNames(JsonNode record) {
        List<String> names = new ArrayList<>();
        record.fieldNames().forEachRemaining(names::add);
        return names.isEmpty() ? "none" : String.join(", ", names);
    }

    private static String kind(@Nullable JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return "nothing";
        }
        return switch (node.getNodeType()) {
            case ARRAY -> "an array";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            case NUMBER -> "a number";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case BINARY, POJO, MISSING -> "a value of another kind";
        };
    }
}
