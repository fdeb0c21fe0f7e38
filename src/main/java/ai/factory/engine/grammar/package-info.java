/**
 * Constrained decoding: GBNF grammars built from JSON Schemas, regular expressions and OpenAI's response formats.
 */
@NullMarked
package ai.factory.engine.grammar;

import org.jspecify.annotations.NullMarked;
