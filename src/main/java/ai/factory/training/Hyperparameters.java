package ai.factory.training;

import ai.factory.FactoryException;
import ai.factory.engine.training.TrainedTensors;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How a fine-tuning job trains, each value checked against its range when the job is created.
 *
 * @param epochs passes over the training data (Bedrock's {@code epochCount})
 * @param learningRate AdamW's step size after warm-up; it then decays linearly to zero at the last step
 * @param warmupSteps optimizer steps over which the rate climbs to {@code learningRate} (Bedrock's
 *     {@code learningRateWarmupSteps})
 * @param batchSize windows of {@code contextTokens} per optimizer step, gradients accumulated across them
 * @param contextTokens tokens per window: the examples are joined end to end and cut into windows of this length
 * @param trainLayers how many of the model's last blocks train, with the output norm and head; 0 trains every block
 * @param trainTensors which tensors of those blocks train: {@code all}, {@code attention} or {@code ffn} (the last two
 *     leave the output head as it is)
 * @param validationSplit the share of the training examples held out to measure validation loss when no validation
 *     dataset is given (0 holds none out)
 * @param checkpointSteps a checkpoint every this many steps besides each epoch's end (0: epochs only)
 * @param seed fixes the order examples are shuffled into each epoch
 */
public record Hyperparameters(int epochs, double learningRate, int warmupSteps, int batchSize, int contextTokens,
                              int trainLayers, String trainTensors, double validationSplit, int checkpointSteps,
                              long seed) {
    public static final Hyperparameters DEFAULTS = new Hyperparameters(3, 1e-4, 0, 1, 512, 0, "all", 0.0, 100, 42);
    /** A window's length times the batch must be a multiple of this (llama.cpp rounds contexts up to it). */
    public static final int WINDOW_GRANULE = 256;

    public Hyperparameters {
        range("epochCount", epochs, 1, 1000);
        if (!(learningRate > 0 && learningRate <= 0.1)) {
            throw FactoryException.invalidParam("learningRate", "learningRate must be above 0 and at most 0.1, not "
                    + learningRate);
        }
        range("learningRateWarmupSteps", warmupSteps, 0, 1_000_000);
        range("batchSize", batchSize, 1, 256);
        range("contextLength", contextTokens, 64, 32_768);
        range("trainLayers", trainLayers, 0, 10_000);
        try {
            trainTensors = TrainedTensors.of(trainTensors == null ? "all" : trainTensors).id();
        } catch (IllegalArgumentException e) {
            throw FactoryException.invalidParam("trainTensors", String.valueOf(e.getMessage()));
        }
        if (!(validationSplit >= 0 && validationSplit <= 0.5)) {
            throw FactoryException.invalidParam("validationSplit", "validationSplit must be between 0 and 0.5, not "
                    + validationSplit);
        }
        range("checkpointSteps", checkpointSteps, 0, 1_000_000);
        if ((long) batchSize * contextTokens % WINDOW_GRANULE != 0) {
            throw FactoryException.invalidParam("contextLength", ("batchSize × contextLength (%d × %d) must be a multiple "
                    + "of %d tokens; for example contextLength 256, 512 or 1024").formatted(batchSize, contextTokens,
                    WINDOW_GRANULE));
        }
    }

    private static void range(String name, long value, long min, long max) {
        if (value < min || value > max) {
            throw FactoryException.invalidParam(name, "%s must be between %d and %d, not %d".formatted(name, min, max,
                    value));
        }
    }

    /** Tokens per optimizer step. */
    public int window() {
        return batchSize * contextTokens;
    }

    /**
     * These hyperparameters with the ones {@code values} names replaced: Bedrock's names ({@code epochCount},
     * {@code learningRate}, {@code learningRateWarmupSteps}, {@code batchSize}) and the factory's own
     * ({@code contextLength}, {@code trainLayers}, {@code trainTensors}, {@code validationSplit}, {@code checkpointSteps}, {@code seed}),
     * values as strings as Bedrock sends them. An unknown name or a value that is not a number is refused.
     */
    public Hyperparameters with(Map<String, String> values) {
        int e = epochs;
        double lr = learningRate;
        int warm = warmupSteps;
        int batch = batchSize;
        int ctx = contextTokens;
        int layers = trainLayers;
        String tensors = trainTensors;
        double split = validationSplit;
        int every = checkpointSteps;
        long s = seed;
        for (Map.Entry<String, String> v : values.entrySet()) {
            String name = v.getKey();
            String text = v.getValue() == null ? "" : v.getValue().trim();
            switch (name) {
                case "epochCount", "epochs" -> e = integer(name, text);
                case "learningRate" -> lr = number(name, text);
                case "learningRateWarmupSteps", "warmupSteps" -> warm = integer(name, text);
                case "batchSize" -> batch = integer(name, text);
                case "contextLength" -> ctx = integer(name, text);
                case "trainLayers" -> layers = integer(name, text);
                case "trainTensors" -> tensors = text;
                case "validationSplit" -> split = number(name, text);
                case "checkpointSteps" -> every = integer(name, text);
                case "seed" -> s = integer(name, text);
                default -> throw FactoryException.invalidParam(name, "unknown hyperparameter '" + name + "'; known: "
                        + "epochCount, learningRate, learningRateWarmupSteps, batchSize, contextLength, trainLayers, "
                        + "trainTensors, validationSplit, checkpointSteps, seed");
            }
        }
        return new Hyperparameters(e, lr, warm, batch, ctx, layers, tensors, split, every, s);
    }

    /** As Bedrock lists a job's hyperparameters: names to strings. */
    public Map<String, String> asMap() {
        Map<String, String> map = new LinkedHashMap<>();
        map.put("epochCount", String.valueOf(epochs));
        map.put("learningRate", String.valueOf(learningRate));
        map.put("learningRateWarmupSteps", String.valueOf(warmupSteps));
        map.put("batchSize", String.valueOf(batchSize));
        map.put("contextLength", String.valueOf(contextTokens));
        map.put("trainLayers", String.valueOf(trainLayers));
        map.put("trainTensors", trainTensors);
        map.put("validationSplit", String.valueOf(validationSplit));
        map.put("checkpointSteps", String.valueOf(checkpointSteps));
        map.put("seed", String.valueOf(seed));
        return map;
    }

    private static int integer(String name, String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw FactoryException.invalidParam(name, name + " must be a whole number, not '" + text + "'");
        }
    }

    private static double number(String name, String text) {
        try {
            double value = Double.parseDouble(text);
            if (!Double.isFinite(value)) {
                throw new NumberFormatException();
            }
            return value;
        } catch (NumberFormatException e) {
            throw FactoryException.invalidParam(name, name + " must be a number, not '" + text + "'");
        }
    }
}
