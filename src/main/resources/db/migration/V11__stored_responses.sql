-- Responses API answers kept for previous_response_id and GET/DELETE /v1/responses/{id}. Each conversation is logged
-- content of its project (audit_content): encrypted under the project's keys, expired by the site's content
-- retention, shredded with the project; the row goes with its content.
CREATE TABLE stored_responses (
    owner       VARCHAR(64)  NOT NULL,
    id          VARCHAR(64)  NOT NULL,
    sha256      VARCHAR(64)  NOT NULL,
    at          TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (owner, id),
    FOREIGN KEY (owner, sha256) REFERENCES audit_content (owner, sha256) ON DELETE CASCADE
);
