-- Fine-tuning datasets: JSON Lines files checked whole before they are stored, then kept like model files, encrypted
-- under their project's keys in the content-addressed blob store. The blob is (project, sha256): sha256 is the digest
-- of the plaintext, and blob_keys holds its wrapped data key under the same pair. Names are the site's, as models'
-- are (namespace/name); a dataset goes with its project.
CREATE TABLE datasets (
    id              VARCHAR(64)  PRIMARY KEY,
    name            VARCHAR(201) NOT NULL UNIQUE,
    project         VARCHAR(63)  NOT NULL REFERENCES projects (name),
    format          VARCHAR(32)  NOT NULL,
    record_count    INTEGER      NOT NULL,
    size_bytes      BIGINT       NOT NULL,
    sha256          VARCHAR(64)  NOT NULL,
    classification  VARCHAR(32)  NOT NULL,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    created_by      VARCHAR(64)  NOT NULL
);

CREATE INDEX datasets_blob ON datasets (project, sha256);
