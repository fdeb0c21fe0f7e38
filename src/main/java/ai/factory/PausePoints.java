package ai.factory;

import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

/**
 * Named points in the factory's multi-step writes (an upload between staging and rename, a key rotation inside its
 * transaction, …) where a crash test can hold the process and then kill it with SIGKILL, so that the test kills it
 * exactly there and not at a moment chosen by timing.
 *
 * <p>Off unless the system property {@value #PROPERTY} lists points, each {@code point} or {@code point@context}
 * (comma-separated); a thread that reaches a listed point (with that context) prints {@code paused at
 * point@context} on standard output and parks until the process dies. Production never sets the property, and a
 * point then costs one check of an empty set.
 */
public final class PausePoints {
    public static final String PROPERTY = "factory.test.pauseAt";

    private static final Set<String> LISTED = Arrays.stream(System.getProperty(PROPERTY, "").split(","))
            .map(String::strip).filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());

    private PausePoints() {}

    /** Parks the calling thread for good when {@code point} (alone, or with {@code context}) is listed. */
    public static void reach(String point, String context) {
        if (LISTED.isEmpty()) {
            return;
        }
        String at = point + "@" + context;
        if (LISTED.contains(point) || LISTED.contains(at)) {
            System.out.println("paused at " + at);
            System.out.flush();
            while (true) {
                LockSupport.park();
            }
        }
    }
}
