-- Projects (tenants) own models, deployments and keys. The default project always exists; projects that keys or
-- models already named become rows too, so nothing is left without an owner.
CREATE TABLE projects (
    name        VARCHAR(63)  PRIMARY KEY,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    created_by  VARCHAR(64)  NOT NULL
);

INSERT INTO projects (name, created_at, created_by) VALUES ('default', CURRENT_TIMESTAMP, 'factory');

INSERT INTO projects (name, created_at, created_by)
SELECT DISTINCT u.project, CURRENT_TIMESTAMP, 'factory'
FROM (SELECT project FROM principals UNION SELECT project FROM models) u
WHERE u.project <> 'default';

-- A model's classification is what site policies test (e.g. forbid invoking 'restricted' models across projects).
ALTER TABLE models ADD COLUMN classification VARCHAR(32) DEFAULT 'internal' NOT NULL;

-- A deployment belongs to the project of the model it serves.
ALTER TABLE deployments ADD COLUMN project VARCHAR(63) DEFAULT 'default' NOT NULL;
UPDATE deployments SET project = (SELECT m.project FROM models m WHERE m.name = deployments.model_name)
WHERE EXISTS (SELECT 1 FROM models m WHERE m.name = deployments.model_name);

-- Site policies (Cedar source), validated against the factory's schema before they are stored.
CREATE TABLE site_policies (
    id          VARCHAR(64)     PRIMARY KEY,
    source      VARCHAR(100000) NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    created_by  VARCHAR(64)     NOT NULL
);
