package ai.factory;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;

/**
 * Says in the build's output why each skipped test was skipped. Surefire counts a test whose assumption failed
 * (SoftHSM2, PostgreSQL, Node.js, boto3, curl, a test model or the llama.cpp natives missing) as skipped and prints
 * no reason, so a missing tool looked like nothing was wrong; this prints one line per skip, as
 * {@code SKIPPED Class.method(): reason}. Registered through {@code META-INF/services}, so the JUnit Platform
 * loads it for every run, Maven's and an IDE's alike.
 */
public final class SkipReasons implements TestExecutionListener {
    @Override
    public void executionSkipped(TestIdentifier test, String reason) {
        print(test, reason);
    }

    @Override
    public void executionFinished(TestIdentifier test, TestExecutionResult result) {
        if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
            print(test, result.getThrowable().map(Throwable::getMessage).orElse("aborted"));
        }
    }

    private static void print(TestIdentifier test, String reason) {
        String where = test.getSource().map(SkipReasons::name).orElse(test.getDisplayName());
        System.out.println("SKIPPED " + where + ": " + (reason == null ? "no reason given" : reason.strip()));
        System.out.flush();
    }

    private static String name(org.junit.platform.engine.TestSource source) {
        return switch (source) {
            case org.junit.platform.engine.support.descriptor.MethodSource m ->
                    m.getClassName().substring(m.getClassName().lastIndexOf('.') + 1) + "." + m.getMethodName() + "()";
            case org.junit.platform.engine.support.descriptor.ClassSource c -> c.getClassName();
            default -> source.toString();
        };
    }
}
