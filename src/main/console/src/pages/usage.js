import { useState } from 'preact/hooks';
import { html, Page, Card, Table, Alert, Field, Chart, count, useApi, useAction } from '../ui.js';
import { authHeaders, errorOf } from '../api.js';

const DAY = 86400000;

/**
 * Requests and tokens per project, model and day from the usage rollups, as charts and a table; what each project
 * owes at the site's rates; the breakdown as a CSV file.
 */
export function Usage({ me }) {
  const [days, setDays] = useState(14);
  const today = Math.floor(Date.now() / DAY) * DAY;
  const from = new Date(today - (days - 1) * DAY).toISOString();
  const to = new Date(today + DAY).toISOString();
  const range = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
  const usage = useApi(`/api/v1/usage/export?by=project,model&period=day&${range}`);
  const charge = useApi(`/api/v1/usage/chargeback?${range}`);
  const rows = usage.data?.rows ?? [];
  const totals = new Map();
  for (const r of rows) {
    const key = `${r.project} ${r.model}`;
    const t = totals.get(key) ?? { project: r.project, model: r.model, requests: 0, errors: 0, promptTokens: 0,
      completionTokens: 0, replicaSeconds: 0 };
    for (const f of ['requests', 'errors', 'promptTokens', 'completionTokens', 'replicaSeconds']) t[f] += r[f];
    totals.set(key, t);
  }
  const starts = Array.from({ length: days }, (_, i) => today - (days - 1 - i) * DAY);
  const models = [...new Set(rows.map((r) => r.model))].slice(0, 6);
  // Days begin at midnight in the site's zone; a day's row is placed on the UTC day it mostly covers.
  const dayOf = (r) => Math.round(Date.parse(r.start) / DAY) * DAY;
  const series = (value) => models.map((m) => ({ label: m, values: starts.map((s) => rows
    .filter((r) => r.model === m && dayOf(r) === s).reduce((sum, r) => sum + value(r), 0)) }));
  const [download, downloading, downloadError] = useAction(async () => {
    const response = await fetch(`/api/v1/usage/export?by=project,key,model,priority&period=day&format=csv&${range}`,
      { credentials: 'same-origin', headers: authHeaders() });
    if (!response.ok) throw await errorOf(response);
    const link = document.createElement('a');
    link.href = URL.createObjectURL(await response.blob());
    link.download = `usage-${from.slice(0, 10)}-${to.slice(0, 10)}.csv`;
    link.click();
    URL.revokeObjectURL(link.href);
  });
  const report = charge.data;
  return html`<${Page} title="Usage">
    <${Alert} error=${usage.error} />
    <${Field} label="Days"><select value=${days} onChange=${(e) => setDays(Number(e.target.value))}>
      ${[7, 14, 30].map((d) => html`<option value=${d}>${d}</option>`)}</select><//>
    ${usage.loading ? html`<p role="status">Loading…</p>` : html`<div class="grid">
      <${Card} title="Tokens per day, by model" wide>
        <${Chart} label="Tokens per day by model" x=${starts.map((s) => s / 1000)}
          series=${series((r) => r.promptTokens + r.completionTokens)} />
      <//>
      <${Card} title="Requests per day, by model" wide>
        <${Chart} label="Requests per day by model" x=${starts.map((s) => s / 1000)} series=${series((r) => r.requests)} />
      <//>
    </div>`}
    <${Table} caption="Usage by project and model" columns=${['Project', 'Model', 'Requests', 'Failed', 'Prompt tokens',
      'Completion tokens', 'Replica hours']} rows=${[...totals.values()].map((r) => [r.project, r.model,
        count(r.requests), count(r.errors), count(r.promptTokens), count(r.completionTokens),
        (r.replicaSeconds / 3600).toFixed(2)])}
      empty="No calls in this range." />
    <p><button onClick=${download} disabled=${downloading}>Download CSV (by project, key, model, priority and day)</button></p>
    <${Alert} error=${downloadError} />
    <${Alert} error=${charge.error} />
    ${report ? html`<${Table} caption=${`Chargeback${report.currency ? ` in ${report.currency}` : ' (no rates set)'}`}
      columns=${['Project', 'Model', 'Tokens', 'Replicas', 'Accelerators', 'Total']}
      rows=${report.projects.flatMap((p) => [...p.lines.map((l) => [p.project, l.model, l.tokens, l.replicas,
        l.accelerators, l.total]), [p.project, 'All models', '', '', '', p.total]])}
      empty="Nothing to charge in this range." />` : null}
    ${me.allowed.includes('readQuotas') ? html`<p>Limits and budgets: <a href="#/quotas">Quotas</a>.</p>` : null}
  <//>`;
}
