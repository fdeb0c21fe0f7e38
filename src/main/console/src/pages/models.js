import { useState } from 'preact/hooks';
import { html, Page, Card, Table, Alert, Badge, Field, bytes, when, useApi, useAction } from '../ui.js';
import { api, upload } from '../api.js';

const NAME = /^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/;

/**
 * The accelerators this node can give a new replica (its free GPUs), as the plan takes them; empty without any, or
 * for someone who may not read the fleet.
 */
function useAccelerators() {
  const fleet = useApi('/api/v1/fleet');
  const offload = fleet.data?.nodes?.[0]?.gpuOffload;
  if (!offload?.supported || !offload.freeGpus || !offload.capacityPerGpu) return '';
  return `&accelerator=${encodeURIComponent(`${offload.gpuKind}:${offload.capacityPerGpu}B×${offload.freeGpus}`)}`;
}

/** What one replica of a GGUF model needs and where it fits (host memory, this node's free GPUs). */
export function Plan({ model, context, parallel }) {
  const accelerators = useAccelerators();
  const query = `ctx=${context || 0}&parallel=${parallel || 1}${accelerators}`;
  const plan = useApi(model ? `/api/v1/models/${model}/plan?${query}` : null);
  if (!model) return null;
  if (plan.error) return html`<${Alert} error=${plan.error} />`;
  const p = plan.data;
  if (!p) return html`<p class="muted" role="status">Planning…</p>`;
  const words = { host: 'fits in host memory', accelerators: 'fits on the accelerators', partial: 'partial offload',
    none: 'does not fit' };
  return html`<div class="plan" role="status" aria-live="polite">
    <${Badge} tone=${p.fit === 'none' ? 'bad' : p.fit === 'partial' ? 'warn' : 'good'}>${words[p.fit] ?? p.fit}<//>
    <dl class="facts">
      <dt>Needs</dt><dd>${`${bytes(p.need.total)} (weights ${bytes(p.need.weights)}, KV cache ${bytes(p.need.kvCache)} `
        + `for ${p.need.contextTokens.toLocaleString()} tokens, compute ${bytes(p.need.compute)})`}</dd>
      ${p.hostFree !== undefined ? html`<dt>Host memory free</dt><dd>${bytes(p.hostFree)}</dd>` : null}
      ${p.deviceFree !== undefined ? html`<dt>Accelerator memory free</dt><dd>${bytes(p.deviceFree)}</dd>` : null}
      ${p.devices !== undefined ? html`<dt>Accelerators</dt><dd>${p.devices} × ${p.kind}</dd>` : null}
      ${p.gpuLayers !== undefined ? html`<dt>Layers offloaded</dt><dd>${p.gpuLayers} of ${p.need.layers}</dd>` : null}
      ${p.reason ? html`<dt>Why not</dt><dd>${p.reason}</dd>` : null}
    </dl>
  </div>`;
}

function UploadForm({ onDone }) {
  const [name, setName] = useState('');
  const [file, setFile] = useState(null);
  const [progress, setProgress] = useState(null);
  const [run, busy, error] = useAction(async () => {
    if (!NAME.test(name)) throw new Error('name the model namespace/model, in lowercase (e.g. acme/assistant)');
    setProgress(0);
    const v = await upload(`/api/v1/models/${name}/versions?filename=${encodeURIComponent(file.name)}`, file,
      setProgress);
    setProgress(null);
    onDone(`${v.model} version ${v.version} uploaded (${bytes(v.sizeBytes)})`);
  });
  return html`<form class="inline-form" onSubmit=${(e) => { e.preventDefault(); run(); }}>
    <${Field} label="Model name" hint="namespace/model"><input required value=${name} placeholder="acme/assistant"
      onInput=${(e) => setName(e.target.value.trim())} /><//>
    <${Field} label="File (GGUF or ONNX)"><input type="file" required onChange=${(e) => setFile(e.target.files[0])} /><//>
    <button type="submit" disabled=${busy}>Upload</button>
    ${progress !== null ? html`<progress max="1" value=${progress} aria-label="Upload progress">
      ${Math.round(progress * 100)}%</progress>` : null}
    <${Alert} error=${error} />
  </form>`;
}

