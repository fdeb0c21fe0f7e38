-- Portable SQL: runs unchanged on H2 and PostgreSQL.
-- What an admin set for a project's models: its own signature policy (off, warn, require) and its own trusted
-- signers (PEM text of public keys and certificate authorities), each replacing the site's where set (null: the
-- site's applies). A classification's policy or signers in the site's configuration replace both.
CREATE TABLE model_signature_policies (
    project          VARCHAR(63)     NOT NULL PRIMARY KEY,
    policy           VARCHAR(16),
    trusted_signers  VARCHAR(200000),
    updated_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_by       VARCHAR(200)    NOT NULL
);
