package ai.factory.security.keys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.fail;

import ai.factory.config.Pkcs11Settings;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real SoftHSM2 token for tests, made once per test JVM in a temporary folder: its own {@code softhsm2.conf}
 * (pointed at by {@code SOFTHSM2_CONF}, set in this process before the module is first loaded, since SoftHSM reads it
 * when initialised, once per process) and a token initialised with {@code softhsm2-util --init-token}. Tests keep
 * apart by using master key labels of their own.
 *
 * <p>Without SoftHSM2 (its module or {@code softhsm2-util}) the tests that need it are skipped, unless
 * {@code FACTORY_TEST_REQUIRE_HSM=true} (as in CI, whose {@code .ci/run} installs it), which fails them instead.
 */
public final class TestHsm {
    public static final String TOKEN_LABEL = "factory-test";
    public static final String PIN = "4711-test";
    private static final List<String> MODULES = List.of("/usr/lib/softhsm/libsofthsm2.so",
            "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
            "/usr/local/lib/softhsm/libsofthsm2.so");
    private static Path module;
    private static Path conf;
    private static String unavailable;

    private TestHsm() {}

    /** The SoftHSM2 module, with the shared test token ready; skips (or fails under CI) without SoftHSM2. */
    public static synchronized Path module() {
        if (module == null && unavailable == null) {
            try {
                module = prepare();
            } catch (IOException | InterruptedException e) {
                unavailable = "cannot prepare a SoftHSM2 token: " + e;
            }
        }
        if (module == null) {
            if (Boolean.parseBoolean(System.getenv("FACTORY_TEST_REQUIRE_HSM"))) {
                fail(unavailable + " (FACTORY_TEST_REQUIRE_HSM=true; install Debian's softhsm2)");
            }
            Assumptions.abort(unavailable + "; the PKCS#11 tests are skipped (install Debian's softhsm2 to run them; "
                    + "FACTORY_TEST_REQUIRE_HSM=true fails them instead)");
        }
        return module;
    }

    /** The SoftHSM2 configuration of the test token, for a child process ({@code SOFTHSM2_CONF}). */
    public static synchronized Path conf() {
        module();
        return conf;
    }

    /** Settings that name the test token by its label. */
    public static Pkcs11Settings byLabel() {
        return new Pkcs11Settings(module(), OptionalLong.empty(), Optional.of(TOKEN_LABEL), PIN);
    }

    private static Path prepare() throws IOException, InterruptedException {
        Optional<Path> lib = MODULES.stream().map(Path::of).filter(Files::isRegularFile).findFirst();
        if (lib.isEmpty()) {
            unavailable = "SoftHSM2 is not installed (no libsofthsm2.so in " + MODULES + ")";
            return null;
        }
        Path dir = Files.createTempDirectory("factory-softhsm-");
        Path tokens = Files.createDirectories(dir.resolve("tokens"));
        Path conf = Files.writeString(dir.resolve("softhsm2.conf"), "directories.tokendir = " + tokens + "\n"
                + "objectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n");
        setenv("SOFTHSM2_CONF", conf.toString());
        TestHsm.conf = conf;
        ProcessBuilder init = new ProcessBuilder("softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL,
                "--pin", PIN, "--so-pin", "so-" + PIN).redirectErrorStream(true);
        init.environment().put("SOFTHSM2_CONF", conf.toString());
        Process p;
        try {
            p = init.start();
        } catch (IOException e) {
            unavailable = "softhsm2-util is not on the PATH: " + e.getMessage();
            return null;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            unavailable = "softhsm2-util --init-token failed: " + out;
            return null;
        }
        return lib.get();
    }

    /** Sets a variable in this process's C environment, which the PKCS#11 module reads (Java's own view is fixed). */
    @SuppressWarnings("restricted")
    private static void setenv(String name, String value) {
        Linker linker = Linker.nativeLinker();
        MethodHandle setenv = linker.downcallHandle(linker.defaultLookup().find("setenv").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            int rc = (int) setenv.invokeExact(arena.allocateFrom(name), arena.allocateFrom(value), 1);
            if (rc != 0) {
                throw new IllegalStateException("setenv failed");
            }
        } catch (Throwable e) {
            throw new IllegalStateException("cannot set " + name, e);
        }
    }
}
