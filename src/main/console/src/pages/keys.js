import { useState } from 'preact/hooks';
import { html, Page, Card, Table, Alert, Badge, Field, when, useApi, useAction } from '../ui.js';
import { api } from '../api.js';

const ROLES = ['invoker', 'developer', 'project-admin', 'auditor', 'metrics', 'admin'];

/** The secret of a key just made, shown this once. */
function Secret({ created, onClose }) {
  const pairs = created.secret ? [['Key', created.secret]]
    : [['Access key id', created.accessKeyId], ['Secret access key', created.secretAccessKey]];
  return html`<div class="alert ok secret" role="status">
    <p><strong>${created.name}</strong> is made. Copy its secret now: it is not shown again.</p>
    <dl class="facts">${pairs.map(([k, v]) => html`<dt>${k}</dt><dd><code data-testid="secret">${v}</code>
      ${navigator.clipboard ? html`<button class="ghost" onClick=${() => navigator.clipboard.writeText(v).catch(() => {})}
        aria-label=${`Copy the ${k.toLowerCase()}`}>Copy</button>` : null}</dd>`)}</dl>
    <button onClick=${onClose}>Done</button>
  </div>`;
}

export function Keys({ me }) {
  const can = (a) => me.allowed.includes(a);
  const keys = useApi('/api/v1/keys');
  const [name, setName] = useState('');
  const [role, setRole] = useState('invoker');
  const [aws, setAws] = useState(false);
  const [project, setProject] = useState('');
  const [created, setCreated] = useState(null);
  const [create, busy, createError] = useAction(async () => {
    const body = { name, role, aws };
    if (project.trim()) body.project = project.trim();
    setCreated(await api('/api/v1/keys', { method: 'POST', body }));
    setName('');
    keys.reload();
  });
  const [revoke, , revokeError] = useAction(async (k) => {
    if (!confirm(`Revoke ${k.name} (${k.prefix}…)? Clients using it are refused from now on.`)) return;
    await api(`/api/v1/keys/${k.id}`, { method: 'DELETE' });
    keys.reload();
  });
  return html`<${Page} title="API keys">
    <${Alert} error=${keys.error || revokeError} />
    ${created ? html`<${Secret} created=${created} onClose=${() => setCreated(null)} />` : null}
    <${Table} caption="API keys" columns=${['Name', 'Project', 'Role', 'Key', 'Created', 'State', '']}
      rows=${(keys.data?.keys ?? []).map((k) => [k.name, k.project, k.role, html`<code>${k.prefix}…</code>`,
        when(k.createdAt), k.revokedAt ? html`<${Badge} tone="bad">revoked<//>` : html`<${Badge} tone="good">active<//>`,
        can('manageKeys') && !k.revokedAt ? html`<button class="ghost danger" onClick=${() => revoke(k)}
          aria-label=${`Revoke ${k.name}`}>Revoke</button>` : ''])} empty="No keys." />
    ${can('manageKeys') ? html`<${Card} title="Create a key" wide>
      <form class="inline-form" onSubmit=${(e) => { e.preventDefault(); create(); }}>
        <${Field} label="Name"><input required value=${name} onInput=${(e) => setName(e.target.value)} /><//>
        <${Field} label="Role"><select value=${role} onChange=${(e) => setRole(e.target.value)}>
          ${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}</select><//>
        <${Field} label="Project" hint=${`empty: ${me.project}`}><input value=${project}
          onInput=${(e) => setProject(e.target.value)} /><//>
        <label class="check"><input type="checkbox" checked=${aws} onChange=${(e) => setAws(e.target.checked)} />
          AWS access key (for the Bedrock SDKs)</label>
        <button type="submit" class="primary" disabled=${busy}>Create</button>
      </form>
      <${Alert} error=${createError} />
    <//>` : null}
  <//>`;
}
