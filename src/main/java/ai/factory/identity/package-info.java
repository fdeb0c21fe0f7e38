@NullMarked
package ai.factory.identity;

import org.jspecify.annotations.NullMarked;
