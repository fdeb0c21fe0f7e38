-- Fine-tuning jobs. A job names its base model version and its datasets by digest, so what it trains on cannot
-- change under it; it runs in the factory's own process, one at a time, queued in creation order. Its latest
-- checkpoint is a blob of the job's project, (project, checkpoint_sha256) in blob_keys like model files, so a job
-- interrupted by a restart resumes from it. Every optimizer step and every epoch leaves a row in
-- training_job_metrics: the loss curve the job, /metrics and the chart show.
CREATE TABLE training_jobs (
    id                    VARCHAR(64)   PRIMARY KEY,
    job_name              VARCHAR(63)   NOT NULL UNIQUE,
    project               VARCHAR(63)   NOT NULL REFERENCES projects (name),
    base_model            VARCHAR(201)  NOT NULL,
    base_version          INTEGER       NOT NULL,
    base_sha256           VARCHAR(64)   NOT NULL,
    training_dataset      VARCHAR(201)  NOT NULL,
    training_sha256       VARCHAR(64)   NOT NULL,
    validation_dataset    VARCHAR(201),
    validation_sha256     VARCHAR(64),
    hyperparameters       VARCHAR(2000) NOT NULL,
    output_model          VARCHAR(201)  NOT NULL,
    status                VARCHAR(16)   NOT NULL,
    failure_message       VARCHAR(2000),
    steps_done            INTEGER       NOT NULL,
    total_steps           INTEGER       NOT NULL,
    epochs_done           INTEGER       NOT NULL,
    training_loss         DOUBLE PRECISION,
    validation_loss       DOUBLE PRECISION,
    checkpoint_sha256     VARCHAR(64),
    checkpoint_step       INTEGER       NOT NULL,
    output_version        INTEGER,
    created_at            TIMESTAMP WITH TIME ZONE NOT NULL,
    started_at            TIMESTAMP WITH TIME ZONE,
    ended_at              TIMESTAMP WITH TIME ZONE,
    created_by            VARCHAR(64)   NOT NULL
);

CREATE INDEX training_jobs_status ON training_jobs (status, created_at);

CREATE TABLE training_job_metrics (
    job_id                VARCHAR(64)   NOT NULL REFERENCES training_jobs (id) ON DELETE CASCADE,
    kind                  VARCHAR(8)    NOT NULL,
    step                  INTEGER       NOT NULL,
    epoch                 INTEGER       NOT NULL,
    loss                  DOUBLE PRECISION NOT NULL,
    validation_loss       DOUBLE PRECISION,
    learning_rate         DOUBLE PRECISION,
    tokens_per_second     DOUBLE PRECISION,
    at                    TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (job_id, kind, step)
);
