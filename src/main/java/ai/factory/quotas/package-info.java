/**
 * Fair shares of the fleet: limits on what projects and their keys may use (requests and tokens per minute,
 * concurrent calls, token budgets per day and month, per model where wanted), enforced before a call is admitted
 * from counters in memory that several control-plane replicas share through the database.
 */
@NullMarked
package ai.factory.quotas;

import org.jspecify.annotations.NullMarked;
