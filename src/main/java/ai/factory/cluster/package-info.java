/**
 * A factory over several machines: the tokens workers join with, the nodes that joined (each with a client
 * certificate from the cluster CA), their state, and the refusal to take workers on a database only one process can
 * open.
 */
@NullMarked
package ai.factory.cluster;

import org.jspecify.annotations.NullMarked;
