/**
 * What a node has: CPUs, memory and accelerators, discovered from {@code /proc} and the vendors' tools.
 */
@NullMarked
package ai.factory.fleet;

import org.jspecify.annotations.NullMarked;
