-- How busy each replica on a worker is, as its worker last reported it in a heartbeat (sequences generating, requests
-- waiting, slots, tokens generated since it loaded), so that every control-plane replica can show it.
ALTER TABLE replica_assignments ADD COLUMN load_report TEXT;
