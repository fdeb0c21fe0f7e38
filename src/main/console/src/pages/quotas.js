import { html, Page, Table, Alert, count, useApi, when } from '../ui.js';

const limit = (n) => (n === undefined || n === null ? '—' : count(n));
const budget = (n, spent) => (n === undefined || n === null ? '—' : `${count(spent ?? 0)} of ${count(n)}`);

/** The quotas the person may read: each scope's limits, and what its budgets spent this day and month. */
export function Quotas() {
  const quotas = useApi('/api/v1/quotas', 10000);
  const list = quotas.data?.quotas ?? [];
  return html`<${Page} title="Quotas">
    <${Alert} error=${quotas.error} />
    ${quotas.loading ? html`<p role="status">Loading…</p>` : html`
      <${Table} caption="Limits by project, key and model" columns=${['Project', 'Key', 'Model', 'Requests / min',
        'Tokens / min', 'Concurrent', 'Tokens today', 'Tokens this month', 'Priority', 'Set']}
        rows=${list.map((q) => [q.project, q.key ?? 'every key', q.model ?? 'every model', limit(q.rpm), limit(q.tpm),
          limit(q.concurrency), budget(q.tokensPerDay, q.spentToday), budget(q.tokensPerMonth, q.spentThisMonth),
          q.priority ?? 'interactive', `${when(q.updatedAt)} by ${q.updatedBy}`])}
        empty="No quotas: calls are limited only by their replicas' queues." />
      <p>Budgets count days and months in ${quotas.data?.timeZone}. Admins set limits with
        <code>factory quotas set</code>; see the quotas guide in the documentation.</p>`}
  <//>`;
}
