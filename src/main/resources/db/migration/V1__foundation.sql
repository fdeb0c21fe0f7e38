-- Portable SQL: runs unchanged on H2 and PostgreSQL.

CREATE TABLE principals (
    id          VARCHAR(64)  PRIMARY KEY,
    name        VARCHAR(200) NOT NULL,
    project     VARCHAR(200) NOT NULL,
    role        VARCHAR(32)  NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    created_by  VARCHAR(64)
);

-- API keys are stored as a SHA-256 of the secret; the secret itself is shown once and never kept.
CREATE TABLE api_keys (
    id            VARCHAR(64)  PRIMARY KEY,
    principal_id  VARCHAR(64)  NOT NULL REFERENCES principals (id),
    secret_hash   VARCHAR(64)  NOT NULL UNIQUE,
    prefix        VARCHAR(16)  NOT NULL,
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    revoked_at    TIMESTAMP WITH TIME ZONE
);

CREATE TABLE models (
    name        VARCHAR(200) PRIMARY KEY,
    project     VARCHAR(200) NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    created_by  VARCHAR(64)  NOT NULL
);

CREATE TABLE model_versions (
    model_name   VARCHAR(200) NOT NULL REFERENCES models (name),
    version      INTEGER      NOT NULL,
    format       VARCHAR(16)  NOT NULL,
    metadata     VARCHAR(1000000) NOT NULL,
    imported_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    imported_by  VARCHAR(64)  NOT NULL,
    source       VARCHAR(2000) NOT NULL,
    PRIMARY KEY (model_name, version)
);

CREATE TABLE model_files (
    model_name  VARCHAR(200) NOT NULL,
    version     INTEGER      NOT NULL,
    path        VARCHAR(500) NOT NULL,
    sha256      VARCHAR(64)  NOT NULL,
    size_bytes  BIGINT       NOT NULL,
    PRIMARY KEY (model_name, version, path),
    FOREIGN KEY (model_name, version) REFERENCES model_versions (model_name, version)
);

CREATE INDEX model_files_sha256 ON model_files (sha256);

CREATE TABLE deployments (
    id          VARCHAR(64)  PRIMARY KEY,
    model_name  VARCHAR(200) NOT NULL,
    version     INTEGER      NOT NULL,
    state       VARCHAR(32)  NOT NULL,
    reason      VARCHAR(2000),
    replicas    INTEGER      NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    created_by  VARCHAR(64)  NOT NULL,
    FOREIGN KEY (model_name, version) REFERENCES model_versions (model_name, version)
);
