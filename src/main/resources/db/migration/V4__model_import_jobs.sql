-- Bedrock model import jobs (CreateModelImportJob): what was asked, and how it ended. The imported model itself
-- lives in the registry (models, model_versions) and its deployment in deployments, as any other model's.
CREATE TABLE model_import_jobs (
    id                   VARCHAR(64)   PRIMARY KEY,
    job_name             VARCHAR(200)  NOT NULL UNIQUE,
    imported_model_name  VARCHAR(200)  NOT NULL,
    source_uri           VARCHAR(2000) NOT NULL,
    status               VARCHAR(32)   NOT NULL,
    failure_message      VARCHAR(2000),
    created_at           TIMESTAMP WITH TIME ZONE NOT NULL,
    modified_at          TIMESTAMP WITH TIME ZONE NOT NULL,
    ended_at             TIMESTAMP WITH TIME ZONE,
    created_by           VARCHAR(64)   NOT NULL
);
