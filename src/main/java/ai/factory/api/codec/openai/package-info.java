/**
 * The OpenAI API on the wire: Chat Completions, Completions, Responses and Embeddings bodies, and their codecs to
 * and from the factory's calls.
 */
@NullMarked
package ai.factory.api.codec.openai;

import org.jspecify.annotations.NullMarked;
