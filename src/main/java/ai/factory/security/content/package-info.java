@NullMarked
package ai.factory.security.content;

import org.jspecify.annotations.NullMarked;
