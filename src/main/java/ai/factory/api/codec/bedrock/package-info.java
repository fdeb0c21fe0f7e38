@NullMarked
package ai.factory.api.codec.bedrock;

import org.jspecify.annotations.NullMarked;
