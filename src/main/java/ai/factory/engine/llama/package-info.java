/**
 * GGUF text generation through llama.cpp over the FFM API, with continuous batching, sampling and constrained decoding.
 */
@NullMarked
package ai.factory.engine.llama;

import org.jspecify.annotations.NullMarked;
