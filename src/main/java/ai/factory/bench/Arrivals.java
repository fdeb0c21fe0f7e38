package ai.factory.bench;

import java.util.SplittableRandom;

/** When the requests of an open-loop level start. */
final class Arrivals {
    private Arrivals() {}

    /**
     * The times, in seconds from the level's start, of the first {@code count} arrivals of a Poisson process of
     * {@code rate} arrivals per second: the gaps between them are independent and exponential with mean 1 / rate, each
     * drawn by inverting the distribution at a uniform draw of {@code random}.
     */
    static double[] poisson(double rate, int count, SplittableRandom random) {
        if (!(rate > 0) || !Double.isFinite(rate)) {
            throw new IllegalArgumentException("the rate must be above 0: " + rate);
        }
        double[] times = new double[count];
        double time = 0;
        for (int i = 0; i < count; i++) {
            // 1 - nextDouble() lies in (0, 1], so the logarithm is finite.
            time += -Math.log(1 - random.nextDouble()) / rate;
            times[i] = time;
        }
        return times;
    }
}
