import { useRef, useState } from 'preact/hooks';
import { html, Page, Card, Table, Alert, Badge, Field, stateTone, count, when, useApi, useAction } from '../ui.js';
import { api } from '../api.js';
import { Plan } from './models.js';

function CreateForm({ models, onDone }) {
  const gguf = models.filter((m) => m.versions.some((v) => v.format === 'gguf' || v.format === 'onnx'));
  const [model, setModel] = useState('');
  const [replicas, setReplicas] = useState(1);
  const [parallel, setParallel] = useState(4);
  const [context, setContext] = useState(4096);
  const chosen = model || gguf[0]?.name || '';
  const isGguf = gguf.find((m) => m.name === chosen)?.versions.some((v) => v.format === 'gguf');
  const [run, busy, error] = useAction(async () => {
    const d = await api('/api/v1/deployments', { method: 'POST', body: { model: chosen, replicas: Number(replicas),
      parallel: Number(parallel), context: Number(context) } });
    onDone(`${d.model}:${d.version} is ${d.state} (deployment ${d.id})`);
  });
  if (!gguf.length) return html`<p class="muted">Upload or import a model first (Models).</p>`;
  return html`<form onSubmit=${(e) => { e.preventDefault(); run(); }}>
    <div class="inline-form">
      <${Field} label="Model"><select value=${chosen} onChange=${(e) => setModel(e.target.value)}>
        ${gguf.map((m) => html`<option value=${m.name}>${m.name}</option>`)}</select><//>
      <${Field} label="Replicas"><input type="number" min="1" value=${replicas}
        onInput=${(e) => setReplicas(e.target.value)} /><//>
      <${Field} label="Parallel sequences"><input type="number" min="1" value=${parallel}
        onInput=${(e) => setParallel(e.target.value)} /><//>
      <${Field} label="Context per sequence"><input type="number" min="1" value=${context}
        onInput=${(e) => setContext(e.target.value)} /><//>
      <button type="submit" class="primary" disabled=${busy}>Deploy</button>
    </div>
    ${isGguf ? html`<${Plan} model=${chosen} context=${context} parallel=${parallel} />` : null}
    <${Alert} error=${error} />
  </form>`;
}

/**
 * Each deployment's output in tokens per second, from its generated-token count read twice a few seconds apart;
 * null until there are two readings.
 */
export function useTokenRates(list) {
  const seen = useRef(new Map());
  const rates = useRef(new Map());
  const now = Date.now();
  for (const d of list ?? []) {
    const before = seen.current.get(d.id);
    if (!before || before.tokens !== d.generatedTokens || now - before.at > 10000) {
      if (before && now > before.at) {
        rates.current.set(d.id, Math.max(0, d.generatedTokens - before.tokens) / ((now - before.at) / 1000));
      }
      seen.current.set(d.id, { tokens: d.generatedTokens, at: now });
    }
  }
  return (id) => rates.current.get(id) ?? null;
}

export function rate(r) {
  return r === null ? '—' : r.toFixed(1);
}

/** A ready deployment's replica count, to change in place (as the policies allow). */
function ScaleControl({ d, onDone }) {
  const [replicas, setReplicas] = useState(d.replicas);
  const [run, busy, error] = useAction(async () => {
    const after = await api(`/api/v1/deployments/${d.id}`, { method: 'PATCH', body: { replicas: Number(replicas) } });
    onDone(`${d.model}:${d.version} scales to ${after.replicas} replica(s)`);
  });
  return html`<form class="scale" onSubmit=${(e) => { e.preventDefault(); run(); }}>
    <input type="number" min="1" max="64" value=${replicas} aria-label=${`Replicas of ${d.model}:${d.version}`}
      onInput=${(e) => setReplicas(e.target.value)} />
    <button type="submit" class="ghost" disabled=${busy || Number(replicas) === d.replicas}>Scale</button>
    <${Alert} error=${error} />
  </form>`;
}

/** Deployments with their live load; create one with a live capacity preview, delete one. */
export function Deployments({ me }) {
  const can = (a) => me.allowed.includes(a);
  const deployments = useApi('/api/v1/deployments', 2000);
  const rates = useTokenRates(deployments.data?.deployments);
  const models = useApi(can('readModel') ? '/api/v1/models' : null);
  const [notice, setNotice] = useState(null);
  const [remove, , removeError] = useAction(async (d) => {
    if (!confirm(`Delete the deployment of ${d.model}:${d.version}? Calls in flight on it are cancelled.`)) return;
    await api(`/api/v1/deployments/${d.id}`, { method: 'DELETE' });
    setNotice(`deployment of ${d.model}:${d.version} deleted`);
    deployments.reload();
  });
  return html`<${Page} title="Deployments">
    <${Alert} error=${deployments.error || removeError} />
    ${notice ? html`<div class="alert ok" role="status">${notice}</div>` : null}
    <${Table} caption="Deployments" columns=${['Model', 'Project', 'State', 'Replicas', 'Parallel', 'Context',
      'Active', 'Waiting', 'Tokens/s', 'Created', '']} rows=${(deployments.data?.deployments ?? []).map((d) => [
        html`${d.model}:${d.version}<div class="muted mono">${d.id}</div>`, d.project,
        html`<${Badge} tone=${stateTone(d.state)}>${d.state}<//>${d.reason ? html`<div class="muted">${d.reason}</div>` : ''}`,
        html`${d.readyReplicas === d.replicas ? d.replicas : `${d.readyReplicas} of ${d.replicas}`}
          ${can('deploy') && d.state === 'ready' ? html`<${ScaleControl} d=${d}
            onDone=${(m) => { setNotice(m); deployments.reload(); }} />` : null}`, d.parallel, count(d.context), count(d.activeRequests), count(d.waitingRequests), rate(rates(d.id)),
        when(d.createdAt),
        can('undeploy') ? html`<button class="ghost danger" onClick=${() => remove(d)}
          aria-label=${`Delete the deployment of ${d.model}:${d.version}`}>Delete</button>` : ''])}
      empty="No deployments yet." />
    ${can('deploy') && models.data ? html`<${Card} title="Deploy a model" wide>
      <${CreateForm} models=${models.data.models} onDone=${(m) => { setNotice(m); deployments.reload(); }} />
    <//>` : null}
  <//>`;
}
