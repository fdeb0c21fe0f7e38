@NullMarked
package ai.factory.api.codec;

import org.jspecify.annotations.NullMarked;
