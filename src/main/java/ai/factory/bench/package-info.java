/**
 * Load benchmarks of a running factory: streamed requests at rising concurrency or at Poisson arrival rates, with
 * shared prefixes and multi-turn sessions, their latencies and throughput, and roofline estimates to compare them
 * with.
 */
@NullMarked
package ai.factory.bench;

import org.jspecify.annotations.NullMarked;
