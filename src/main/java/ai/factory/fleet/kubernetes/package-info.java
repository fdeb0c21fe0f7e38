@NullMarked
package ai.factory.fleet.kubernetes;

import org.jspecify.annotations.NullMarked;
