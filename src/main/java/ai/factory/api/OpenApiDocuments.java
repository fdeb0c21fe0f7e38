package ai.factory.api;

import static java.util.Objects.requireNonNull;

import ai.factory.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.victools.jsonschema.generator.CustomDefinition;
import com.github.victools.jsonschema.generator.SchemaGenerationContext;
import com.github.victools.jsonschema.generator.naming.DefaultSchemaDefinitionNamingStrategy;
import com.github.victools.jsonschema.generator.impl.DefinitionKey;
import com.github.victools.jsonschema.generator.Option;
import com.github.victools.jsonschema.generator.OptionPreset;
import com.github.victools.jsonschema.generator.SchemaBuilder;
import com.github.victools.jsonschema.generator.SchemaGenerator;
import com.github.victools.jsonschema.generator.SchemaGeneratorConfigBuilder;
import com.github.victools.jsonschema.generator.SchemaVersion;
import com.github.victools.jsonschema.module.jackson.JacksonModule;
import com.github.victools.jsonschema.module.jackson.JacksonOption;
import java.util.List;
import java.util.Locale;
import java.util.Arrays;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * OpenAPI 3.1 documents generated from the routes as the router holds them and the {@link Contract} each carries:
 * paths and operations from the routes, schemas from the wire records (by Jackson's own view of them, so property
 * names and inclusion are what the server writes), the error shape of the API family, bearer authentication.
 * Nothing is written by hand, so a document cannot disagree with the code it describes.
 */
public final class OpenApiDocuments {
    /** Which routes a document covers and how its errors look. */
    public enum Surface {
        /** The factory's own management API under {@code /api/v1}. */
        FACTORY("Sovereign AI Factory management API", "/api/v1/"),
        /** The OpenAI-compatible API under {@code /v1}. */
        OPENAI("Sovereign AI Factory: OpenAI-compatible API", "/v1/");

        private final String title;
        private final String prefix;

        Surface(String title, String prefix) {
            this.title = title;
            this.prefix = prefix;
        }

        /** Where the document of this surface is served. */
        public String path() {
            return prefix + "openapi.json";
        }

        boolean covers(String path) {
            return path.startsWith(prefix);
        }
    }

    private static final Pattern PATH_PARAMETER = Pattern.compile("[{<]([^}>]+)[}>]");

    private OpenApiDocuments() {}

    /** The document of one surface, from the routes the server holds. */
    public static ObjectNode document(Surface surface, List<ApiServer.RouteInfo> routes, String version) {
        requireNonNull(surface, "surface is null");
        SchemaBuilder schemas = generator().buildMultipleSchemaDefinitions();
        ObjectNode doc = Json.mapper().createObjectNode();
        doc.put("openapi", "3.1.0");
        doc.putObject("info").put("title", surface.title).put("version", version);
        doc.putArray("security").addObject().putArray("bearer");
        ObjectNode paths = doc.putObject("paths");
        ObjectNode error = schemas.createSchemaReference(surface == Surface.OPENAI ? OpenAiError.class : FactoryError.class);
        for (ApiServer.RouteInfo route : routes) {
            if (!surface.covers(route.path()) || route.isPublic()) {
                continue;
            }
            String path = PATH_PARAMETER.matcher(route.path()).replaceAll("{$1}");
            ObjectNode item = paths.has(path) ? (ObjectNode) paths.get(path) : paths.putObject(path);
            ObjectNode operation = item.putObject(route.method().toLowerCase(Locale.ROOT));
            operation.put("operationId", operationId(route));
            route.action().ifPresent(a -> operation.put("x-factory-action", a.id()));
            Optional<Contract> contract = route.contract();
            operation.put("summary", contract.map(Contract::summary).orElse(route.method() + " " + path));
            ArrayNode parameters = operation.putArray("parameters");
            Matcher m = PATH_PARAMETER.matcher(route.path());
            while (m.find()) {
                parameters.addObject().put("name", m.group(1)).put("in", "path").put("required", true)
                        .putObject("schema").put("type", "string");
            }
            if (parameters.isEmpty()) {
                operation.remove("parameters");
            }
            contract.map(Contract::request).ifPresent(type -> operation.putObject("requestBody").put("required", true)
                    .putObject("content").putObject("application/json").set("schema", schemas.createSchemaReference(type)));
            ObjectNode responses = operation.putObject("responses");
            ObjectNode ok = responses.putObject("200").put("description", "success");
            contract.ifPresent(c -> {
                if (c.response() != null || c.streamEvent() != null) {
                    ObjectNode content = ok.putObject("content");
                    if (c.response() != null) {
                        content.putObject("application/json").set("schema", schemas.createSchemaReference(c.response()));
                    }
                    if (c.streamEvent() != null) {
                        content.putObject("text/event-stream").set("schema", schemas.createSchemaReference(c.streamEvent()));
                    }
                }
            });
            responses.putObject("default").put("description", "an error, in the API's error shape")
                    .putObject("content").putObject("application/json").set("schema", error.deepCopy());
        }
        ObjectNode components = doc.putObject("components");
        components.putObject("securitySchemes").putObject("bearer").put("type", "http").put("scheme", "bearer");
        components.set("schemas", schemas.collectDefinitions("components/schemas"));
        return doc;
    }

