@NullMarked
package ai.factory.security.tls;

import org.jspecify.annotations.NullMarked;
