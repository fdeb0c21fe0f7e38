@NullMarked
package ai.factory.sovereignty;

import org.jspecify.annotations.NullMarked;
