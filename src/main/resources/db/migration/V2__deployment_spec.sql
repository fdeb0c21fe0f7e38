-- What a deployment asks of the engine: sequences served at once, context per sequence, CPU threads,
-- and how many requests may wait for a slot.
ALTER TABLE deployments ADD COLUMN parallel INTEGER DEFAULT 1 NOT NULL;
ALTER TABLE deployments ADD COLUMN context_length INTEGER DEFAULT 0 NOT NULL;
ALTER TABLE deployments ADD COLUMN threads INTEGER DEFAULT 0 NOT NULL;
ALTER TABLE deployments ADD COLUMN queue_capacity INTEGER DEFAULT 64 NOT NULL;
