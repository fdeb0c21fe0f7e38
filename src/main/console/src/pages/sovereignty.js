import { html, Page, Card, Table, Alert, Badge, count, bytes, when, stateTone, useApi } from '../ui.js';

/** Where data may go and went (the egress ledger), who holds the keys, how models are classified, the audit chain. */
export function Sovereignty() {
  const report = useApi('/api/v1/sovereignty/report', 30000);
  const r = report.data;
  return html`<${Page} title="Sovereignty">
    <${Alert} error=${report.error} />
    ${r ? html`<div class="grid">
      <${Card} title="Egress" wide>
        <p>Allowed destinations: ${r.egress.allow.length ? r.egress.allow.map((a) => html`<code>${a}</code> `)
          : html`<strong>none</strong> (nothing leaves this factory)`}</p>
        <${Table} caption="Outbound connections" columns=${['Destination', 'Decision', 'Outcome', 'Attempts', 'Sent',
          'Received', 'Last']} rows=${r.egress.attempts.map((a) => [html`<code>${a.destination}</code>`,
            html`<${Badge} tone=${a.decision === 'allow' ? 'good' : 'bad'}>${a.decision}<//>`, a.outcome,
            count(a.attempts), bytes(a.bytesSent), bytes(a.bytesReceived), when(a.lastAt)])}
          empty="No outbound connection was attempted." />
      <//>
      <${Card} title="Key providers">
        <${Table} caption="Key providers" columns=${['Name', 'Kind', 'Algorithm', 'Where', 'Protects']}
          rows=${r.keyProviders.map((k) => [k.name, k.kind, k.algorithm, k.location, k.protects])} />
      <//>
      <${Card} title="Project keys (KEKs)">
        <${Table} caption="Project key-encryption keys" columns=${['Project', 'KEK version', 'Master version',
          'Data keys', 'Rotated']} rows=${r.projectKeys.map((k) => [k.project, k.kekVersion, k.masterKeyVersion,
            count(k.dataKeys), when(k.rotatedAt)])} />
      <//>
      <${Card} title="Data classification">
        <${Table} caption="Models by classification" columns=${['Classification', 'Models']}
          rows=${Object.entries(r.dataClassification.models).map(([c, n]) => [c, n])} empty="No models." />
      <//>
      <${Card} title="Audit chain">
        <p><${Badge} tone=${stateTone(r.audit.ok ? 'ok' : 'failed')}>${r.audit.ok ? 'verified' : 'broken'}<//>${
          ` ${count(r.audit.records)} records, ${count(r.audit.digests)} signed digests; at start: ${r.auditAtStart.ok
            ? 'verified' : r.auditAtStart.accepted ? 'broken, accepted by an admin' : 'broken'}`}</p>
        <p class="muted">Report made ${when(r.generatedAt)}.</p>
      <//>
    </div>` : null}
  <//>`;
}
