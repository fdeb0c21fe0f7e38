package ai.factory.fleet;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** Runs a tool as a child process, reading its output on virtual threads so a chatty tool never blocks on a full pipe. */
final class ProcessCommandRunner implements CommandRunner {
    /** More than any discovery tool prints; a tool that prints more is cut off there. */
    private static final int MAX_OUTPUT = 16 << 20;

    @Override
    public Optional<Result> run(List<String> command, Duration timeout) {
        Process process;
        try {
            process = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        } catch (IOException e) {
            return Optional.empty(); // not installed (or not executable): nothing to discover with it
        }
        try {
            process.getOutputStream().close();
            CompletableFuture<String> out = read(process.getInputStream());
            CompletableFuture<String> err = read(process.getErrorStream());
            boolean finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!finished) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                return Optional.of(new Result(-1, "", "", true));
            }
            return Optional.of(new Result(process.exitValue(), out.get(), err.get(), false));
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            return Optional.of(new Result(-1, "", "interrupted", true));
        } catch (ExecutionException | IOException e) {
            process.destroyForcibly();
            return Optional.of(new Result(-1, "", "cannot read its output: " + e.getMessage(), false));
        }
    }

    private static CompletableFuture<String> read(InputStream in) {
        CompletableFuture<String> result = new CompletableFuture<>();
        Thread.ofVirtual().name("discovery-output").start(() -> {
            try (in) {
                byte[] bytes = in.readNBytes(MAX_OUTPUT);
                in.transferTo(java.io.OutputStream.nullOutputStream());
                result.complete(new String(bytes, StandardCharsets.UTF_8));
            } catch (IOException e) {
                result.completeExceptionally(new UncheckedIOException(e));
            }
        });
        return result;
    }
}
