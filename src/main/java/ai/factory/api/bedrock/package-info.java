@NullMarked
package ai.factory.api.bedrock;

import org.jspecify.annotations.NullMarked;
