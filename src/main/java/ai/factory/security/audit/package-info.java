/**
 * The audit log: a hash chain of events written with group commit, sealed by signed digests, and verified from its anchor.
 */
@NullMarked
package ai.factory.security.audit;

import org.jspecify.annotations.NullMarked;
