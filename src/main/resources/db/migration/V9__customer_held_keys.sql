-- Customer-held keys. Every blob is encrypted under its own data key; each data key is stored wrapped by its owner's
-- key-encryption key (KEK); each KEK is stored wrapped by the site master key (a local keystore or an HSM), which
-- never enters the database. An owner is a project, or '_site' for what belongs to the site (the bundled models, and
-- the AWS secret access keys sealed in aws_access_keys). Wrapped keys are base64 encrypted Tink keysets.
CREATE TABLE key_encryption_keys (
    owner           VARCHAR(64)   PRIMARY KEY,
    version         INTEGER       NOT NULL,
    wrapped_key     VARCHAR(2000) NOT NULL,
    master_version  INTEGER       NOT NULL,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    rotated_at      TIMESTAMP WITH TIME ZONE NOT NULL
);

-- One row per stored blob: deleting an owner's rows (and its KEK) leaves its blob files unreadable.
CREATE TABLE blob_keys (
    owner        VARCHAR(64)   NOT NULL,
    sha256       VARCHAR(64)   NOT NULL,
    size_bytes   BIGINT        NOT NULL,
    wrapped_key  VARCHAR(2000) NOT NULL,
    kek_version  INTEGER       NOT NULL,
    created_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (owner, sha256)
);
