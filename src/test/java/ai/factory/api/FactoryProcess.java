package ai.factory.api;

import ai.factory.TestFactory;
import ai.factory.TestModels;
import java.nio.file.Path;

/**
 * A factory in a process of its own, for tests that kill it: started on the home given as the first argument with
 * the test model deployed as {@code acme/tiny} (one slot, a large context), it prints {@code url …} and
 * {@code key …}, then {@code ready}, and serves until it is killed.
 */
public final class FactoryProcess {
    private FactoryProcess() {}

    public static void main(String[] args) throws Exception {
        TestFactory factory;
        try {
            factory = TestFactory.start(Path.of(args[0]));
            factory.deployGguf("acme/tiny", TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 131072, \"threads\": 1");
        } catch (Throwable e) {
            e.printStackTrace();
            System.exit(1);
            return;
        }
        System.out.println("url " + factory.url());
        System.out.println("key " + factory.adminKey());
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
