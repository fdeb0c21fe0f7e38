-- Several control-plane replicas on one database.
--
-- What each worker last reported of each of its replicas, so that every control-plane replica sees it, not only the
-- one the worker's heartbeat reached.
ALTER TABLE replica_assignments ADD COLUMN phase VARCHAR(16);
ALTER TABLE replica_assignments ADD COLUMN detail TEXT;
ALTER TABLE replica_assignments ADD COLUMN info TEXT;

-- The control-plane replicas that run now or ran: where workers reach each one's cluster port, and when it was last
-- alive. Workers learn from every heartbeat's answer where the others are.
CREATE TABLE control_replicas (
    id VARCHAR(40) PRIMARY KEY,
    cluster_url VARCHAR(300) NOT NULL,
    started_at TIMESTAMP NOT NULL,
    seen_at TIMESTAMP NOT NULL
);

-- Leadership of the singleton work (placing replicas, moving them on failure, the training queue, retention). The
-- leader holds a session advisory lock; each new leader takes the next term, and a write that only the leader may make
-- checks, in its own transaction, that the term is still its own (row lock shared), so a deposed leader's late write
-- fails instead of landing beside the new leader's.
CREATE TABLE cluster_leader (
    id INTEGER PRIMARY KEY,
    term BIGINT NOT NULL,
    holder VARCHAR(40) NOT NULL,
    since TIMESTAMP NOT NULL
);
INSERT INTO cluster_leader (id, term, holder, since) VALUES (1, 0, '', TIMESTAMP '1970-01-01 00:00:00');
