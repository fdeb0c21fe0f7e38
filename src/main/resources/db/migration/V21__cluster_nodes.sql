-- Multi-node factories: the tokens a worker joins with (only their SHA-256 is kept) and the nodes that joined, each
-- with the serial and digest of the client certificate the control plane issued it (refused once it is removed).
CREATE TABLE join_tokens (
    id VARCHAR(16) PRIMARY KEY,
    secret_sha256 VARCHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    uses_left INTEGER NOT NULL,
    uses INTEGER DEFAULT 0 NOT NULL,
    revoked BOOLEAN DEFAULT FALSE NOT NULL,
    created_by VARCHAR(64) NOT NULL
);

CREATE TABLE cluster_nodes (
    id VARCHAR(40) PRIMARY KEY,
    name VARCHAR(253) NOT NULL,
    state VARCHAR(16) NOT NULL,
    certificate_serial VARCHAR(40) NOT NULL,
    certificate_sha256 VARCHAR(64) NOT NULL,
    certificate_expires_at TIMESTAMP NOT NULL,
    join_token VARCHAR(16) NOT NULL,
    address VARCHAR(100) NOT NULL,
    version VARCHAR(64) NOT NULL,
    inventory TEXT NOT NULL,
    joined_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    removed_at TIMESTAMP
);

CREATE INDEX cluster_nodes_name ON cluster_nodes (name);
