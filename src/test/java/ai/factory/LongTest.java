package ai.factory;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;

/**
 * A test class whose proof takes minutes of every core (a model trained long enough to learn its data by heart):
 * tagged {@code long}, left out of {@code ./factory test} so that the suite stays short, and run alone by
 * {@code ./factory test --long}.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag(LongTest.TAG)
public @interface LongTest {
    String TAG = "long";
}
