-- Digests that cannot be dropped unnoticed (docs/audit.md). A version 2 digest also signs the hash of the digest
-- before it (prev_digest, empty for the one that starts at record 1), the cadence its writer ran with
-- (audit.digestEvery and audit.digestInterval), whether a writer stopping cleanly on a database only it could open
-- made it (closing), and the first 16 hex digits of each covered record's hash in order (record_hashes, whose
-- SHA-256 is records_hash), so that a verifier names the first record that changed. Digests written before this
-- are version 1 and keep the defaults; a verifier accepts them as the start of the digest chain.
ALTER TABLE audit_digests ADD COLUMN digest_version INTEGER DEFAULT 1 NOT NULL;
ALTER TABLE audit_digests ADD COLUMN prev_digest VARCHAR(64) DEFAULT '' NOT NULL;
ALTER TABLE audit_digests ADD COLUMN cadence_every INTEGER DEFAULT 0 NOT NULL;
ALTER TABLE audit_digests ADD COLUMN cadence_interval_ms BIGINT DEFAULT 0 NOT NULL;
ALTER TABLE audit_digests ADD COLUMN closing BOOLEAN DEFAULT FALSE NOT NULL;
ALTER TABLE audit_digests ADD COLUMN records_hash VARCHAR(64) DEFAULT '' NOT NULL;
ALTER TABLE audit_digests ADD COLUMN record_hashes VARCHAR(1000000) DEFAULT '' NOT NULL;
