@NullMarked
package ai.factory.api.openai;

import org.jspecify.annotations.NullMarked;
