-- Portable SQL: runs unchanged on H2 and PostgreSQL.
-- What was used, per hour and per day (in the site's time zone), by project, key (principal), model and priority
-- class: inference calls rolled up from the audit trail (requests, failures, tokens), and the time replicas of each
-- project's deployments ran (replica-seconds, and accelerator-seconds for those on GPUs; principal and priority are
-- '' on those rows). usage_rollup_progress says how far the audit trail has been rolled up.
CREATE TABLE usage_rollups (
    period               VARCHAR(8)    NOT NULL,
    starts_at            TIMESTAMP WITH TIME ZONE NOT NULL,
    project              VARCHAR(200)  NOT NULL,
    principal_id         VARCHAR(64)   NOT NULL,
    model                VARCHAR(400)  NOT NULL,
    priority             VARCHAR(16)   NOT NULL,
    requests             BIGINT        NOT NULL,
    errors               BIGINT        NOT NULL,
    prompt_tokens        BIGINT        NOT NULL,
    completion_tokens    BIGINT        NOT NULL,
    replica_seconds      BIGINT        NOT NULL,
    accelerator_seconds  BIGINT        NOT NULL,
    PRIMARY KEY (period, starts_at, project, principal_id, model, priority)
);

CREATE TABLE usage_rollup_progress (
    name        VARCHAR(32)   PRIMARY KEY,
    last_seq    BIGINT        NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);

-- The site's chargeback rates, one JSON document (currency, per million tokens per model, per replica- and
-- accelerator-hour).
CREATE TABLE chargeback_rates (
    name        VARCHAR(32)      PRIMARY KEY,
    document    VARCHAR(100000)  NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_by  VARCHAR(64)      NOT NULL
);
