import { useTokenRates, rate } from './deployments.js';
import { html, Page, Card, Table, Alert, Badge, stateTone, bytes, count, when, useApi } from '../ui.js';

/** Nodes with their CPUs, memory and accelerators; deployments and their load; recent errors; the audit chain. */
export function Overview({ me }) {
  const can = (a) => me.allowed.includes(a);
  const fleet = useApi(can('readFleet') ? '/api/v1/fleet' : null, 5000);
  const deployments = useApi(can('readDeployment') ? '/api/v1/deployments' : null, 3000);
  const rates = useTokenRates(deployments.data?.deployments);
  const verify = useApi(can('readAudit') ? '/api/v1/audit/verify' : null, 30000);
  const errors = useApi(can('readAudit') ? '/api/v1/audit?outcome=failure&limit=8' : null, 10000);
  return html`<${Page} title="Overview">
    <div class="grid">
      ${can('readFleet') ? html`<${Card} title="Nodes" wide>
        <${Alert} error=${fleet.error} />
        ${(fleet.data?.nodes ?? []).map((n) => html`<div class="node">
          <h3>${n.name}</h3>
          <dl class="facts">
            <dt>CPU</dt><dd>${n.cpu.model} · ${n.cpu.cores} cores, ${n.cpu.threads} threads</dd>
            ${n.cpu.loadAverage !== null && n.cpu.loadAverage !== undefined ? html`<dt>CPU load</dt>
              <dd>${`${n.cpu.loadAverage.toFixed(2)} (1 min), about ${Math.min(100, Math.round(100 * n.cpu.loadAverage
                / Math.max(1, n.cpu.threads)))}% of its threads busy`}</dd>` : null}
            <dt>Memory</dt><dd>${`${bytes(n.memory.available)} available of ${bytes(n.memory.total)} `
              + `(${bytes(n.memory.heldByDeployments)} held by deployments)`}</dd>
            <dt>Accelerators</dt><dd>${n.accelerators.length ? n.accelerators.map((a) => html`<div>
              ${a.name} · ${bytes(a.memoryTotal)}${a.memoryUsed !== null && a.memoryUsed !== undefined
                ? ` (${bytes(a.memoryUsed)} used)` : ''}${a.allocated ? ` · to ${a.allocatedTo}` : ''}</div>`)
              : 'none'}</dd>
            <dt>GPU offload</dt><dd>${n.gpuOffload.supported ? `${n.gpuOffload.freeGpus} of ${n.gpuOffload.gpus} free`
              : n.gpuOffload.detail}</dd>
          </dl>
          ${n.warnings.map((w) => html`<${Alert} kind="warn" error=${w} />`)}
        </div>`)}
      <//>` : null}
      ${can('readDeployment') ? html`<${Card} title="Deployments" wide>
        <${Alert} error=${deployments.error} />
        <${Table} caption="Deployments and their load" columns=${['Model', 'State', 'Replicas', 'Active', 'Waiting', 'Tokens/s']}
          rows=${(deployments.data?.deployments ?? []).map((d) => [`${d.model}:${d.version}`,
            html`<${Badge} tone=${stateTone(d.state)}>${d.state}<//>`, d.replicas, count(d.activeRequests),
            count(d.waitingRequests), rate(rates(d.id))])}
          empty="No deployments yet: deploy a model from Deployments." />
      <//>` : null}
      ${can('readAudit') ? html`<${Card} title="Audit chain">
        <${Alert} error=${verify.error} />
        ${verify.data ? html`<p><${Badge} tone=${verify.data.ok ? 'good' : 'bad'}>${verify.data.ok ? 'verified'
          : 'broken'}<//> ${count(verify.data.records)} records, ${count(verify.data.digests)} signed digests</p>
          ${verify.data.problem ? html`<${Alert} error=${`${verify.data.problem.kind} at record
            ${verify.data.problem.seq}: ${verify.data.problem.message}`} />` : null}` : null}
      <//>
      <${Card} title="Recent errors" wide>
        <${Alert} error=${errors.error} />
        <${Table} caption="Recent failed calls" columns=${['When', 'Who', 'Action', 'Status', 'Detail']}
          rows=${(errors.data?.records ?? []).map((r) => [when(r.at), r.principalName || 'not signed in', r.action,
            r.status, r.detail])}
          empty="No failed calls." />
      <//>` : null}
    </div>
  <//>`;
}