    private static String operationId(ApiServer.RouteInfo route) {
        StringBuilder id = new StringBuilder(route.method().toLowerCase(Locale.ROOT));
        for (String part : route.path().split("[/{}<>._-]+")) {
            if (!part.isEmpty() && !part.equals("api") && !part.equals("v1")) {
                id.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
            }
        }
        return id.toString();
    }

    private static SchemaGenerator generator() {
        SchemaGeneratorConfigBuilder config = new SchemaGeneratorConfigBuilder(Json.mapper(), SchemaVersion.DRAFT_2020_12,
                OptionPreset.PLAIN_JSON)
                .with(new JacksonModule(JacksonOption.RESPECT_JSONPROPERTY_ORDER, JacksonOption.RESPECT_JSONPROPERTY_REQUIRED))
                .with(Option.DEFINITIONS_FOR_ALL_OBJECTS, Option.NULLABLE_FIELDS_BY_DEFAULT, Option.PLAIN_DEFINITION_KEYS,
                        Option.NONPUBLIC_NONSTATIC_FIELDS_WITHOUT_GETTERS)
                .without(Option.SCHEMA_VERSION_INDICATOR);
        // Records nested in a wire class are named after it (ChatCompletion.Choice), so names say where they belong.
        config.forTypesInGeneral().withDefinitionNamingStrategy(new DefaultSchemaDefinitionNamingStrategy() {
            @Override
            public String getDefinitionNameForKey(DefinitionKey key, SchemaGenerationContext context) {
                Class<?> type = key.getType().getErasedType();
                Class<?> outer = type.getEnclosingClass();
                return outer == null || type.getTypeParameters().length > 0
                        ? super.getDefinitionNameForKey(key, context) : outer.getSimpleName() + "." + type.getSimpleName();
            }
        });
        // A sealed interface (a stream's event kinds) is any of its records.
        config.forTypesInGeneral().withSubtypeResolver((declared, context) -> {
            Class<?>[] permitted = declared.getErasedType().getPermittedSubclasses();
            return permitted == null ? null : java.util.Arrays.stream(permitted)
                    .map(c -> context.getTypeContext().resolveSubtype(declared, c)).toList();
        });
        // Free-form JSON (a schema, a content union) is any value.
        config.forTypesInGeneral().withCustomDefinitionProvider((type, context) ->
                JsonNode.class.isAssignableFrom(type.getErasedType())
                        ? new CustomDefinition(context.getGeneratorConfig().createObjectNode(),
                                CustomDefinition.DefinitionType.INLINE, CustomDefinition.AttributeInclusion.NO)
                        : null);
        return new SchemaGenerator(config.build());
    }

    /** OpenAI's error answer. */
    record OpenAiError(OpenAiErrorBody error) {}

    record OpenAiErrorBody(String message, String type, String param, String code) {}

    /** The factory's own error answer. */
    record FactoryError(FactoryErrorBody error) {}

    record FactoryErrorBody(String code, String message, String param) {}

    /** The version the documents carry: the build's, else "dev". */
    static String version() {
        String v = OpenApiDocuments.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** A document as JSON text. */
    static String text(Surface surface, List<ApiServer.RouteInfo> routes) {
        try {
            return Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(document(surface, routes, version()));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always serialises", e);
        }
    }

    private static final Set<String> PATHS = Arrays.stream(Surface.values()).map(Surface::path)
            .collect(Collectors.toUnmodifiableSet());

    /** Whether {@code path} is where a document is served (they need no key). */
    static boolean isDocument(String path) {
        return PATHS.contains(path);
    }
}
