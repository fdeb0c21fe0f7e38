/**
 * Model signatures in the OpenSSF model-signing format: a Sigstore bundle whose DSSE envelope carries an in-toto
 * statement listing every file of a model with its SHA-256, signed with a key (ECDSA or Ed25519) or a key whose
 * certificate the site's PKI issued, and verified offline against the signers a site trusts.
 */
@NullMarked
package ai.factory.security.signing;

import org.jspecify.annotations.NullMarked;
