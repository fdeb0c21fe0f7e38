package ai.factory.cli;

import org.jspecify.annotations.Nullable;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
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

/**
 * {@code factory chat MODEL}: a terminal chat that streams the answer as it is generated, through the same
 * {@code /v1/chat/completions} API every client uses. {@code -p} asks one question and exits.
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = {"Chat with a deployed model in the terminal; answers stream as they are generated.",
                "Type /reset to forget the conversation, /exit (or Ctrl-D) to leave."})
final class ChatCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin ClientOptions client;

    @Parameters(paramLabel = "MODEL", description = "A deployed model, e.g. acme/llama-3.2-1b")
    String model;

    @Option(names = {"-p", "--prompt"}, description = "Ask this once, print the answer and exit.")
    @Nullable String prompt;

    @Option(names = "--system", description = "A system prompt for the conversation.")
    @Nullable String system;

    /** One question on the command line wants a short answer back; a conversation may run longer. */
    static final int ONE_SHOT_MAX_TOKENS = 128;
    static final int CONVERSATION_MAX_TOKENS = 512;

    @Option(names = "--max-tokens", description = "Longest answer in tokens (default: " + ONE_SHOT_MAX_TOKENS
            + " with -p, " + CONVERSATION_MAX_TOKENS + " in a conversation).")
    @Nullable Integer maxTokens;

    @Option(names = "--temperature", description = "Sampling temperature, 0 for greedy (default: the server's).")
    @Nullable Double temperature;

    @Override
    public Integer call() throws IOException {
        FactoryClient http = client.client();
        PrintWriter out = spec.commandLine().getOut();
        List<Map<String, String>> history = new ArrayList<>();
        if (system != null) {
            history.add(Map.of("role", "system", "content", system));
        }
        if (prompt != null) {
            ask(http, out, history, prompt);
            return 0;
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        out.println("Chatting with " + model + ". /reset forgets, /exit leaves.");
        while (true) {
            out.print("> ");
            out.flush();
            String line = in.readLine();
            if (line == null || line.strip().equals("/exit")) {
                out.println();
                out.flush();
                return 0;
            }
            if (line.strip().equals("/reset")) {
                history.removeIf(m -> !"system".equals(m.get("role")));
                out.println("(conversation forgotten)");
                continue;
            }
            if (!line.isBlank()) {
                ask(http, out, history, line);
            }
        }
    }

    private void ask(FactoryClient http, PrintWriter out, List<Map<String, String>> history, String question) {
        history.add(Map.of("role", "user", "content", question));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", model);
        body.put("messages", history);
        body.put("max_tokens", maxTokens != null ? maxTokens : prompt != null ? ONE_SHOT_MAX_TOKENS : CONVERSATION_MAX_TOKENS);
        body.put("stream", true);
        if (temperature != null) {
            body.put("temperature", temperature);
        }
        StringBuilder answer = new StringBuilder();
        http.stream("/v1/chat/completions", body, event -> {
            String delta = event.path("choices").path(0).path("delta").path("content").asText("");
            answer.append(delta);
            out.print(delta);
            out.flush();
        });
        out.println();
        out.flush();
        history.add(Map.of("role", "assistant", "content", answer.toString()));
    }
}