function ImportForm({ onDone }) {
  const [name, setName] = useState('');
  const [path, setPath] = useState('');
  const [run, busy, error] = useAction(async () => {
    if (!NAME.test(name)) throw new Error('name the model namespace/model, in lowercase (e.g. acme/assistant)');
    const v = await api(`/api/v1/models/${name}/versions`, { method: 'POST', body: { path } });
    onDone(`${v.model} version ${v.version} imported (${bytes(v.sizeBytes)})`);
  });
  return html`<form class="inline-form" onSubmit=${(e) => { e.preventDefault(); run(); }}>
    <${Field} label="Model name"><input required value=${name} placeholder="acme/assistant"
      onInput=${(e) => setName(e.target.value.trim())} /><//>
    <${Field} label="Path on the server" hint="a file under a folder the site allows imports from">
      <input required value=${path} onInput=${(e) => setPath(e.target.value)} /><//>
    <button type="submit" disabled=${busy}>Import</button>
    <${Alert} error=${error} />
  </form>`;
}

/** A model's classification, changed only when its Save is pressed (not as the options are passed over). */
function Classification({ model, onSave }) {
  const [value, setValue] = useState(model.classification);
  const options = [...new Set(['public', 'internal', 'confidential', 'restricted', model.classification])];
  return html`<form class="scale" onSubmit=${(e) => { e.preventDefault(); onSave(model.name, value); }}>
    <select aria-label=${`Classification of ${model.name}`} value=${value} onChange=${(e) => setValue(e.target.value)}>
      ${options.map((c) => html`<option value=${c}>${c}</option>`)}</select>
    <button type="submit" class="ghost" disabled=${value === model.classification}
      aria-label=${`Save the classification of ${model.name}`}>Save</button>
  </form>`;
}

/** Who signed a version, as the factory verified it, or that nobody did. */
function Signature({ signature }) {
  if (!signature) return html`<span class="muted">unsigned</span>`;
  return html`<div>${signature.signer ? `signed by ${signature.signer}` : 'signature kept, not verified (policy off)'}</div>
    <div class="muted">${`verified ${when(signature.verifiedAt)}`}</div>`;
}

/**
 * Every version of a model: its files and digests, who signed it, where it came from, and the lineage of a
 * fine-tuned one. Admins sign a version with the site's key from here.
 */
function Versions({ model, canSign, onSign }) {
  return html`<${Table} caption=${`Versions of ${model.name}`} columns=${['Version', 'Format', 'Files (SHA-256)',
    'Signature', 'Source', 'Lineage']} rows=${[...model.versions].reverse().map((v) => {
      const l = v.metadata?.lineage;
      return [`v${v.version}`, v.format, html`${v.files.map((f) => html`<div><code>${f.path}</code>
        <span class="muted mono">${f.sha256.slice(0, 16)}…</span> ${bytes(f.size)}</div>`)}`,
        html`<${Signature} signature=${v.signature} />${canSign ? html`<button class="ghost" onClick=${() =>
          onSign(model.name, v.version)} aria-label=${`Sign ${model.name}:${v.version} with the site's key`}>Sign</button>`
          : null}`,
        html`${v.source}<div class="muted">${`by ${v.importedBy}, `}${when(v.importedAt)}</div>`,
        l ? html`<div>${`tuned from ${l.baseModel} on ${l.trainingDataset}`}</div><div class="muted">${`job ${l.job}, `
          + `${l.steps} steps, training loss ${l.trainingLoss ?? '—'}, validation loss ${l.validationLoss ?? '—'}`}</div>`
          : '—'];
    })} />`;
}

