-- Which factory process runs a model import job: with several control-plane replicas, a new leader marks failed only
-- the jobs of replicas that are gone, not those another replica is running.
ALTER TABLE model_import_jobs ADD COLUMN runner VARCHAR(40);
