-- Portable SQL: runs unchanged on H2 and PostgreSQL.
-- Limits on what a project, one of its keys, or either on one model may use: requests and tokens per minute,
-- concurrent calls, tokens per day and per month, and the priority class its calls get unless they ask. '' in
-- key_id or model means "every key" or "every model"; a NULL limit is none.
CREATE TABLE quotas (
    project           VARCHAR(200)  NOT NULL,
    key_id            VARCHAR(64)   NOT NULL,
    model             VARCHAR(400)  NOT NULL,
    rpm               BIGINT,
    tpm               BIGINT,
    concurrency       INTEGER,
    tokens_per_day    BIGINT,
    tokens_per_month  BIGINT,
    priority          VARCHAR(16),
    updated_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_by        VARCHAR(64)   NOT NULL,
    PRIMARY KEY (project, key_id, model)
);

-- What each budget's scope spent in one period (a day or a month starting at starts_at, in the site's zone): every
-- control-plane replica adds what its calls used, every few seconds, and reads the sum back.
CREATE TABLE quota_spend (
    project    VARCHAR(200)  NOT NULL,
    key_id     VARCHAR(64)   NOT NULL,
    model      VARCHAR(400)  NOT NULL,
    period     VARCHAR(8)    NOT NULL,
    starts_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    tokens     BIGINT        NOT NULL,
    PRIMARY KEY (project, key_id, model, period, starts_at)
);
