@NullMarked
package ai.factory.engine.onnx;

import org.jspecify.annotations.NullMarked;
