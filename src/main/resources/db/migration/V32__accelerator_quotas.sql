-- The most accelerators (GPUs) a project's replicas may hold at once, on one machine or across a cluster's workers;
-- NULL: no limit. Set on a project's own quota only.
ALTER TABLE quotas ADD COLUMN accelerators INTEGER;
-- The GPUs a worker reports each replica holds (NULL until it reports, or where it never did), and the project of
-- the replica's deployment, which placement counts against that project's accelerator quota.
ALTER TABLE replica_assignments ADD COLUMN gpus INTEGER;
ALTER TABLE replica_assignments ADD COLUMN project VARCHAR(200);
UPDATE replica_assignments SET project = (SELECT d.project FROM deployments d
                                          WHERE d.id = replica_assignments.deployment_id);
