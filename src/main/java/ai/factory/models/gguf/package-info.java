/**
 * The GGUF model file format: reading and writing its header, metadata and tensor infos, and what the metadata says about a model.
 */
@NullMarked
package ai.factory.models.gguf;

import org.jspecify.annotations.NullMarked;
