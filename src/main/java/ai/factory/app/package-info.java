@NullMarked
package ai.factory.app;

import org.jspecify.annotations.NullMarked;
