package ai.factory.tenancy;

import ai.factory.identity.Principal;

/**
 * Runs when a project is deleted, after its deployments, keys and models are gone and before its row goes: e.g.
 * destroying the project's data key so whatever it sealed can never be read again. A hook that throws stops the
 * deletion; the project stays and deleting it again runs every step again, so hooks must be idempotent.
 */
@FunctionalInterface
public interface ProjectDeletionHook {
    void projectDeleted(String project, Principal by);
}
