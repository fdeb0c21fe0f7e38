-- Portable SQL: runs unchanged on H2 and PostgreSQL.
-- The signature (an OpenSSF model-signing Sigstore bundle) a model version was imported with, who signed it as the
-- factory verified it then, and when. The bundle (at most 1 MiB) is kept, in base64, so that every load verifies it
-- again.
CREATE TABLE model_signatures (
    model_name   VARCHAR(200)      NOT NULL,
    version      INTEGER           NOT NULL,
    bundle       VARCHAR(1500000)  NOT NULL,
    signer       VARCHAR(2000)     NOT NULL,
    verified_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (model_name, version)
);
