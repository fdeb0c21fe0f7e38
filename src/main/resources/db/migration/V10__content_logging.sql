-- Content logging: a project may opt in to keeping the text of its inference calls (request and output) for its
-- auditors. Off by default: the audit trail is metadata only.
ALTER TABLE projects ADD COLUMN content_logging BOOLEAN DEFAULT FALSE NOT NULL;

-- The logged content of one call: an encrypted blob of the project (its data key in blob_keys, under the project's
-- key-encryption key), named by the SHA-256 that the call's audit record carries in its hashed detail. This table
-- says which of a project's blobs are logged content, so the content endpoint never serves model weights.
CREATE TABLE audit_content (
    owner       VARCHAR(64)  NOT NULL,
    sha256      VARCHAR(64)  NOT NULL,
    request_id  VARCHAR(64)  NOT NULL,
    at          TIMESTAMP WITH TIME ZONE NOT NULL,
    size_bytes  BIGINT       NOT NULL,
    PRIMARY KEY (owner, sha256)
);
