@NullMarked
package ai.factory.security.keys;

import org.jspecify.annotations.NullMarked;
