import { useState } from 'preact/hooks';
import { html, Page, Card, Table, Alert, Field, when, useApi, useAction } from '../ui.js';
import { api } from '../api.js';

/** Projects, the keys that belong to each (their members), content logging, and new projects. */
export function Projects({ me }) {
  const can = (a) => me.allowed.includes(a);
  const projects = useApi('/api/v1/projects');
  const keys = useApi(can('readKeys') ? '/api/v1/keys' : null);
  const [name, setName] = useState('');
  const [create, busy, createError] = useAction(async () => {
    await api('/api/v1/projects', { method: 'POST', body: { name: name.trim() } });
    setName('');
    projects.reload();
  });
  const [logging, , loggingError] = useAction(async (p, on) => {
    await api(`/api/v1/projects/${p.name}`, { method: 'PATCH', body: { contentLogging: on } });
    projects.reload();
  });
  const members = (p) => (keys.data?.keys ?? []).filter((k) => k.project === p && !k.revokedAt);
  return html`<${Page} title="Projects">
    <${Alert} error=${projects.error || loggingError} />
    <${Table} caption="Projects" columns=${['Name', 'Members (active keys)', 'Content logging', 'Created']}
      rows=${(projects.data?.projects ?? []).map((p) => [p.name,
        members(p.name).map((k) => `${k.name} (${k.role})`).join(', ') || '—',
        can('manageProjects') ? html`<label class="check"><input type="checkbox" checked=${p.contentLogging}
          aria-label=${`Content logging for ${p.name}`} onChange=${(e) => logging(p, e.target.checked)} />
          ${p.contentLogging ? 'on' : 'off'}</label>`
          : (p.contentLogging ? 'on' : 'off'),
        html`${when(p.createdAt)}<div class="muted">by ${p.createdBy}</div>`])} />
    <p class="muted">${'People signing in through the identity provider take their project and role from its '
      + 'groups (auth.oidc.roleMapping), at each sign-in.'}</p>
    ${can('manageProjects') ? html`<${Card} title="Create a project" wide>
      <form class="inline-form" onSubmit=${(e) => { e.preventDefault(); create(); }}>
        <${Field} label="Name" hint="lowercase letters, digits and -"><input required value=${name}
          onInput=${(e) => setName(e.target.value)} /><//>
        <button type="submit" class="primary" disabled=${busy}>Create</button>
      </form>
      <${Alert} error=${createError} />
    <//>` : null}
  <//>`;
}
