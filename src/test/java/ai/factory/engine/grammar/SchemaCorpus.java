package ai.factory.engine.grammar;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Schemas for structured-output tests, by name. Each is meant to let a generation end: strings have a
 * maxLength (or a format or pattern of bounded length) and arrays a maxItems, except where a name says
 * "(unbounded": free keys or values, or recursion a random model may follow forever.
 */
public final class SchemaCorpus {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SchemaCorpus() {}

    public static Map<String, JsonNode> schemas() {
        Map<String, String> texts = new LinkedHashMap<>();
        texts.put("flat object", """
                {"type":"object","properties":{"name":{"type":"string","maxLength":8},"age":{"type":"integer","minimum":0,"maximum":120},
                 "active":{"type":"boolean"}},"required":["name","age","active"],"additionalProperties":false}""");
        texts.put("optional properties", """
                {"type":"object","properties":{"a":{"type":"string","maxLength":4},"b":{"type":"integer","minimum":-5,"maximum":5},
                 "c":{"type":"null"}},"required":["b"]}""");
        texts.put("nested objects", """
                {"type":"object","properties":{"person":{"type":"object","properties":{"first":{"type":"string","maxLength":6},
                 "address":{"type":"object","properties":{"zip":{"type":"string","pattern":"^[0-9]{5}$"},"city":{"type":"string","maxLength":6}},
                 "required":["zip","city"],"additionalProperties":false}},"required":["first","address"],"additionalProperties":false}},
                 "required":["person"],"additionalProperties":false}""");
        texts.put("array min max items", """
                {"type":"array","items":{"type":"integer","minimum":0,"maximum":99},"minItems":2,"maxItems":4}""");
        texts.put("tuple", """
                {"type":"array","prefixItems":[{"type":"string","maxLength":3},{"type":"boolean"}],"items":false,"minItems":2}""");
        texts.put("enum", """
                {"type":"object","properties":{"color":{"enum":["red","green","blue"]},"size":{"enum":[1,2,"x",null,true]}},
                 "required":["color","size"],"additionalProperties":false}""");
        texts.put("const", """
                {"type":"object","properties":{"kind":{"const":"point"},"origin":{"const":{"x":0,"y":[1,2]}}},"required":["kind","origin"]}""");
        texts.put("anyOf", """
                {"anyOf":[{"type":"integer","minimum":1,"maximum":9},{"type":"string","maxLength":3},{"type":"array","items":{"type":"boolean"},"maxItems":2}]}""");
        texts.put("oneOf", """
                {"type":"object","properties":{"shape":{"oneOf":[
                   {"type":"object","properties":{"circle":{"type":"number","minimum":0,"maximum":10}},"required":["circle"],"additionalProperties":false},
                   {"type":"object","properties":{"square":{"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":10}},"required":["square"],"additionalProperties":false}]}},
                 "required":["shape"],"additionalProperties":false}""");
        texts.put("nullable", """
                {"type":"object","properties":{"nick":{"type":["string","null"],"maxLength":5},"score":{"type":["number","null"],"minimum":-1,"maximum":1}},
                 "required":["nick","score"],"additionalProperties":false}""");
        texts.put("formats", """
                {"type":"object","properties":{"day":{"type":"string","format":"date"},"at":{"type":"string","format":"date-time"},
                 "id":{"type":"string","format":"uuid"},"mail":{"type":"string","format":"email"},"clock":{"type":"string","format":"time"}},
                 "required":["day","at","id","mail","clock"],"additionalProperties":false}""");
        // What the npm openai package's zodResponseFormat writes for z.number().int(), z.string().datetime(), z.number()
        // and z.string().uuid().nullable() (zod 4): formats with patterns beside them, safe-integer bounds.
        texts.put("zod object", """
                {"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"n":{"type":"integer","minimum":-9007199254740991,"maximum":9007199254740991},"d":{"type":"string","format":"date-time","pattern":"^(?:(?:\\\\d\\\\d[2468][048]|\\\\d\\\\d[13579][26]|\\\\d\\\\d0[48]|[02468][048]00|[13579][26]00)-02-29|\\\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\\\d|30)|(?:02)-(?:0[1-9]|1\\\\d|2[0-8])))T(?:(?:[01]\\\\d|2[0-3]):[0-5]\\\\d:[0-5]\\\\d(?:\\\\.\\\\d+)?(?:Z))$"},"x":{"type":"number"},"u":{"anyOf":[{"type":"string","format":"uuid","pattern":"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$"},{"type":"null"}]}},"required":["n","d","x","u"],"additionalProperties":false}""");
        texts.put("pattern", """
                {"type":"object","properties":{"code":{"type":"string","pattern":"^[A-Z]{2}-\\\\d{3}(\\\\.[a-z]x?)?$"},
                 "tag":{"type":"string","pattern":"^(foo|ba[rz])+$"},"quoted":{"type":"string","pattern":"^\\"[^\\\\\\\\\\"]{0,3}\\"$"}},
                 "required":["code","tag","quoted"],"additionalProperties":false}""");
        texts.put("integer ranges", """
                {"type":"object","properties":{"month":{"type":"integer","minimum":1,"maximum":12},"temp":{"type":"integer","minimum":-40,"maximum":45},
                 "year":{"type":"integer","minimum":1900,"maximum":2100},"neg":{"type":"integer","maximum":-3,"minimum":-1000},
                 "big":{"type":"integer","exclusiveMinimum":99999}},
                 "required":["month","temp","year","neg","big"],"additionalProperties":false}""");
        texts.put("numbers", """
                {"type":"object","properties":{"x":{"type":"number"},"p":{"type":"number","minimum":0,"maximum":1},
                 "q":{"type":"number","exclusiveMinimum":-2,"exclusiveMaximum":0}},"required":["x","p","q"],"additionalProperties":false}""");
        texts.put("recursive tree", """
                {"$ref":"#/$defs/node","$defs":{"node":{"type":"object","properties":{"v":{"type":"integer","minimum":0,"maximum":9},
                 "kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},"required":["v"],"additionalProperties":false}}}""");
        texts.put("linked list via # (unbounded: recursion)", """
                {"type":"object","properties":{"head":{"type":"integer","minimum":0,"maximum":3},"next":{"anyOf":[{"$ref":"#"},{"type":"null"}]}},
                 "required":["head","next"],"additionalProperties":false}""");
        texts.put("allOf", """
                {"allOf":[{"$ref":"#/definitions/base"},{"type":"object","properties":{"extra":{"type":"boolean"}},"required":["extra"]}],
                 "definitions":{"base":{"type":"object","properties":{"id":{"type":"integer","minimum":0,"maximum":50}},"required":["id"]}}}""");
        texts.put("additionalProperties true (unbounded)", """
                {"type":"object","properties":{"k":{"type":"integer","minimum":0,"maximum":3}},"required":["k"],"additionalProperties":true}""");
        texts.put("additionalProperties schema (unbounded: extra keys)", """
                {"type":"object","properties":{"k":{"type":"boolean"}},"additionalProperties":{"type":"integer","minimum":0,"maximum":9}}""");
        texts.put("empty schema (unbounded)", "{}");
        texts.put("annotations ignored", """
                {"$schema":"https://json-schema.org/draft/2020-12/schema","title":"T","description":"d","type":"object",
                 "properties":{"s":{"type":"string","minLength":1,"maxLength":3,"examples":["a"],"default":"b"}},"required":["s"],"additionalProperties":false}""");
        Map<String, JsonNode> schemas = new LinkedHashMap<>();
        texts.forEach((name, text) -> schemas.put(name, parse(text)));
        return schemas;
    }

    public static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(json, e);
        }
    }
}
