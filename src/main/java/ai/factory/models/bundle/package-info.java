/**
 * Air-gapped bundles: one signed archive that carries models (with their own signatures) and, when asked, the factory
 * itself, from a site to another that has no network. Every file is listed with its SHA-256 in a statement the
 * exporting site's key signs; the importing site verifies the signature and every digest before it registers or
 * installs anything.
 */
@NullMarked
package ai.factory.models.bundle;

import org.jspecify.annotations.NullMarked;
