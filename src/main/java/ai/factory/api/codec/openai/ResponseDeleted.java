package ai.factory.api.codec.openai;

/** The answer of {@code DELETE /v1/responses/{id}}. */
public record ResponseDeleted(String id, String object, boolean deleted) {
    public static ResponseDeleted of(String id) {
        return new ResponseDeleted(id, "response", true);
    }
}
