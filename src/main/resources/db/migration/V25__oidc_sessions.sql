-- Portable SQL: runs unchanged on H2 and PostgreSQL.
-- People's sign-ins through the site's OpenID Connect provider: the ones under way (authorization code flow with
-- PKCE; a row lives from the redirect to the provider until its answer, at most 10 minutes), and the sessions they
-- open. Both are in the database so that any control-plane replica can take the answer or the session's calls.
-- A session is kept under a SHA-256 of its id; the id itself is only in the person's cookie.

CREATE TABLE oidc_logins (
    state         VARCHAR(64)    PRIMARY KEY,
    verifier      VARCHAR(128)   NOT NULL,
    nonce         VARCHAR(64)    NOT NULL,
    redirect_uri  VARCHAR(2000)  NOT NULL,
    return_to     VARCHAR(2000)  NOT NULL,
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE TABLE oidc_sessions (
    id_hash         VARCHAR(64)     PRIMARY KEY,
    principal_id    VARCHAR(64)     NOT NULL,
    principal_name  VARCHAR(200)    NOT NULL,
    project         VARCHAR(200)    NOT NULL,
    role            VARCHAR(32)     NOT NULL,
    csrf            VARCHAR(64)     NOT NULL,
    id_token        VARCHAR(16384)  NOT NULL,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at      TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE INDEX oidc_sessions_expiry ON oidc_sessions (expires_at);
