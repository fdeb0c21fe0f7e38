-- Layers of a GGUF model a deployment puts on GPUs: -1 lets the capacity plan choose (the default),
-- 0 keeps it on the CPU, N asks for the last N layers on GPUs.
ALTER TABLE deployments ADD COLUMN gpu_layers INTEGER DEFAULT -1 NOT NULL;
