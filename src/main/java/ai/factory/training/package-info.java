/**
 * Fine-tuning: datasets (JSON Lines in Bedrock's or OpenAI's formats, checked whole before they are stored, encrypted
 * under their project's keys) and the training jobs that read them.
 */
@NullMarked
package ai.factory.training;

import org.jspecify.annotations.NullMarked;
