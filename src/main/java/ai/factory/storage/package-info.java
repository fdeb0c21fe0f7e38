@NullMarked
package ai.factory.storage;

import org.jspecify.annotations.NullMarked;
