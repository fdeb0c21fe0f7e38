package ai.factory;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;

/**
 * A test class that starts a factory or runs other programs (the launcher, a factory in a child JVM, the SDK clients
 * of other languages, curl, a C compiler), as against a unit test, which runs in its JVM alone. Tagged
 * {@code server}: {@code ./factory test} runs the unit tests first and these after them, and
 * {@code ./factory test -DexcludedGroups=server,long} runs the unit tests alone. {@code TestTagsTest} checks that every
 * class that starts a factory or a process carries it.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag(ServerTest.TAG)
public @interface ServerTest {
    String TAG = "server";
}
