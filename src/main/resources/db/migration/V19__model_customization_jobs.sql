-- Bedrock model customization jobs: a training job (training_jobs) as Bedrock's CreateModelCustomizationJob made
-- it, with what that API names and the training job does not keep: the data URIs as given, the output folder the
-- job's metrics files are written to when it completes, and the client's idempotency token. The row goes with its
-- training job.
CREATE TABLE model_customization_jobs (
    job_id                VARCHAR(64)   PRIMARY KEY REFERENCES training_jobs (id) ON DELETE CASCADE,
    base_model_identifier VARCHAR(2048) NOT NULL,
    training_uri          VARCHAR(2048) NOT NULL,
    validation_uri        VARCHAR(2048),
    output_uri            VARCHAR(2048) NOT NULL,
    client_request_token  VARCHAR(256),
    created_by            VARCHAR(64)   NOT NULL,
    UNIQUE (created_by, client_request_token)
);
