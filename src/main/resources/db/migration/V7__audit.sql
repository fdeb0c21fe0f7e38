-- The tamper-evident audit trail. Records form a hash chain: each row's hash is SHA-256 over the canonical
-- encoding of its fields and the previous row's hash (see ai.factory.security.audit.AuditHashing). Sequence
-- numbers are gap-free; a gap is a deleted record. Never prompt or output text: metadata only.
CREATE TABLE audit_records (
    seq                BIGINT        PRIMARY KEY,
    at                 TIMESTAMP WITH TIME ZONE NOT NULL,
    principal_id       VARCHAR(64)   NOT NULL,
    principal_name     VARCHAR(200)  NOT NULL,
    project            VARCHAR(200)  NOT NULL,
    action             VARCHAR(300)  NOT NULL,
    resource           VARCHAR(2000) NOT NULL,
    decision           VARCHAR(16)   NOT NULL,
    outcome            VARCHAR(16)   NOT NULL,
    status             INTEGER       NOT NULL,
    client             VARCHAR(100)  NOT NULL,
    request_id         VARCHAR(64)   NOT NULL,
    bytes_in           BIGINT        NOT NULL,
    bytes_out          BIGINT        NOT NULL,
    prompt_tokens      BIGINT        NOT NULL,
    completion_tokens  BIGINT        NOT NULL,
    detail             VARCHAR(2000) NOT NULL,
    prev_hash          VARCHAR(64)   NOT NULL,
    hash               VARCHAR(64)   NOT NULL
);

CREATE INDEX audit_records_at ON audit_records (at);
CREATE INDEX audit_records_principal ON audit_records (principal_id);
CREATE INDEX audit_records_action ON audit_records (action);

-- Signed digests, like CloudTrail's digest files: every N records or T seconds the chain head, the sequence
-- range and the time range it covers, signed with the site's Ed25519 audit key. Ranges are contiguous.
CREATE TABLE audit_digests (
    first_seq     BIGINT        PRIMARY KEY,
    last_seq      BIGINT        NOT NULL UNIQUE,
    record_count  BIGINT        NOT NULL,
    first_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    last_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    head_hash     VARCHAR(64)   NOT NULL,
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    key_id        VARCHAR(64)   NOT NULL,
    signature     VARCHAR(200)  NOT NULL
);
