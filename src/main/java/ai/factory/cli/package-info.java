/**
 * The {@code factory} command line: starting the server and calling its management API.
 */
@NullMarked
package ai.factory.cli;

import org.jspecify.annotations.NullMarked;
