package ai.factory.models.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Damages the real test model thousands of ways: reading must either succeed or fail with a
 * {@link GgufFormatException}, never another exception or error, and quickly.
 */
class GgufMutationTest {
    private static final int MUTATIONS = 2_000;
    private static final long SEED = 20_240_601L;
    // Where the tiny model's metadata ends and its tensor infos start; most damage goes there,
    // because damage to the tensor data is invisible to a metadata reader.
    private static final int DATA_OFFSET = 724_416;
    private static final int TENSOR_INFOS = 723_709;
    private static final long[] INTERESTING_LONGS = {
            0, 1, -1, 2, 31, 32, 33, 255, 256, 65_536, Integer.MAX_VALUE, 1L << 32, 1L << 40, 1L << 62,
            Long.MAX_VALUE, Long.MIN_VALUE, 1_750_560, 1_750_561};

    // Caps the whole run so a reader that became quadratic fails here rather than stalls the build.
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void failsOnlyWithFormatErrorsUnderThousandsOfSeededMutations() throws IOException {
        Path models = Path.of(System.getProperty("factory.test.models", "../shared/models"));
        Assumptions.assumeTrue(Files.isDirectory(models), "test models folder " + models + " is absent");
        byte[] original = Files.readAllBytes(models.resolve("llama-2-tiny-random.gguf"));
        byte[] file = original.clone();
        Random random = new Random(SEED);
        List<String> unexpected = new ArrayList<>();
        int rejected = 0;

        for (int i = 0; i < MUTATIONS; i++) {
            int offset = offset(random, file.length);
            int length = mutate(random, file, offset);
            try {
                GgufReader.read(new ByteArrayChannel(file), file.length);
            } catch (GgufFormatException expected) {
                rejected++;
            } catch (Throwable e) {
                unexpected.add("mutation %d at offset %d: %s".formatted(i, offset, e));
            }
            System.arraycopy(original, offset, file, offset, length);
        }

        assertThat(unexpected).isEmpty();
        // Both outcomes must be common, or the mutations are not exercising the reader.
        assertThat(rejected).isBetween(MUTATIONS / 10, MUTATIONS - MUTATIONS / 10);
    }

    private static int offset(Random random, int size) {
        int choice = random.nextInt(10);
        if (choice < 3) {
            return random.nextInt(600);
        }
        if (choice < 5) {
            return TENSOR_INFOS + random.nextInt(DATA_OFFSET - TENSOR_INFOS);
        }
        if (choice < 9) {
            return random.nextInt(DATA_OFFSET);
        }
        return random.nextInt(size);
    }

    /** Damages {@code file} at {@code offset} and returns how many bytes it may have changed. */
    private static int mutate(Random random, byte[] file, int offset) {
        int length = Math.min(8, file.length - offset);
        switch (random.nextInt(4)) {
            case 0 -> file[offset] = (byte) random.nextInt(256);
            case 1 -> file[offset] ^= (byte) (1 << random.nextInt(8));
            case 2 -> {
                long value = INTERESTING_LONGS[random.nextInt(INTERESTING_LONGS.length)];
                for (int i = 0; i < length; i++) {
                    file[offset + i] = (byte) (value >>> (8 * i));
                }
            }
            default -> {
                for (int i = 0; i < length; i++) {
                    file[offset + i] = (byte) random.nextInt(256);
                }
            }
        }
        return length;
    }
}
