@NullMarked
package ai.factory.fleet.placement;

import org.jspecify.annotations.NullMarked;
