package ai.factory.cli;

import ai.factory.api.codec.admin.UsageWire.Usage;
import ai.factory.api.codec.admin.UsageWire.UsageReport;
import org.jspecify.annotations.Nullable;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code factory usage}: inference requests and tokens by project and model, from the audit trail. */
@Command(name = "usage", mixinStandardHelpOptions = true,
        description = "What projects consumed: inference requests, failures, tokens and bytes by project and model, "
                + "summed from the audit trail (project admins see their own project, auditors and admins all).")
final class UsageCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin ClientOptions client;

    @Option(names = "--project", description = "Only this project.") @Nullable String project;
    @Option(names = "--from", description = "From this time (2026-11-25 or 2026-11-25T13:00:00Z).")
    @Nullable String from;
    @Option(names = "--to", description = "Before this time.") @Nullable String to;

    @Override
    public Integer call() {
        List<String> params = new ArrayList<>();
        add(params, "project", project);
        add(params, "from", from);
        add(params, "to", to);
        UsageReport result = client.client().get("/api/v1/usage" + (params.isEmpty() ? "" : "?"
                + String.join("&", params)), UsageReport.class);
        PrintWriter out = spec.commandLine().getOut();
        if (client.json) {
            ModelsCommand.printJson(out, result);
            return 0;
        }
        Table table = new Table("PROJECT", "MODEL", "REQUESTS", "FAILED", "PROMPT TOKENS", "COMPLETION TOKENS",
                "BYTES IN", "BYTES OUT");
        for (Usage u : result.usage()) {
            table.row(u.project(), String.valueOf(u.model()), u.requests(), u.failed(), u.promptTokens(),
                    u.completionTokens(), u.bytesIn(), u.bytesOut());
        }
        table.print(out);
        return 0;
    }

    private static void add(List<String> params, String name, @Nullable String value) {
        if (value != null) {
            params.add(name + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8));
        }
    }
}
