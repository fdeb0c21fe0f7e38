import { useState } from 'preact/hooks';
import { html, Page, Card, Table, Alert, Badge, Chart, stateTone, when, useApi } from '../ui.js';

function Curve({ job }) {
  const metrics = useApi(`/api/v1/training-jobs/${job}/metrics`, 5000);
  const all = metrics.data?.metrics ?? [];
  // Training loss at every step; validation loss where an epoch ended (at that epoch's last step), joined up.
  const steps = all.filter((m) => m.kind === 'step');
  const validation = new Map(all.filter((m) => m.kind !== 'step' && m.validationLoss !== null
    && m.validationLoss !== undefined).map((m) => [m.step, m.validationLoss]));
  const x = steps.map((m) => m.step);
  const series = [{ label: 'training loss', values: steps.map((m) => m.loss) }];
  if (validation.size) {
    series.push({ label: 'validation loss', spanGaps: true, values: steps.map((m) => validation.get(m.step) ?? null) });
  }
  return html`<${Alert} error=${metrics.error} /><${Chart} label=${`Loss of ${job} by step`} x=${x} series=${series}
    time=${false} />`;
}

/** Fine-tuning jobs with their status, and the loss curve of the one chosen. */
export function Training() {
  const jobs = useApi('/api/v1/training-jobs', 5000);
  const [chosen, setChosen] = useState(null);
  return html`<${Page} title="Training">
    <${Alert} error=${jobs.error} />
    <${Table} caption="Fine-tuning jobs" columns=${['Name', 'Project', 'Status', 'Base model', 'Output', 'Created', '']}
      rows=${(jobs.data?.jobs ?? []).map((j) => [j.name, j.project, html`<${Badge} tone=${stateTone(j.status)}>
        ${j.status}<//>${j.failure ? html`<div class="muted">${j.failure}</div>` : ''}`, j.baseModel,
        j.outputVersion ? `${j.outputModel}:${j.outputVersion}` : j.outputModel, when(j.createdAt),
        html`<button class="ghost" onClick=${() => setChosen(j.id)} aria-label=${`Loss curve of ${j.name}`}>
          Loss curve</button>`])}
      empty="No fine-tuning jobs: start one with 'factory train' or Bedrock's CreateModelCustomizationJob." />
    ${chosen ? html`<${Card} title=${`Loss: ${chosen}`} wide><${Curve} job=${chosen} /><//>` : null}
  <//>`;
}
