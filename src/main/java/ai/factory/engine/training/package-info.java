/**
 * Fine-tuning as an engine sees it: the run's options and what it reports while it runs. The engines train
 * ({@code engine.llama.LlamaTrainer}); the training room ({@code ai.factory.training}) turns jobs into runs.
 */
@NullMarked
package ai.factory.engine.training;

import org.jspecify.annotations.NullMarked;
