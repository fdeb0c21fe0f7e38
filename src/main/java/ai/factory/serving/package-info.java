/**
 * Model serving: deployments of model versions, their life from pending to ready, where their replicas run, and model imports.
 */
@NullMarked
package ai.factory.serving;

import org.jspecify.annotations.NullMarked;
