package ai.factory.api.codec.openai;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * OpenAI's model object, {@code GET /v1/models/{id}}: {@code id}, {@code object} ({@code "model"}), {@code created}
 * (Unix seconds) and {@code owned_by} (here the project that owns the model).
 */
public record ModelObject(String id, String object, long created, @JsonProperty("owned_by") String ownedBy) {
    public ModelObject {
        requireNonNull(id, "id is null");
        requireNonNull(object, "object is null");
    }

    public static ModelObject of(String id, long created, String ownedBy) {
        return new ModelObject(id, "model", created, ownedBy);
    }

    /** {@code GET /v1/models}: {@code {"object": "list", "data": [...]}}. */
    public record ModelList(String object, List<ModelObject> data) {
        public ModelList {
            requireNonNull(object, "object is null");
            data = List.copyOf(requireNonNull(data, "data is null"));
        }

        public static ModelList of(List<ModelObject> data) {
            return new ModelList("list", data);
        }
    }
}
