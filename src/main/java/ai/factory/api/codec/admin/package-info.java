/**
 * The factory's own management API ({@code /api/v1/...}) on the wire: one record per request body and per answer,
 * bound by Jackson on the server ({@link ai.factory.api.codec.WireJson} reads requests strictly) and by the command
 * line, so both sides and the OpenAPI document share one definition of each shape. Field names and order are the
 * API's, camelCase; request records check what is required in their compact constructors, with the factory's
 * error naming the field.
 */
@NullMarked
package ai.factory.api.codec.admin;

import org.jspecify.annotations.NullMarked;
