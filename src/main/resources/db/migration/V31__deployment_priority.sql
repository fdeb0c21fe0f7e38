-- Which deployments' replicas give way when workers are full: a replica that finds no room may end replicas of
-- deployments with a lower priority (from -1000 to 1000; 0, the default, for every deployment made before).
ALTER TABLE deployments ADD COLUMN priority INTEGER DEFAULT 0 NOT NULL;
