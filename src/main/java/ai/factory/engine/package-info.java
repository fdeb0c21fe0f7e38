@NullMarked
package ai.factory.engine;

import org.jspecify.annotations.NullMarked;
