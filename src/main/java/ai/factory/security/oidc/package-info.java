/**
 * Single sign-on: OpenID Connect tokens from the site's identity provider accepted beside API keys (a workload's
 * client-credentials token, a person's access token), verified against the issuer's published keys, and their claims
 * mapped to a project and a role.
 */
@NullMarked
package ai.factory.security.oidc;

import org.jspecify.annotations.NullMarked;
