-- How a GGUF deployment's engine steps and stores its KV cache: step_tokens 0 sizes prompt chunks from measured step
-- times (the default), N fixes a step's tokens; cache_type is f16 (the default), q8_0 or q4_0.
ALTER TABLE deployments ADD COLUMN step_tokens INTEGER DEFAULT 0 NOT NULL;
ALTER TABLE deployments ADD COLUMN cache_type VARCHAR(8) DEFAULT 'f16' NOT NULL;
