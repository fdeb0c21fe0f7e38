-- How often a training job was started, and at which step its latest start began: a job the factory finds in
-- progress at start-up resumes, unless its previous run ended the process before it got past that step (a native
-- abort in llama.cpp does): then resuming would only end the process again, so the job fails instead.
ALTER TABLE training_jobs ADD COLUMN run_count INTEGER DEFAULT 0 NOT NULL;
ALTER TABLE training_jobs ADD COLUMN run_start_step INTEGER DEFAULT 0 NOT NULL;
