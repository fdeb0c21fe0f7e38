package ai.factory.engine.grammar;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jspecify.annotations.Nullable;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * JSON Schema to GBNF: rules whose language is a subset of the JSON texts valid against the schema, so that a
 * generation under the grammar always validates.
 *
 * <p>What is expressed: {@code type} (one or a list), {@code enum}, {@code const}, {@code anyOf}, {@code oneOf}
 * (as alternation: the schema author keeps the branches disjoint), {@code allOf} of object schemas (merged),
 * {@code $ref} to {@code #}, {@code #/$defs/...} and {@code #/definitions/...} (recursion included); objects
 * with {@code properties} (in declaration order, optional ones may be left out), {@code required} and
 * {@code additionalProperties}; arrays with {@code items}, {@code prefixItems}, {@code minItems},
 * {@code maxItems}; strings with {@code minLength}, {@code maxLength}, {@code pattern} (a regular-expression
 * subset, see {@link RegexGrammar}) and {@code format} date, time, date-time, uuid, email, ipv4; integers and
 * numbers with {@code minimum}, {@code maximum}, {@code exclusiveMinimum}, {@code exclusiveMaximum} (for numbers
 * the bounds must be whole numbers).
 *
 * <p>Choices made so that a generation can always end: at most one space between tokens, numbers of at most 16
 * integral and 16 fractional digits with an exponent of at most 2 digits (no exponent where a range applies).
 * An object schema with {@code properties} but no {@code additionalProperties} gets exactly its declared
 * properties (a subset of what the schema allows); an object schema with neither gets any members. February
 * the 29th is never produced for {@code format: date} (leap years are not worth the grammar).
 *
 * <p>Annotations ({@code title}, {@code description}, {@code default}, ...) and keywords JSON Schema does not
 * define are ignored; validation keywords that would change the meaning and are not expressed here
 * ({@code patternProperties}, {@code if}, {@code not}, {@code uniqueItems}, ...) are refused with a
 * {@link SchemaNotSupportedException} naming the keyword's JSON Pointer.
 */
final class JsonSchemaGrammar {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Bounds above this are refused: llama.cpp expands a bounded repetition into one rule per optional item. */
    static final int MAX_BOUND = 10_000;
    /** Largest integer magnitude written, in digits: keeps every number finite in length. */
    private static final int MAX_DIGITS = 16;
    private static final long MAX_MAGNITUDE = 9_999_999_999_999_999L;

    /** Validation keywords with a meaning this converter does not express. */
    private static final Set<String> REFUSED = Set.of("patternProperties", "dependentSchemas", "dependentRequired",
            "dependencies", "if", "then", "else", "not", "uniqueItems", "multipleOf", "contains", "minContains",
            "maxContains", "propertyNames", "unevaluatedProperties", "unevaluatedItems", "minProperties",
            "maxProperties", "additionalItems", "$dynamicRef", "$recursiveRef");
    /** Keywords that constrain a value and are expressed here, by the type they apply to. */
    private static final Set<String> OBJECT_KEYWORDS = Set.of("properties", "required", "additionalProperties");
    private static final Set<String> ARRAY_KEYWORDS = Set.of("items", "prefixItems", "minItems", "maxItems");
    private static final Set<String> STRING_KEYWORDS = Set.of("minLength", "maxLength", "pattern", "format");
    private static final Set<String> NUMBER_KEYWORDS = Set.of("minimum", "maximum", "exclusiveMinimum",
            "exclusiveMaximum");
    private static final Set<String> COMBINING_KEYWORDS = Set.of("type", "enum", "const", "anyOf", "oneOf", "allOf",
            "$ref");
    private static final Set<String> TYPES = Set.of("object", "array", "string", "integer", "number", "boolean",
            "null");

    private final Gbnf gbnf;
    private final JsonNode root;
    private final Map<String, String> refRules = new HashMap<>();
    private final Map<String, String> primitives = new HashMap<>();

    private JsonSchemaGrammar(Gbnf gbnf, JsonNode root) {
        this.gbnf = gbnf;
        this.root = root;
    }

    static String addTo(Gbnf gbnf, String name, JsonNode schema) {
        requireNonNull(gbnf, "gbnf is null");
        requireNonNull(name, "name is null");
        requireNonNull(schema, "schema is null");
        JsonSchemaGrammar converter = new JsonSchemaGrammar(gbnf, schema);
        if (refersTo(schema, "#")) {
            // The root refers to itself: its rule needs a name before its body exists.
            String rule = gbnf.reserve(name);
            converter.refRules.put("#", rule);
            gbnf.define(rule, converter.body(schema, rule, "#"));
            return rule;
        }
        return converter.rule(schema, name, "#");
    }

    /** The rules of "any JSON value", added to {@code gbnf}; returns the value rule. */
    static String anyValue(Gbnf gbnf) {
        return new JsonSchemaGrammar(gbnf, JSON.createObjectNode()).primitive("value");
    }

    /** The rules of "any JSON object", added to {@code gbnf}; returns the object rule. */
    static String anyObject(Gbnf gbnf) {
        return new JsonSchemaGrammar(gbnf, JSON.createObjectNode()).primitive("object");
    }

    private static boolean refersTo(JsonNode node, String ref) {
        if (node.isObject()) {
            JsonNode r = node.get("$ref");
            if (r != null && r.isTextual() && r.asText().equals(ref)) {
                return true;
            }
        }
        for (JsonNode child : node) {
            if (refersTo(child, ref)) {
                return true;
            }
        }
        return false;
    }

    /** A rule (or primitive) name matching {@code schema}. */
    private String rule(JsonNode schema, String name, String path) {
        String body = body(schema, name, path);
        if (body.matches("[A-Za-z0-9-]+")) {
            return body;
        }
        return gbnf.rule(name, body);
    }

    private String body(JsonNode schema, String name, String path) {
        if (schema.isBoolean()) {
            if (schema.booleanValue()) {
                return primitive("value");
            }
            throw unsupported(path, holder(path), "is the schema false, which no value matches");
        }
        if (!schema.isObject()) {
            throw unsupported(path, holder(path), "must be a schema (an object or a boolean), not " + schema.getNodeType());
        }
        schema.fieldNames().forEachRemaining(keyword -> {
            if (REFUSED.contains(keyword)) {
                throw unsupported(path + "/" + escape(keyword), keyword,
                        "is not supported in schemas for structured output; remove it or describe the constraint in the prompt");
            }
        });
        if (schema.has("$ref")) {
            requireOnly(schema, path, "$ref", Set.of("$ref"));
            return ref(schema.get("$ref"), path + "/$ref");
        }
        if (schema.has("const")) {
            return literalJson(schema.get("const"));
        }
        if (schema.has("enum")) {
            return enumeration(schema.get("enum"), path + "/enum");
        }
        for (String keyword : List.of("anyOf", "oneOf")) {
            if (schema.has(keyword)) {
                requireOnly(schema, path, keyword, Set.of(keyword));
                JsonNode branches = schema.get(keyword);
                String at = path + "/" + keyword;
                if (!branches.isArray() || branches.isEmpty()) {
                    throw unsupported(at, keyword, "must be a non-empty array of schemas");
                }
                List<String> alternatives = new ArrayList<>();
                for (int i = 0; i < branches.size(); i++) {
                    alternatives.add(rule(branches.get(i), name + "-" + i, at + "/" + i));
                }
                return String.join(" | ", alternatives);
            }
        }
        if (schema.has("allOf")) {
            return body(mergeAllOf((ObjectNode) schema, path), name, path);
        }
        JsonNode type = schema.get("type");
        if (type != null && type.isArray()) {
            if (type.isEmpty()) {
                throw unsupported(path + "/type", "type", "must not be an empty list");
            }
            List<String> alternatives = new ArrayList<>();
            for (int i = 0; i < type.size(); i++) {
                ObjectNode single = ((ObjectNode) schema).deepCopy();
                single.set("type", type.get(i));
                String typeName = type.get(i).isTextual() ? type.get(i).asText() : "t" + i;
                alternatives.add(rule(single, name + "-" + typeName, path));
            }
            return String.join(" | ", new LinkedHashSet<>(alternatives));
        }
        String typeName;
        if (type == null) {
            typeName = inferType(schema);
        } else if (type.isTextual() && TYPES.contains(type.asText())) {
            typeName = type.asText();
        } else {
            throw unsupported(path + "/type", "type",
                    "must be one of object, array, string, integer, number, boolean, null (or a list of them), not " + type);
        }
        return switch (typeName) {
            case "any" -> primitive("value");
            case "object" -> object(schema, name, path);
            case "array" -> array(schema, name, path);
            case "string" -> string(schema, name, path);
            case "integer" -> integer(schema, path);
            case "number" -> number(schema, path);
            case "boolean" -> primitive("boolean");
            case "null" -> primitive("null");
            default -> throw new IllegalStateException(typeName);
        };
    }

    private static String inferType(JsonNode schema) {
        Set<String> present = new java.util.HashSet<>();
        schema.fieldNames().forEachRemaining(present::add);
        if (present.stream().anyMatch(OBJECT_KEYWORDS::contains)) {
            return "object";
        }
        if (present.stream().anyMatch(ARRAY_KEYWORDS::contains)) {
            return "array";
        }
        if (present.stream().anyMatch(STRING_KEYWORDS::contains)) {
            return "string";
        }
        if (present.stream().anyMatch(NUMBER_KEYWORDS::contains)) {
            return "number";
        }
        return "any";
    }

    /** Refuses validation keywords beside {@code keyword} that the grammar for {@code keyword} alone would ignore. */
    private static void requireOnly(JsonNode schema, String path, String keyword, Set<String> allowed) {
        schema.fieldNames().forEachRemaining(other -> {
            boolean validation = COMBINING_KEYWORDS.contains(other) || OBJECT_KEYWORDS.contains(other)
                    || ARRAY_KEYWORDS.contains(other) || STRING_KEYWORDS.contains(other) || NUMBER_KEYWORDS.contains(other);
            if (validation && !allowed.contains(other)) {
                throw unsupported(path + "/" + escape(other), other,
                        "cannot be combined with '" + keyword + "' in one schema; move it into the '" + keyword + "' branches");
            }
        });
    }

    private String ref(JsonNode ref, String path) {
        if (!ref.isTextual()) {
            throw unsupported(path, "$ref", "must be a string");
        }
        String target = ref.asText();
        String existing = refRules.get(target);
        if (existing != null) {
            return existing;
        }
        if (!target.equals("#") && !target.startsWith("#/$defs/") && !target.startsWith("#/definitions/")) {
            throw unsupported(path, "$ref", "\"" + target + "\" is not supported; only #, #/$defs/... and #/definitions/... refer within the schema");
        }
        JsonNode resolved = target.equals("#") ? root : root.at(target.substring(1));
        if (resolved.isMissingNode()) {
            throw unsupported(path, "$ref", "\"" + target + "\" does not resolve to a schema in this document");
        }
        String rule = gbnf.reserve(target.substring(target.lastIndexOf('/') + 1));
        refRules.put(target, rule);
        gbnf.define(rule, body(resolved, rule, target));
        return rule;
    }

    private ObjectNode mergeAllOf(ObjectNode schema, String path) {
        JsonNode parts = schema.get("allOf");
        String at = path + "/allOf";
        if (!parts.isArray() || parts.isEmpty()) {
            throw unsupported(at, "allOf", "must be a non-empty array of schemas");
        }
        ObjectNode merged = schema.deepCopy();
        merged.remove("allOf");
        for (int i = 0; i < parts.size(); i++) {
            JsonNode part = parts.get(i);
            String partPath = at + "/" + i;
            while (part.isObject() && part.has("$ref") && part.get("$ref").isTextual()) {
                String target = part.get("$ref").asText();
                JsonNode resolved = target.startsWith("#") ? root.at(target.substring(1)) : null;
                if (resolved == null || resolved.isMissingNode() || target.equals("#")) {
                    throw unsupported(partPath + "/$ref", "$ref", "\"" + target + "\" does not resolve to a schema that allOf can merge");
                }
                part = resolved;
            }
            if (!part.isObject() || !"object".equals(inferTypeOrType(part))) {
                throw unsupported(partPath, "allOf", "is supported only for object schemas, which are merged");
            }
            for (Map.Entry<String, JsonNode> field : part.properties()) {
                String keyword = field.getKey();
                JsonNode value = field.getValue();
                switch (keyword) {
                    case "properties" -> {
                        ObjectNode properties = merged.has("properties") ? (ObjectNode) merged.get("properties")
                                : merged.putObject("properties");
                        for (Map.Entry<String, JsonNode> property : value.properties()) {
                            JsonNode previous = properties.get(property.getKey());
                            if (previous != null && !previous.equals(property.getValue())) {
                                throw unsupported(partPath + "/properties/" + escape(property.getKey()), "allOf",
                                        "gives property \"" + property.getKey() + "\" a second, different schema");
                            }
                            properties.set(property.getKey(), property.getValue());
                        }
                    }
                    case "required" -> {
                        ArrayNode required = merged.has("required") ? (ArrayNode) merged.get("required")
                                : merged.putArray("required");
                        for (JsonNode item : value) {
                            if (!required.toString().contains(item.toString())) {
                                required.add(item);
                            }
                        }
                    }
                    case "additionalProperties" -> {
                        if (!merged.has(keyword) || value.equals(JSON.getNodeFactory().booleanNode(false))) {
                            merged.set(keyword, value);
                        }
                    }
                    default -> {
                        JsonNode previous = merged.get(keyword);
                        if (previous != null && !previous.equals(value) && !keyword.equals("type")) {
                            throw unsupported(partPath + "/" + escape(keyword), keyword,
                                    "differs between allOf branches, which cannot be merged");
                        }
                        merged.set(keyword, value);
                    }
                }
            }
        }
        merged.put("type", "object");
        return merged;
    }

    private static String inferTypeOrType(JsonNode schema) {
        JsonNode type = schema.get("type");
        return type != null && type.isTextual() ? type.asText() : inferType(schema);
    }

    // ---- objects

    private String object(JsonNode schema, String name, String path) {
        JsonNode properties = schema.get("properties");
        if (properties != null && !properties.isObject()) {
            throw unsupported(path + "/properties", "properties", "must be an object of schemas");
        }
        Set<String> required = new LinkedHashSet<>();
        JsonNode requiredNode = schema.get("required");
        if (requiredNode != null) {
            if (!requiredNode.isArray()) {
                throw unsupported(path + "/required", "required", "must be an array of property names");
            }
            for (JsonNode item : requiredNode) {
                if (!item.isTextual()) {
                    throw unsupported(path + "/required", "required", "must be an array of property names");
                }
                required.add(item.asText());
            }
        }
        record Member(String key, JsonNode schema, String path, boolean required) {}
        List<Member> members = new ArrayList<>();
        Set<String> declared = new LinkedHashSet<>();
        if (properties != null) {
            for (Map.Entry<String, JsonNode> property : properties.properties()) {
                declared.add(property.getKey());
                members.add(new Member(property.getKey(), property.getValue(),
                        path + "/properties/" + escape(property.getKey()), required.contains(property.getKey())));
            }
        }
        for (String key : required) {
            if (!declared.contains(key)) {
                // Required but not declared: present with any value, as JSON Schema reads it.
                declared.add(key);
                members.add(new Member(key, JSON.getNodeFactory().booleanNode(true), path + "/required", true));
            }
        }
        JsonNode additional = schema.get("additionalProperties");
        String extraValue = null;
        if (additional == null) {
            extraValue = members.isEmpty() ? primitive("value") : null;
        } else if (additional.isBoolean()) {
            extraValue = additional.booleanValue() ? primitive("value") : null;
        } else if (additional.isObject()) {
            extraValue = rule(additional, name + "-additional", path + "/additionalProperties");
        } else {
            throw unsupported(path + "/additionalProperties", "additionalProperties", "must be a boolean or a schema");
        }
        String ws = primitive("ws");
        List<String> kvs = new ArrayList<>();
        for (Member member : members) {
            String value = rule(member.schema(), name + "-" + member.key(), member.path());
            kvs.add(gbnf.rule(name + "-" + member.key() + "-kv",
                    Gbnf.literal(jsonText(JSON.getNodeFactory().textNode(member.key()))) + " " + ws + " \":\" " + ws
                            + " " + value + " " + ws));
        }
        String extraKv = null;
        if (extraValue != null) {
            String key = declared.isEmpty() ? primitive("string") : gbnf.rule(name + "-additional-key", keyNotIn(declared));
            extraKv = gbnf.rule(name + "-additional-kv", key + " " + ws + " \":\" " + ws + " " + extraValue + " " + ws);
        }
        String comma = "\",\" " + ws + " ";
        // rest(j): the members from j on, each after a comma, as something was written before them.
        List<String> rest = new ArrayList<>();
        for (int j = 0; j <= members.size(); j++) {
            StringBuilder r = new StringBuilder();
            for (int k = j; k < members.size(); k++) {
                r.append(members.get(k).required() ? comma + kvs.get(k) : "(" + comma + kvs.get(k) + ")?").append(' ');
            }
            if (extraKv != null) {
                r.append("(").append(comma).append(extraKv).append(")*");
            }
            rest.add(r.toString().strip());
        }
        // The first member written is the first required one, or any optional one before it.
        List<String> firsts = new ArrayList<>();
        boolean mayBeEmpty = true;
        for (int j = 0; j < members.size(); j++) {
            firsts.add((kvs.get(j) + " " + rest.get(j + 1)).strip());
            if (members.get(j).required()) {
                mayBeEmpty = false;
                break;
            }
        }
        if (mayBeEmpty && extraKv != null) {
            firsts.add((extraKv + " " + rest.get(members.size())).strip());
        }
        if (firsts.isEmpty()) {
            return "\"{\" " + ws + " \"}\"";
        }
        String inner = firsts.size() == 1 ? firsts.get(0) : String.join(" | ", firsts);
        return "\"{\" " + ws + " (" + inner + ")" + (mayBeEmpty ? "?" : "") + " \"}\"";
    }

    /**
     * A JSON string (quotes included) that is none of {@code keys}, written plainly: an extra member's key must
     * not repeat a declared property, whose value the declared schema governs.
     */
    private String keyNotIn(Set<String> keys) {
        TreeMap<Integer, Object> trie = new TreeMap<>();
        for (String key : keys) {
            String escaped = jsonText(JSON.getNodeFactory().textNode(key));
            String content = escaped.substring(1, escaped.length() - 1);
            TreeMap<Integer, Object> node = trie;
            for (int cp : content.codePoints().toArray()) {
                @SuppressWarnings("unchecked")
                TreeMap<Integer, Object> child = (TreeMap<Integer, Object>) node.computeIfAbsent(cp, c -> new TreeMap<>());
                node = child;
            }
            node.put(-1, Boolean.TRUE); // end of a key
        }
        return "\"\\\"\" " + notIn(trie);
    }

    private String notIn(TreeMap<Integer, Object> node) {
        String chars = primitive("char");
        List<String> alternatives = new ArrayList<>();
        StringBuilder other = new StringBuilder("[^\"\\\\\\x00-\\x1F");
        for (int cp : node.keySet()) {
            if (cp >= 0) {
                other.append(RegexGrammar.classChar(cp));
            }
        }
        alternatives.add(other.append("] ").append(chars).append("* \"\\\"\"").toString());
        for (Map.Entry<Integer, Object> child : node.entrySet()) {
            if (child.getKey() >= 0) {
                @SuppressWarnings("unchecked")
                TreeMap<Integer, Object> next = (TreeMap<Integer, Object>) child.getValue();
                alternatives.add(Gbnf.literal(Character.toString(child.getKey())) + " " + notIn(next));
            }
        }
        if (!node.containsKey(-1)) {
            alternatives.add("\"\\\"\"");
        }
        return "(" + String.join(" | ", alternatives) + ")";
    }

    // ---- arrays

    private String array(JsonNode schema, String name, String path) {
        int min = bound(schema, "minItems", path, 0);
        int max = bound(schema, "maxItems", path, -1);
        if (max >= 0 && min > max) {
            throw unsupported(path + "/minItems", "minItems", "is more than maxItems: no array matches");
        }
        List<String> prefix = new ArrayList<>();
        JsonNode prefixItems = schema.get("prefixItems");
        JsonNode items = schema.get("items");
        if (items != null && items.isArray()) {
            // Draft 4 to 2019-09: an items array is a tuple.
            prefixItems = items;
            items = null;
        }
        if (prefixItems != null) {
            if (!prefixItems.isArray()) {
                throw unsupported(path + "/prefixItems", "prefixItems", "must be an array of schemas");
            }
            String at = schema.get("prefixItems") == prefixItems ? "/prefixItems/" : "/items/";
            for (int i = 0; i < prefixItems.size() && (max < 0 || i < max); i++) {
                prefix.add(rule(prefixItems.get(i), name + "-" + i, path + at + i));
            }
        }
        String ws = primitive("ws");
        String tail;
        if (items == null) {
            tail = prefixItems == null || min > prefix.size() ? primitive("value") : null;
        } else if (items.isBoolean() && !items.booleanValue()) {
            if (min > prefix.size()) {
                throw unsupported(path + "/minItems", "minItems", "asks for more items than prefixItems allows");
            }
            tail = null;
        } else {
            tail = rule(items, name + "-item", path + "/items");
        }
        String comma = "\",\" " + ws + " ";
        String elements = "";
        int k = prefix.size();
        if (tail != null && (max < 0 || max > k)) {
            String more = gbnf.rule(name + "-more", comma + tail + " " + ws);
            if (k == 0) {
                if (max != 0) {
                    String first = tail + " " + ws + " " + repeat(more, Math.max(0, min - 1), max < 0 ? -1 : max - 1);
                    elements = min >= 1 ? first : "(" + first.strip() + ")?";
                }
            } else {
                elements = repeat(more, Math.max(0, min - k), max < 0 ? -1 : max - k);
            }
        }
        for (int i = k - 1; i >= 0; i--) {
            String item = (i == 0 ? "" : comma) + prefix.get(i) + " " + ws + " " + elements;
            elements = i >= min ? "(" + item.strip() + ")?" : item.strip();
        }
        return ("\"[\" " + ws + " " + elements).strip() + " \"]\"";
    }

    /** {@code item} repeated {@code min} to {@code max} (-1: no limit) times, in chunks llama.cpp takes. */
    static String repeat(String item, int min, int max) {
        if (max == 0) {
            return "";
        }
        List<String> parts = new ArrayList<>();
        int chunk = 1000; // llama.cpp reads a bound above 2000 as no bound at all
        int mandatory = min;
        int optional = max < 0 ? -1 : max - min;
        while (mandatory > 0) {
            int n = Math.min(chunk, mandatory);
            parts.add(n == 1 ? item : item + "{" + n + "}");
            mandatory -= n;
        }
        if (optional < 0) {
            parts.add(item + "*");
        }
        while (optional > 0) {
            int n = Math.min(chunk, optional);
            parts.add(n == 1 ? item + "?" : item + "{0," + n + "}");
            optional -= n;
        }
        return String.join(" ", parts);
    }

    private static int bound(JsonNode schema, String keyword, String path, int absent) {
        JsonNode value = schema.get(keyword);
        if (value == null) {
            return absent;
        }
        if (!value.isIntegralNumber() && !(value.isNumber() && value.decimalValue().stripTrailingZeros().scale() <= 0)
                || value.decimalValue().signum() < 0) {
            throw unsupported(path + "/" + keyword, keyword, "must be a non-negative integer");
        }
        if (value.decimalValue().compareTo(BigDecimal.valueOf(MAX_BOUND)) > 0) {
            throw unsupported(path + "/" + keyword, keyword, "above " + MAX_BOUND + " cannot be expressed in a grammar");
        }
        return value.intValue();
    }

    // ---- strings

    private String string(JsonNode schema, String name, String path) {
        int min = bound(schema, "minLength", path, 0);
        int max = bound(schema, "maxLength", path, -1);
        if (max >= 0 && min > max) {
            throw unsupported(path + "/minLength", "minLength", "is more than maxLength: no string matches");
        }
        boolean lengths = schema.has("minLength") || schema.has("maxLength");
        JsonNode format = schema.get("format");
        JsonNode pattern = schema.get("pattern");
        if (pattern != null) {
            if (lengths) {
                throw unsupported(path + "/pattern", "pattern", "cannot be combined with minLength or maxLength; "
                        + "put the length in the pattern (e.g. {1,20})");
            }
            if (!pattern.isTextual()) {
                throw unsupported(path + "/pattern", "pattern", "must be a string");
            }
            // With a format beside it, the pattern is taken: schema generators (zod's datetime, uuid, email) write
            // both, the pattern being the stricter of the two.
            return "\"\\\"\" " + new RegexGrammar(gbnf, name + "-pattern", primitive("char"), path + "/pattern")
                    .convert(pattern.asText()) + " \"\\\"\"";
        }
        if (format != null) {
            if (lengths) {
                throw unsupported(path + "/format", "format", "cannot be combined with minLength or maxLength");
            }
            String formatRule = format.isTextual() ? formats(format.asText()) : null;
            if (formatRule == null) {
                throw unsupported(path + "/format", "format", format + " is not supported; supported formats are "
                        + "date, time, date-time, uuid, email, ipv4");
            }
            return "\"\\\"\" " + formatRule + " \"\\\"\"";
        }
        if (!lengths) {
            return primitive("string");
        }
        return "\"\\\"\" " + repeat(primitive("char"), min, max) + " \"\\\"\"";
    }

    private @Nullable String formats(String format) {
        String hex = "[0-9a-fA-F]";
        String octet = "(" + positives(0, 255) + ")";
        String hour = "([01] [0-9] | \"2\" [0-3])";
        // Offsets within what java.time (and so many validators) takes: up to 17:59 either way.
        String offset = "(\"Z\" | [+-] (\"0\" [0-9] | \"1\" [0-7]) \":\" [0-5] [0-9])";
        String day31 = "(\"0\" [1-9] | [12] [0-9] | \"3\" [01])";
        String day30 = "(\"0\" [1-9] | [12] [0-9] | \"30\")";
        String day28 = "(\"0\" [1-9] | \"1\" [0-9] | \"2\" [0-8])";
        String alnum = "[a-zA-Z0-9]";
        return switch (format) {
            case "date" -> gbnf.rule("date", "[1-9] [0-9]{3} \"-\" ((\"0\" [13578] | \"1\" [02]) \"-\" " + day31
                    + " | (\"0\" [469] | \"11\") \"-\" " + day30 + " | \"02-\" " + day28 + ")");
            case "time" -> gbnf.rule("time", hour + " \":\" [0-5] [0-9] \":\" [0-5] [0-9] (\".\" [0-9]{1,9})? " + offset);
            case "date-time" -> gbnf.rule("date-time", formats("date") + " \"T\" " + formats("time"));
            case "uuid" -> gbnf.rule("uuid", hex + "{8} \"-\" " + hex + "{4} \"-\" " + hex + "{4} \"-\" " + hex
                    + "{4} \"-\" " + hex + "{12}");
            // Within RFC 5321's limits (a local part of at most 64 characters, domain labels of at most 63), and
            // a top-level domain that exists: validators check it against the IANA list.
            case "email" -> gbnf.rule("email", alnum + "{1,20} (\".\" " + alnum + "{1,20}){0,2} \"@\" " + alnum
                    + "{1,20} (\".\" " + alnum + "{1,20}){0,2} \".\" (\"com\" | \"org\" | \"net\" | \"edu\" "
                    + "| \"gov\" | \"io\" | \"ai\" | \"dev\" | \"app\" | \"info\" | \"eu\" | \"de\" | \"fr\" "
                    + "| \"uk\" | \"nl\" | \"ch\" | \"jp\" | \"us\")");
            case "ipv4" -> gbnf.rule("ipv4", octet + " \".\" " + octet + " \".\" " + octet + " \".\" " + octet);
            default -> null;
        };
    }

    // ---- numbers

    private String integer(JsonNode schema, String path) {
        Bound lower = lowerBound(schema, path);
        Bound upper = upperBound(schema, path);
        if (lower == null && upper == null) {
            return primitive("integer");
        }
        long lo = lower == null ? -MAX_MAGNITUDE : (lower.exclusive()
                ? lower.value().setScale(0, RoundingMode.FLOOR).longValueExact() + 1
                : lower.value().setScale(0, RoundingMode.CEILING).longValueExact());
        long hi = upper == null ? Math.max(MAX_MAGNITUDE, lo) : (upper.exclusive()
                ? upper.value().setScale(0, RoundingMode.CEILING).longValueExact() - 1
                : upper.value().setScale(0, RoundingMode.FLOOR).longValueExact());
        if (lower == null) {
            lo = Math.min(lo, hi);
        }
        if (lo > hi) {
            String keyword = emptyRangeKeyword(lower, upper);
            throw unsupported(path + "/" + keyword, keyword, "leaves no integer in range");
        }
        List<String> alternatives = new ArrayList<>();
        if (lo < 0) {
            alternatives.add("\"-\" " + positives(hi < 0 ? -hi : 1, -lo));
        }
        if (hi >= 0) {
            alternatives.add(positives(Math.max(lo, 0), hi));
        }
        return String.join(" | ", alternatives);
    }

    private String number(JsonNode schema, String path) {
        Bound lower = lowerBound(schema, path);
        Bound upper = upperBound(schema, path);
        if (lower == null && upper == null) {
            return primitive("number");
        }
        for (Bound bound : new Bound[] {lower, upper}) {
            if (bound != null && bound.value().stripTrailingZeros().scale() > 0) {
                throw unsupported(path + "/" + bound.keyword(), bound.keyword(),
                        "of a number must be a whole number here (a fractional bound cannot be expressed in the grammar)");
            }
        }
        Long lo = lower == null ? null : lower.value().longValueExact();
        Long hi = upper == null ? null : upper.value().longValueExact();
        boolean loExclusive = lower != null && lower.exclusive();
        boolean hiExclusive = upper != null && upper.exclusive();
        List<String> alternatives = new ArrayList<>();
        if (lo == null || lo < 0) {
            // x = -y with y > 0 (or y past -hi when hi is negative) and y up to -lo.
            boolean hiNegative = hi != null && hi < 0;
            String negative = nonNegative(hi != null && hiNegative ? -hi : 0, !hiNegative || hiExclusive, lo == null ? null : -lo,
                    loExclusive);
            if (negative != null) {
                alternatives.add("\"-\" " + negative);
            }
        }
        if (hi == null || hi > 0 || (hi == 0 && !hiExclusive)) {
            boolean loNonNegative = lo != null && lo >= 0;
            String positive = nonNegative(lo != null && loNonNegative ? lo : 0, loNonNegative && loExclusive, hi, hiExclusive);
            if (positive != null) {
                alternatives.add(positive);
            }
        }
        if (alternatives.isEmpty()) {
            String keyword = emptyRangeKeyword(lower, upper);
            throw unsupported(path + "/" + keyword, keyword, "leaves no number in range");
        }
        return String.join(" | ", alternatives);
    }

    /** The keyword to name for a range that holds no value: the upper bound's, else the lower's. */
    private static String emptyRangeKeyword(@Nullable Bound lower, @Nullable Bound upper) {
        if (upper != null) {
            return upper.keyword();
        }
        return requireNonNull(lower, "a range with neither bound is never empty").keyword();
    }

    /** Decimal numbers x with a <= x (a < x when exclusive) and x <= b (or < b; b null: no bound), a >= 0. */
    private static @Nullable String nonNegative(long a, boolean aExclusive, @Nullable Long b, boolean bExclusive) {
        String fraction = "(\".\" [0-9]{1,16})?";
        String zeros = "(\".\" \"0\"{1,16})?";
        String nonZero = "\".\" [0-9]{0,15} [1-9]";
        if (b != null && (b < a || (b == a && (aExclusive || bExclusive)))) {
            return null;
        }
        if (b != null && b == a) {
            return "(" + positives(a, a) + " " + zeros + ")";
        }
        long top = b == null ? Math.max(MAX_MAGNITUDE, a + 1) : b - 1;
        List<String> alternatives = new ArrayList<>();
        if (aExclusive) {
            alternatives.add(positives(a, a) + " " + nonZero);
            if (a + 1 <= top) {
                alternatives.add(positives(a + 1, top) + " " + fraction);
            }
        } else {
            alternatives.add(positives(a, top) + " " + fraction);
        }
        if (b != null && !bExclusive) {
            alternatives.add(positives(b, b) + " " + zeros);
        }
        return "(" + String.join(" | ", alternatives) + ")";
    }

    /** The canonical decimal numerals of the integers from lo to hi (0 <= lo <= hi), as one GBNF group. */
    static String positives(long lo, long hi) {
        List<String> alternatives = new ArrayList<>();
        if (lo == 0) {
            alternatives.add("\"0\"");
            lo = 1;
        }
        int fullFrom = -1;
        int fullTo = -1;
        for (int digits = Long.toString(lo).length(); lo <= hi && digits <= Long.toString(hi).length(); digits++) {
            long first = pow10(digits - 1);
            long last = digits >= 19 ? Long.MAX_VALUE : pow10(digits) - 1;
            long a = Math.max(lo, first);
            long b = Math.min(hi, last);
            if (a == first && b == last) {
                fullFrom = fullFrom < 0 ? digits : fullFrom;
                fullTo = digits;
            } else {
                alternatives.add(sameLength(Long.toString(a), Long.toString(b)));
            }
        }
        if (fullFrom > 0) {
            String rest = fullTo == 1 ? "" : fullFrom == fullTo ? " [0-9]{" + (fullTo - 1) + "}"
                    : " [0-9]{" + (fullFrom - 1) + "," + (fullTo - 1) + "}";
            alternatives.add("[1-9]" + rest);
        }
        return alternatives.size() == 1 ? alternatives.get(0) : "(" + String.join(" | ", alternatives) + ")";
    }

    /** Numerals from a to b, both of one length, leading digits as written. */
    private static String sameLength(String a, String b) {
        if (a.equals(b)) {
            return Gbnf.literal(a);
        }
        int n = a.length();
        char da = a.charAt(0);
        char db = b.charAt(0);
        String ra = a.substring(1);
        String rb = b.substring(1);
        String anyRest = n == 1 ? "" : n == 2 ? " [0-9]" : " [0-9]{" + (n - 1) + "}";
        if (da == db) {
            return "\"" + da + "\" " + group(sameLength(ra, rb));
        }
        boolean lowFull = ra.chars().allMatch(c -> c == '0');
        boolean highFull = rb.chars().allMatch(c -> c == '9');
        List<String> alternatives = new ArrayList<>();
        char midLo = da;
        char midHi = db;
        if (!lowFull) {
            alternatives.add("\"" + da + "\" " + group(sameLength(ra, "9".repeat(n - 1))));
            midLo++;
        }
        if (!highFull) {
            midHi--;
        }
        if (midLo <= midHi) {
            alternatives.add((midLo == midHi ? "\"" + midLo + "\"" : "[" + midLo + "-" + midHi + "]") + anyRest);
        }
        if (!highFull) {
            alternatives.add("\"" + db + "\" " + group(sameLength("0".repeat(n - 1), rb)));
        }
        return alternatives.size() == 1 ? alternatives.get(0) : "(" + String.join(" | ", alternatives) + ")";
    }

    private static String group(String expression) {
        return expression.contains(" | ") && !expression.startsWith("(") ? "(" + expression + ")" : expression;
    }

    private static long pow10(int n) {
        long p = 1;
        for (int i = 0; i < n; i++) {
            p *= 10;
        }
        return p;
    }

    private record Bound(BigDecimal value, boolean exclusive, String keyword) {}

    private static @Nullable Bound lowerBound(JsonNode schema, String path) {
        return tighter(bound(schema, "minimum", "exclusiveMinimum", path), true);
    }

    private static @Nullable Bound upperBound(JsonNode schema, String path) {
        return tighter(bound(schema, "maximum", "exclusiveMaximum", path), false);
    }

    /** The inclusive and exclusive bound on one side (draft 4's boolean exclusive flag included). */
    private static List<Bound> bound(JsonNode schema, String inclusiveKeyword, String exclusiveKeyword, String path) {
        List<Bound> bounds = new ArrayList<>();
        JsonNode inclusive = schema.get(inclusiveKeyword);
        JsonNode exclusive = schema.get(exclusiveKeyword);
        boolean draft4Exclusive = exclusive != null && exclusive.isBoolean() && exclusive.booleanValue();
        if (inclusive != null) {
            bounds.add(new Bound(numeric(inclusive, path, inclusiveKeyword), draft4Exclusive, inclusiveKeyword));
        }
        if (exclusive != null && !exclusive.isBoolean()) {
            bounds.add(new Bound(numeric(exclusive, path, exclusiveKeyword), true, exclusiveKeyword));
        }
        return bounds;
    }

    private static BigDecimal numeric(JsonNode value, String path, String keyword) {
        if (!value.isNumber()) {
            throw unsupported(path + "/" + keyword, keyword, "must be a number");
        }
        BigDecimal decimal = value.decimalValue();
        if (decimal.abs().compareTo(BigDecimal.valueOf(MAX_MAGNITUDE)) > 0) {
            throw unsupported(path + "/" + keyword, keyword, "beyond 16 digits cannot be expressed in the grammar");
        }
        return decimal;
    }

    private static @Nullable Bound tighter(List<Bound> bounds, boolean lower) {
        Bound best = null;
        for (Bound bound : bounds) {
            if (best == null) {
                best = bound;
                continue;
            }
            int order = bound.value().compareTo(best.value());
            if ((lower ? order > 0 : order < 0) || (order == 0 && bound.exclusive())) {
                best = bound;
            }
        }
        return best;
    }

    // ---- values

    private String enumeration(JsonNode values, String path) {
        if (!values.isArray() || values.isEmpty()) {
            throw unsupported(path, "enum", "must be a non-empty array");
        }
        Set<String> alternatives = new LinkedHashSet<>();
        for (JsonNode value : values) {
            alternatives.add(literalJson(value));
        }
        return String.join(" | ", alternatives);
    }

    private static String literalJson(JsonNode value) {
        return Gbnf.literal(jsonText(value));
    }

    private static String jsonText(JsonNode value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A shared rule by its role, added on first use; the name it got is kept, as a schema's own rule may have
     * taken the plain name first.
     */
    private String primitive(String role) {
        String known = primitives.get(role);
        if (known != null) {
            return known;
        }
        String integral = "(\"0\" | [1-9] [0-9]{0," + (MAX_DIGITS - 1) + "})";
        String body = switch (role) {
            case "ws" -> "\" \"?";
            case "char" -> "[^\"\\\\\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})";
            case "string" -> "\"\\\"\" " + primitive("char") + "* \"\\\"\"";
            case "integer" -> "\"-\"? " + integral;
            case "number" -> "\"-\"? " + integral + " (\".\" [0-9]{1," + MAX_DIGITS + "})? ([eE] [-+]? [0-9]{1,2})?";
            case "boolean" -> "\"true\" | \"false\"";
            case "null" -> "\"null\"";
            case "value" -> {
                // Reserved first: value, object and array refer to one another.
                String value = gbnf.reserve("value");
                primitives.put("value", value);
                gbnf.define(value, primitive("object") + " | " + primitive("array") + " | " + primitive("string")
                        + " | " + primitive("number") + " | " + primitive("boolean") + " | " + primitive("null"));
                yield value;
            }
            case "object" -> {
                String object = gbnf.reserve("object");
                primitives.put("object", object);
                String member = primitive("string") + " " + primitive("ws") + " \":\" " + primitive("ws") + " "
                        + primitive("value") + " " + primitive("ws");
                gbnf.define(object, "\"{\" " + primitive("ws") + " (" + member + " (\",\" " + primitive("ws") + " "
                        + member + ")*)? \"}\"");
                yield object;
            }
            case "array" -> {
                String array = gbnf.reserve("array");
                primitives.put("array", array);
                String element = primitive("value") + " " + primitive("ws");
                gbnf.define(array, "\"[\" " + primitive("ws") + " (" + element + " (\",\" " + primitive("ws") + " "
                        + element + ")*)? \"]\"");
                yield array;
            }
            default -> throw new IllegalArgumentException(role);
        };
        if (primitives.containsKey(role)) {
            return primitives.get(role);
        }
        String name = gbnf.rule(role, body);
        primitives.put(role, name);
        return name;
    }

    /** The keyword a subschema at {@code path} sits under ({@code properties} for {@code #/properties/a}). */
    private static String holder(String path) {
        String[] segments = path.split("/");
        if (segments.length < 2) {
            return "schema";
        }
        String last = segments[segments.length - 1];
        String parent = segments[segments.length - 2];
        return switch (parent) {
            case "properties", "$defs", "definitions", "anyOf", "oneOf", "allOf", "prefixItems" -> parent;
            default -> last.equals("#") ? "schema" : last;
        };
    }

    /** A JSON Pointer reference token: {@code ~} and {@code /} escaped. */
    static String escape(String token) {
        return token.replace("~", "~0").replace("/", "~1");
    }

    static SchemaNotSupportedException unsupported(String path, String keyword, String detail) {
        return new SchemaNotSupportedException(path, keyword, "'" + keyword + "' " + detail);
    }
}
