@NullMarked
package ai.factory.security;

import org.jspecify.annotations.NullMarked;
