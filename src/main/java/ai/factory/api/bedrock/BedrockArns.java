package ai.factory.api.bedrock;

/**
 * The ARNs the control plane answers with. A factory is one site, so region and account are fixed
 * placeholders; the runtime accepts any region and account in the ARNs it is given.
 */
final class BedrockArns {
    static final String REGION = "local";
    static final String ACCOUNT = "000000000000";

    private BedrockArns() {}

    static String of(String resourceType, String resourceId) {
        return "arn:aws:bedrock:" + REGION + ":" + ACCOUNT + ":" + resourceType + "/" + resourceId;
    }

    /** The resource id when {@code identifier} is an ARN of this type (any region and account), else itself. */
    static String resourceId(String identifier, String resourceType) {
        String marker = ":" + resourceType + "/";
        int at = identifier.indexOf(marker);
        return identifier.startsWith("arn:") && at > 0 ? identifier.substring(at + marker.length()) : identifier;
    }
}
