import { useEffect, useState } from 'preact/hooks';
import { html, Page, Card, Table, Alert, Field, Chart, count, bytes } from '../ui.js';
import { api } from '../api.js';

const DAY = 86400000;

/** Requests and tokens per project, model and day, summed from the audit trail, as charts and a table. */
export function Usage() {
  const [days, setDays] = useState(14);
  const [state, setState] = useState({ rows: [], perDay: [], error: null, loading: true });
  useEffect(() => {
    let live = true;
    const today = Math.floor(Date.now() / DAY) * DAY;
    const starts = Array.from({ length: days }, (_, i) => today - (days - 1 - i) * DAY);
    Promise.all(starts.map((s) => api(`/api/v1/usage?from=${new Date(s).toISOString()}&to=${
      new Date(s + DAY).toISOString()}`).then((r) => ({ day: s, usage: r.usage })))).then((perDay) => {
      const totals = new Map();
      for (const d of perDay) {
        for (const u of d.usage) {
          const key = `${u.project} ${u.model}`;
          const t = totals.get(key) ?? { project: u.project, model: u.model, requests: 0, failed: 0, promptTokens: 0,
            completionTokens: 0, bytesIn: 0, bytesOut: 0 };
          for (const f of ['requests', 'failed', 'promptTokens', 'completionTokens', 'bytesIn', 'bytesOut']) t[f] += u[f];
          totals.set(key, t);
        }
      }
      if (live) setState({ rows: [...totals.values()], perDay, error: null, loading: false });
    }, (error) => live && setState({ rows: [], perDay: [], error, loading: false }));
    return () => { live = false; };
  }, [days]);
  const models = [...new Set(state.rows.map((r) => r.model))].slice(0, 6);
  const x = state.perDay.map((d) => d.day / 1000);
  const series = (field) => models.map((m) => ({ label: m, values: state.perDay.map((d) => d.usage
    .filter((u) => u.model === m).reduce((s, u) => s + u[field], 0)) }));
  return html`<${Page} title="Usage">
    <${Alert} error=${state.error} />
    <${Field} label="Days"><select value=${days} onChange=${(e) => setDays(Number(e.target.value))}>
      ${[7, 14, 30].map((d) => html`<option value=${d}>${d}</option>`)}</select><//>
    ${state.loading ? html`<p role="status">Loading…</p>` : html`<div class="grid">
      <${Card} title="Tokens per day, by model" wide>
        <${Chart} label="Tokens per day by model" x=${x} series=${models.map((m, i) => ({ label: m,
          values: series('promptTokens')[i].values.map((v, j) => v + series('completionTokens')[i].values[j]) }))} />
      <//>
      <${Card} title="Requests per day, by model" wide>
        <${Chart} label="Requests per day by model" x=${x} series=${series('requests')} />
      <//>
    </div>`}
    <${Table} caption="Usage by project and model" columns=${['Project', 'Model', 'Requests', 'Failed', 'Prompt tokens',
      'Completion tokens', 'In', 'Out']} rows=${state.rows.map((r) => [r.project, r.model, count(r.requests),
        count(r.failed), count(r.promptTokens), count(r.completionTokens), bytes(r.bytesIn), bytes(r.bytesOut)])}
      empty="No calls in this range." />
  <//>`;
}
