-- Sequences beyond parallel that a GGUF deployment's replicas keep evicted slots' prompts in; 0 (the default) keeps
-- none.
ALTER TABLE deployments ADD COLUMN prefix_cache INTEGER DEFAULT 0 NOT NULL;
