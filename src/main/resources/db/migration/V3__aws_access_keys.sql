-- AWS-style access keys for SigV4. Each belongs to one row of api_keys (so listing and revoking work as for
-- bearer keys); its secret must be readable to recompute signatures, so it is kept sealed with the master
-- key (AES-GCM), never in plain text.
CREATE TABLE aws_access_keys (
    access_key_id  VARCHAR(32)   PRIMARY KEY,
    key_id         VARCHAR(64)   NOT NULL UNIQUE REFERENCES api_keys (id),
    sealed_secret  VARCHAR(200)  NOT NULL
);
