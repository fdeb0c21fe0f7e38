-- Calls admitted and not yet in the audit chain (write-ahead): a row is written when a call is admitted, before its
-- handler runs, and removed once the call's record is in the chain. Rows left by a process that died are closed at
-- the next start as records with outcome 'interrupted'. Not part of the chain itself: it holds what the chain will
-- say, so that a crash cannot make a call vanish.
CREATE TABLE audit_pending (
    id          VARCHAR(36)   PRIMARY KEY,
    node        VARCHAR(200)  NOT NULL,
    request_id  VARCHAR(64)   NOT NULL,
    at          TIMESTAMP WITH TIME ZONE NOT NULL,
    event       VARCHAR(8000) NOT NULL
);

CREATE INDEX audit_pending_node ON audit_pending (node);
CREATE INDEX audit_records_request ON audit_records (request_id);
