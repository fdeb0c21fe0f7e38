@NullMarked
package ai.factory.inference;

import org.jspecify.annotations.NullMarked;
