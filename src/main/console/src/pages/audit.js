import { useState } from 'preact/hooks';
import { html, Page, Card, Table, Alert, Badge, Field, count, when, stateTone, useApi, useAction } from '../ui.js';
import { api } from '../api.js';

const FILTERS = ['principal', 'project', 'action', 'outcome', 'from', 'to'];

/** The logged content of a call, for projects that log it; its hash is in the call's record, hence in the chain. */
function Content({ project, sha }) {
  const content = useApi(`/api/v1/audit/content/${project}/${sha}`);
  return html`<div class="content-view">
    <${Alert} error=${content.error} />
    ${content.data ? html`<pre class="code" tabindex="0">${JSON.stringify(content.data.content, null, 2)}</pre>` : null}
  </div>`;
}

function Verification() {
  const verify = useApi('/api/v1/audit/verify', 30000);
  const v = verify.data;
  return html`<${Card} title="Chain verification">
    <${Alert} error=${verify.error} />
    ${v ? html`<p data-testid="verification"><${Badge} tone=${v.ok ? 'good' : 'bad'}>${v.ok ? 'verified' : 'broken'}<//>
      ${` records ${count(v.firstSeq)}–${count(v.lastSeq)} (${count(v.records)}), ${count(v.digests)} `
        + `signed digests, ${count(v.undigested)} not yet digested`}${v.lastDigestAt ? html`, last digest ${when(v.lastDigestAt)}` : ''}</p>
      ${v.problem ? html`<${Alert} error=${`${v.problem.kind} at record ${v.problem.seq}: ${v.problem.message}`} />`
        : null}
      ${v.droppedSinceStart ? html`<${Alert} kind="warn" error=${`${v.droppedSinceStart} records dropped since start`} />`
        : null}` : null}
    <button class="ghost" onClick=${verify.reload}>Verify again</button>
  <//>`;
}

export function Audit() {
  const [filters, setFilters] = useState({ limit: '50' });
  const [query, setQuery] = useState('limit=50');
  const [open, setOpen] = useState(null);
  const records = useApi(`/api/v1/audit?${query}`);
  const search = (e) => {
    e.preventDefault();
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) {
      if (!v) continue;
      params.set(k, (k === 'from' || k === 'to') ? new Date(v).toISOString() : v);
    }
    setQuery(params.toString());
  };
  const [anchor, , anchorError] = useAction(async () => {
    const a = await api('/api/v1/audit/anchor');
    try {
      await navigator.clipboard?.writeText(a.anchor);
    } catch {
      // no clipboard here (plain http, or no permission): the anchor is shown below all the same
    }
    alert(`The newest signed digest (record ${a.seq}), to keep outside the factory:\n\n${a.anchor}`);
  });
  const set = (k) => (e) => setFilters({ ...filters, [k]: e.target.value });
  return html`<${Page} title="Audit" actions=${html`<button class="ghost" onClick=${anchor}>Anchor</button>`}>
    <${Alert} error=${anchorError} />
    <${Verification} />
    <form class="inline-form filters" onSubmit=${search} aria-label="Filter the audit trail">
      ${FILTERS.map((f) => html`<${Field} label=${f[0].toUpperCase() + f.slice(1)}>
        ${f === 'outcome' ? html`<select value=${filters[f] ?? ''} onChange=${set(f)}>
          <option value="">any</option><option value="success">success</option><option value="failure">failure</option>
        </select>` : html`<input type=${f === 'from' || f === 'to' ? 'datetime-local' : 'text'} value=${filters[f] ?? ''}
          onInput=${set(f)} />`}<//>`)}
      <${Field} label="Limit"><input type="number" min="1" max="1000" value=${filters.limit} onInput=${set('limit')} /><//>
      <button type="submit" class="primary">Search</button>
    </form>
    <${Alert} error=${records.error} />
    <${Table} caption="Audit records, newest first" columns=${['#', 'When', 'Who', 'Project', 'Action', 'Decision',
      'Status', 'Tokens', 'Detail']} rows=${(records.data?.records ?? []).map((r) => {
        const sha = /content=sha256:([0-9a-f]{64})/.exec(r.detail)?.[1];
        return [r.seq, when(r.at), html`${r.principalName}<div class="muted mono">${r.principalId}</div>`, r.project,
          r.action, html`<${Badge} tone=${stateTone(r.decision === 'allow' && r.outcome === 'success' ? 'ok'
            : r.outcome === 'failure' ? 'failed' : 'warn')}>${r.decision} · ${r.outcome}<//>`, r.status,
          r.promptTokens || r.completionTokens ? `${r.promptTokens} + ${r.completionTokens}` : '',
          html`<span class="detail">${r.detail}</span>${sha ? html` <button class="ghost"
            onClick=${() => setOpen(open === r.seq ? null : r.seq)} aria-expanded=${open === r.seq}
            aria-label=${`Content of record ${r.seq}`}>Content</button>
            ${open === r.seq ? html`<${Content} project=${r.project} sha=${sha} />` : null}` : ''}`];
      })} empty="No records match." />
  <//>`;
}
