-- Replicas on workers: the port a worker serves its replicas on (0 until it reports one), and which node runs which
-- replica of which deployment. A worker learns its assignments from the answers to its heartbeats.
ALTER TABLE cluster_nodes ADD COLUMN serving_port INTEGER DEFAULT 0 NOT NULL;

CREATE TABLE replica_assignments (
    id VARCHAR(40) PRIMARY KEY,
    deployment_id VARCHAR(64) NOT NULL,
    replica INTEGER NOT NULL,
    node_id VARCHAR(40) NOT NULL,
    work TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Not unique: while a replica moves off a drained node, its old and new assignments both exist.
CREATE INDEX replica_assignments_replica ON replica_assignments (deployment_id, replica);
CREATE INDEX replica_assignments_node ON replica_assignments (node_id);
