package ai.factory.cli;

import ai.factory.Json;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code factory keys …}: API keys (admin only). */
@Command(name = "keys", mixinStandardHelpOptions = true, description = "Create, list and revoke API keys.",
        subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Revoke.class})
final class KeysCommand {
    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create an API key; its secret is printed once and never stored.")
    static final class Create implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Option(names = "--name", required = true, description = "Who or what the key is for.")
        String name;

        @Option(names = "--project", description = "Project the key belongs to (default: default).")
        String project;

        @Option(names = "--role", description = "admin, invoker or auditor (default: invoker).")
        String role;

        @Option(names = "--aws", description = "An AWS-style access key id and secret for SigV4 (Bedrock SDKs).")
        boolean aws;

        @Override
        public Integer call() {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("name", name);
            if (project != null) {
                body.put("project", project);
            }
            if (role != null) {
                body.put("role", role);
            }
            if (aws) {
                body.put("aws", true);
            }
            JsonNode key = client.client().post("/api/v1/keys", body);
            PrintWriter out = spec.commandLine().getOut();
            if (aws) {
                printAccessKey(out, key);
                return 0;
            }
            if (client.json) {
                ModelsCommand.printJson(out, key);
            } else {
                out.printf("Created key %s for '%s' (project %s, role %s). Its secret, shown only now:%n  %s%n",
                        key.path("id").asText(), key.path("name").asText(), key.path("project").asText(),
                        key.path("role").asText(), key.path("secret").asText());
                out.flush();
            }
            return 0;
        }

        /** With --json, the shape of {@code aws iam create-access-key}, so scripts written for it work. */
        private void printAccessKey(PrintWriter out, JsonNode key) {
            if (client.json) {
                Map<String, Object> accessKey = new LinkedHashMap<>();
                accessKey.put("UserName", key.path("name").asText());
                accessKey.put("AccessKeyId", key.path("accessKeyId").asText());
                accessKey.put("Status", "Active");
                accessKey.put("SecretAccessKey", key.path("secretAccessKey").asText());
                accessKey.put("CreateDate", key.path("createdAt").asText());
                ModelsCommand.printJson(out, Json.mapper().valueToTree(Map.of("AccessKey", accessKey)));
                return;
            }
            out.printf("Created AWS access key %s for '%s' (project %s, role %s; key id %s). Its secret, shown only now:%n"
                            + "  aws_access_key_id = %s%n  aws_secret_access_key = %s%n",
                    key.path("accessKeyId").asText(), key.path("name").asText(), key.path("project").asText(),
                    key.path("role").asText(), key.path("id").asText(), key.path("accessKeyId").asText(),
                    key.path("secretAccessKey").asText());
            out.flush();
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List API keys (never their secrets).")
    static final class ListKeys implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Override
        public Integer call() {
            JsonNode result = client.client().get("/api/v1/keys");
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, result);
                return 0;
            }
            Table table = new Table("ID", "NAME", "PROJECT", "ROLE", "PREFIX", "CREATED", "REVOKED");
            for (JsonNode k : result.path("keys")) {
                table.row(k.path("id").asText(), k.path("name").asText(), k.path("project").asText(),
                        k.path("role").asText(), k.path("prefix").asText() + "…", k.path("createdAt").asText(),
                        k.path("revokedAt").isNull() ? "" : k.path("revokedAt").asText());
            }
            table.print(out);
            return 0;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke an API key at once.")
    static final class Revoke implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "KEY_ID")
        String id;

        @Override
        public Integer call() {
            JsonNode key = client.client().delete("/api/v1/keys/" + id);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, key);
            } else {
                out.println("Revoked " + key.path("id").asText() + " ('" + key.path("name").asText() + "')");
                out.flush();
            }
            return 0;
        }
    }
}
