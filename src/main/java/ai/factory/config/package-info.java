/**
 * The factory's configuration: one record per subsystem, resolved from defaults, {@code factory.yaml}, {@code FACTORY_*} environment variables and flags.
 */
@NullMarked
package ai.factory.config;

import org.jspecify.annotations.NullMarked;
