@NullMarked
package ai.factory;

import org.jspecify.annotations.NullMarked;
