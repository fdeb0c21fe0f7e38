// The console's shared parts: page frame, cards, tables, alerts, form fields, charts, and data loading.
import { html } from 'htm/preact';
import { cloneElement, toChildArray } from 'preact';
import { useEffect, useRef, useState, useCallback, useId } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api } from './api.js';

export { html };

export function Page({ title, actions, children }) {
  useEffect(() => {
    document.title = `${title} · Factory console`;
  }, [title]);
  return html`<section class="page" aria-labelledby="page-title">
    <header class="page-head">
      <h1 id="page-title" tabindex="-1">${title}</h1>
      ${actions ? html`<div class="page-actions">${actions}</div>` : null}
    </header>
    ${children}
  </section>`;
}

export function Card({ title, children, wide }) {
  return html`<section class=${wide ? 'card wide' : 'card'} aria-label=${title}>
    <h2>${title}</h2>
    ${children}
  </section>`;
}

/** An error the server answered, in words a person can act on; role=alert so screen readers say it at once. */
export function Alert({ error, kind = 'error' }) {
  if (!error) return null;
  const text = typeof error === 'string' ? error : error.message;
  const forbidden = error.status === 403;
  return html`<div class=${`alert ${kind}`} role=${kind === 'error' ? 'alert' : 'status'}>
    ${forbidden ? html`<strong>Not allowed: </strong>` : null}${text}
  </div>`;
}

export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}

/** A table with a caption for screen readers; rows of cells, each a value or markup. */
export function Table({ caption, columns, rows, empty = 'Nothing yet.' }) {
  if (!rows.length) return html`<${Empty}>${empty}<//>`;
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${caption}>
    <table>
      <caption class="sr-only">${caption}</caption>
      <thead><tr>${columns.map((c) => html`<th scope="col">${c}</th>`)}</tr></thead>
      <tbody>${rows.map((r) => html`<tr>${r.map((cell) => html`<td>${cell}</td>`)}</tr>`)}</tbody>
    </table>
  </div>`;
}

/** A labelled form control: the label names the control alone (its options are not part of its name). */
export function Field({ label, hint, children }) {
  const id = useId();
  const control = toChildArray(children).find((c) => typeof c === 'object');
  return html`<div class="field"><label class="label" for=${id}>${label}</label>
    ${control ? cloneElement(control, { id, 'aria-describedby': hint ? `${id}-hint` : undefined }) : null}
    ${hint ? html`<span class="hint" id=${`${id}-hint`}>${hint}</span>` : null}</div>`;
}

export function Badge({ tone = 'neutral', children }) {
  return html`<span class=${`badge ${tone}`}>${children}</span>`;
}

export function stateTone(state) {
  if (['ready', 'up', 'succeeded', 'completed', 'ok', 'fits', 'ALLOW', 'success', 'active'].includes(state)) return 'good';
  if (['failed', 'down', 'error', 'FAILURE', 'DENY', 'failure', 'revoked', 'none', 'doesNotFit'].includes(state)) return 'bad';
  return 'warn';
}

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

export function when(instant) {
  if (!instant) return '—';
  const d = new Date(instant);
  return html`<time datetime=${d.toISOString()}>${d.toLocaleString()}</time>`;
}

export function count(n) {
  return n === null || n === undefined ? '—' : Number(n).toLocaleString();
}

/**
 * Loads a path's JSON, again every `every` ms when given, and on reload(); answers { data, error, loading, reload }.
 * A path of null loads nothing.
 */
export function useApi(path, every) {
  const [state, setState] = useState({ data: null, error: null, loading: path !== null, path });
  const latest = useRef(0);
  const load = useCallback(async () => {
    if (path === null) return;
    const call = ++latest.current;
    try {
      const data = await api(path);
      // An answer to an older call (the path changed meanwhile, or a later poll went first) is dropped.
      if (call === latest.current) setState({ data, error: null, loading: false, path });
    } catch (error) {
      if (call === latest.current) setState((s) => ({ data: s.path === path ? s.data : null, error, loading: false, path }));
    }
  }, [path]);
  useEffect(() => {
    load();
    if (!every) return undefined;
    const timer = setInterval(() => document.visibilityState === 'visible' && load(), every);
    return () => clearInterval(timer);
  }, [load, every]);
  // Until the new path's answer comes, nothing of the old one is shown as its.
  const current = state.path === path ? state : { data: null, error: null, loading: true };
  return { data: current.data, error: current.error, loading: current.loading, reload: load };
}

/** Runs an action that changes something, keeping its error and whether it runs; answers [run, busy, error]. */
export function useAction(fn) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async (...args) => {
    setBusy(true);
    setError(null);
    try {
      return await fn(...args);
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return [run, busy, error];
}

/** A uPlot chart of series over x (seconds since the epoch, or steps), sized to its box. */
export function Chart({ label, x, series, time = true, height = 220 }) {
  const box = useRef(null);
  useEffect(() => {
    if (!box.current || !x.length) return undefined;
    const palette = ['#1f5fbf', '#c2410c', '#15803d', '#7c3aed', '#be185d', '#0e7490'];
    const plot = new uPlot({
      width: box.current.clientWidth || 600,
      height,
      scales: { x: { time } },
      legend: { show: true },
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: palette[i % palette.length], width: 2,
        spanGaps: Boolean(s.spanGaps), points: { show: x.length < 40 || Boolean(s.spanGaps) } }))],
      axes: [{}, { size: 70 }],
    }, [x, ...series.map((s) => s.values)], box.current);
    const resize = () => plot.setSize({ width: box.current.clientWidth, height });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [x, series, time, height]);
  if (!x.length) return html`<${Empty}>No data for ${label} yet.<//>`;
  return html`<figure class="chart"><div ref=${box} role="img" aria-label=${label}></div>
    <figcaption class="sr-only">${label}</figcaption></figure>`;
}
