-- Portable SQL: runs unchanged on H2 and PostgreSQL.
-- A project's own model-signature policy (off, warn, require), which replaces the site's for its models; a policy set
-- for a classification in the site's configuration replaces both.
CREATE TABLE model_signature_policies (
    project     VARCHAR(63)  NOT NULL PRIMARY KEY,
    policy      VARCHAR(16)  NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_by  VARCHAR(200) NOT NULL
);