export function Models({ me }) {
  const models = useApi('/api/v1/models');
  const [search, setSearch] = useState('');
  const [chosen, setChosen] = useState(null);
  const [detail, setDetail] = useState(null);
  const [context, setContext] = useState(4096);
  const [parallel, setParallel] = useState(1);
  const [notice, setNotice] = useState(null);
  const can = (a) => me.allowed.includes(a);
  const done = (message) => {
    setNotice(message);
    models.reload();
  };
  const [remove, , removeError] = useAction(async (name) => {
    if (!confirm(`Delete ${name} and all its versions? Deployments of it must be deleted first.`)) return;
    await api(`/api/v1/models/${name}`, { method: 'DELETE' });
    done(`${name} deleted`);
  });
  const [sign, , signError] = useAction(async (name, version) => {
    const v = await api(`/api/v1/models/${name}/versions/${version}/signature`, { method: 'POST', body: {} });
    done(`${name}:${version} signed by ${v.signature?.signer}`);
  });
  const [classify, , classifyError] = useAction(async (name, classification) => {
    await api(`/api/v1/models/${name}`, { method: 'PATCH', body: { classification } });
    done(`${name} is now ${classification}`);
  });
  const list = (models.data?.models ?? []).filter((m) => m.name.includes(search.trim().toLowerCase()));
  return html`<${Page} title="Models">
    <${Alert} error=${models.error || removeError || classifyError || signError} />
    ${notice ? html`<div class="alert ok" role="status">${notice}</div>` : null}
    <${Field} label="Search models"><input type="search" value=${search} onInput=${(e) => setSearch(e.target.value)} /><//>
    <${Table} caption="Models" columns=${['Name', 'Project', 'Classification', 'Latest', 'Format', 'Size', 'Imported',
      '']} rows=${list.map((m) => {
        const latest = m.versions.find((v) => v.version === m.latestVersion) ?? m.versions[m.versions.length - 1];
        return [m.name, m.project,
          can('classifyModel') ? html`<${Classification} key=${`${m.name} ${m.classification}`} model=${m}
            onSave=${classify} />` : m.classification,
          `v${m.latestVersion}`, latest?.format ?? '—', bytes(latest?.sizeBytes),
          html`${when(latest?.importedAt)}<div class="muted">${latest?.source ?? ''}</div>`,
          html`<div class="row-actions">
            <button class="ghost" onClick=${() => setDetail(detail === m.name ? null : m.name)}
              aria-expanded=${detail === m.name} aria-label=${`Versions of ${m.name}`}>Versions</button>
            ${latest?.format === 'gguf' ? html`<button class="ghost" onClick=${() => setChosen(m.name)}
              aria-label=${`Plan ${m.name}`}>Plan</button>` : null}
            ${can('deleteModel') ? html`<button class="ghost danger" onClick=${() => remove(m.name)}
              aria-label=${`Delete ${m.name}`}>Delete</button>` : null}
          </div>`];
      })} empty="No models yet." />
    ${detail && list.some((m) => m.name === detail) ? html`<${Card} title=${`Versions: ${detail}`} wide>
      <${Versions} model=${list.find((m) => m.name === detail)} canSign=${can('signModel')} onSign=${sign} />
    <//>` : null}
    ${chosen ? html`<${Card} title=${`Capacity plan: ${chosen}`} wide>
      <div class="inline-form">
        <${Field} label="Context per sequence"><input type="number" min="0" value=${context}
          onInput=${(e) => setContext(e.target.value)} /><//>
        <${Field} label="Parallel sequences"><input type="number" min="1" value=${parallel}
          onInput=${(e) => setParallel(e.target.value)} /><//>
      </div>
      <${Plan} model=${chosen} context=${context} parallel=${parallel} />
    <//>` : null}
    ${can('importModel') ? html`<div class="grid">
      <${Card} title="Upload a model"><${UploadForm} onDone=${done} /><//>
      ${can('importFromServer') ? html`<${Card} title="Import from the server"><${ImportForm} onDone=${done} /><//>` : null}
    </div>` : null}
  <//>`;
}
