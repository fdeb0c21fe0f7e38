package ai.factory.fleet;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A boundary fake for {@link CommandRunner}: answers the commands it was given with recorded results, as if only
 * those tools were installed; every other command is "not installed". Counts the runs so caching can be seen.
 */
final class FixtureCommandRunner implements CommandRunner {
    private final Map<List<String>, Result> results = new HashMap<>();
    private final List<List<String>> runs = new ArrayList<>();

    FixtureCommandRunner answer(List<String> command, String fixture) {
        return answer(command, Result.ok(Fixtures.read(fixture)));
    }

    FixtureCommandRunner answer(List<String> command, Result result) {
        results.put(List.copyOf(command), result);
        return this;
    }

    @Override
    public synchronized Optional<Result> run(List<String> command, Duration timeout) {
        runs.add(List.copyOf(command));
        return Optional.ofNullable(results.get(command));
    }

    synchronized List<List<String>> runs() {
        return List.copyOf(runs);
    }
}
