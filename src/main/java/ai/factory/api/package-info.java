@NullMarked
package ai.factory.api;

import org.jspecify.annotations.NullMarked;
