package ai.factory.cli;

import ai.factory.Json;
import ai.factory.api.codec.admin.KeyWire.CreateKey;
import ai.factory.api.codec.admin.KeyWire.CreatedKey;
import ai.factory.api.codec.admin.KeyWire.Key;
import ai.factory.api.codec.admin.KeyWire.KeyList;
import org.jspecify.annotations.Nullable;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code factory keys …}: API keys (site admins, and project admins within their project). */
@Command(name = "keys", mixinStandardHelpOptions = true, description = "Create, list and revoke API keys.")
final class KeysCommand {
    /** Its subcommands, in the order help lists them (see {@link FactoryCli#commandLine}). */
    static final List<Class<?>> SUBCOMMANDS = List.of(Create.class, ListKeys.class, Revoke.class);

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create an API key; its secret is printed once and never stored.")
    static final class Create implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Option(names = "--name", required = true, description = "Who or what the key is for.")
        String name;

        @Option(names = "--project", description = "Project the key belongs to; it must exist (default: the caller's).")
        @Nullable String project;

        @Option(names = "--role",
                description = "admin, project-admin, developer, invoker, auditor or metrics (a Prometheus scraper's: "
                        + "/metrics only) (default: invoker).")
        @Nullable String role;

        @Option(names = "--aws", description = "An AWS-style access key id and secret for SigV4 (Bedrock SDKs).")
        boolean aws;

        @Override
        public Integer call() {
            CreatedKey key = client.client().post("/api/v1/keys", new CreateKey(name, project, role, aws ? true : null),
                    CreatedKey.class);
            PrintWriter out = spec.commandLine().getOut();
            if (aws) {
                printAccessKey(out, key);
                return 0;
            }
            if (client.json) {
                ModelsCommand.printJson(out, key);
            } else {
                out.printf("Created key %s for '%s' (project %s, role %s). Its secret, shown only now:%n  %s%n",
                        key.id(), key.name(), key.project(), key.role(), key.secret());
                out.flush();
            }
            return 0;
        }

        /** With --json, the shape of {@code aws iam create-access-key}, so scripts written for it work. */
        private void printAccessKey(PrintWriter out, CreatedKey key) {
            if (client.json) {
                Map<String, Object> accessKey = new LinkedHashMap<>();
                accessKey.put("UserName", key.name());
                accessKey.put("AccessKeyId", key.accessKeyId());
                accessKey.put("Status", "Active");
                accessKey.put("SecretAccessKey", key.secretAccessKey());
                accessKey.put("CreateDate", key.createdAt().toString());
                ModelsCommand.printJson(out, Json.mapper().valueToTree(Map.of("AccessKey", accessKey)));
                return;
            }
            out.printf("Created AWS access key %s for '%s' (project %s, role %s; key id %s). Its secret, shown only now:%n"
                            + "  aws_access_key_id = %s%n  aws_secret_access_key = %s%n",
                    key.accessKeyId(), key.name(), key.project(), key.role(), key.id(), key.accessKeyId(),
                    key.secretAccessKey());
            out.flush();
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List API keys (never their secrets).")
    static final class ListKeys implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Override
        public Integer call() {
            KeyList result = client.client().get("/api/v1/keys", KeyList.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, result);
                return 0;
            }
            Table table = new Table("ID", "NAME", "PROJECT", "ROLE", "PREFIX", "CREATED", "REVOKED");
            for (Key k : result.keys()) {
                table.row(k.id(), String.valueOf(k.name()), String.valueOf(k.project()), String.valueOf(k.role()),
                        k.prefix() + "…", String.valueOf(k.createdAt()),
                        k.revokedAt() == null ? "" : k.revokedAt());
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
            Key key = client.client().delete("/api/v1/keys/" + id, Key.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, key);
            } else {
                out.println("Revoked " + key.id() + " ('" + key.name() + "')");
                out.flush();
            }
            return 0;
        }
    }
}
