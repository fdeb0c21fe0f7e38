@NullMarked
package ai.factory.models.synth;

import org.jspecify.annotations.NullMarked;
