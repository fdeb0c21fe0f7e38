@NullMarked
package ai.factory.fleet.capacity;

import org.jspecify.annotations.NullMarked;
