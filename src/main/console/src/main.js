// The factory's web console: signs a person in (through the site's identity provider, or with an API key), then
// shows the pages the site's policies let them use. Every page reads and changes things through the public APIs.
import { render } from 'preact';
import { useEffect, useErrorBoundary, useState } from 'preact/hooks';
import { html } from './ui.js';
import { api, ApiError, hasKey, useCsrf, useKey } from './api.js';
import './style.css';
import { SignIn } from './pages/signin.js';
import { Overview } from './pages/overview.js';
import { Models } from './pages/models.js';
import { Deployments } from './pages/deployments.js';
import { Playground } from './pages/playground.js';
import { Keys } from './pages/keys.js';
import { Projects } from './pages/projects.js';
import { Usage } from './pages/usage.js';
import { Quotas } from './pages/quotas.js';
import { Audit } from './pages/audit.js';
import { Sovereignty } from './pages/sovereignty.js';
import { Training } from './pages/training.js';

/** The pages, each shown to those its action is allowed (any of them). */
const PAGES = [
  { path: 'overview', title: 'Overview', component: Overview, any: ['readFleet', 'readDeployment', 'readAudit'] },
  { path: 'models', title: 'Models', component: Models, any: ['readModel'] },
  { path: 'deployments', title: 'Deployments', component: Deployments, any: ['readDeployment'] },
  { path: 'playground', title: 'Playground', component: Playground, any: ['invoke'] },
  { path: 'keys', title: 'API keys', component: Keys, any: ['readKeys'] },
  { path: 'projects', title: 'Projects', component: Projects, any: ['readProjects'] },
  { path: 'usage', title: 'Usage', component: Usage, any: ['readUsage'] },
  { path: 'quotas', title: 'Quotas', component: Quotas, any: ['readQuotas'] },
  { path: 'audit', title: 'Audit', component: Audit, any: ['readAudit'] },
  { path: 'sovereignty', title: 'Sovereignty', component: Sovereignty, any: ['readAudit'] },
  { path: 'training', title: 'Training', component: Training, any: ['readTrainingJob'] },
];

/** The page a hash names (#/models); null for a hash that is no page's (the skip link's #main). */
function route() {
  if (location.hash && !location.hash.startsWith('#/')) return null;
  return location.hash.replace(/^#\/?/, '').split('?')[0] || '';
}

/** A page that throws shows what went wrong instead of blanking the console. */
function Guarded({ children }) {
  const [error, reset] = useErrorBoundary();
  if (error) {
    return html`<div class="alert error" role="alert">This page failed: ${String(error.message ?? error)}.
      <button class="ghost" onClick=${reset}>Try again</button></div>`;
  }
  return children;
}

function App() {
  const [me, setMe] = useState(undefined);
  const [error, setError] = useState(null);
  const [path, setPath] = useState(route() ?? '');

  const whoAmI = async () => {
    try {
      const self = await api('/api/v1/me');
      useCsrf(self.csrfToken);
      setMe(self);
      setError(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        if (hasKey()) setError(e);
        useKey(null);
        setMe(null);
      } else {
        setError(e);
        setMe(null);
      }
    }
  };

  useEffect(() => {
    whoAmI();
    const onHash = () => {
      const next = route();
      if (next !== null) setPath(next);
    };
    // A call refused for want of credentials (the session ended, the key was revoked): back to the sign-in.
    const onSignedOut = () => {
      useKey(null);
      useCsrf(null);
      setError(new ApiError(401, 'Your sign-in has ended; sign in again.'));
      setMe(null);
    };
    window.addEventListener('hashchange', onHash);
    window.addEventListener('factory:unauthenticated', onSignedOut);
    return () => {
      window.removeEventListener('hashchange', onHash);
      window.removeEventListener('factory:unauthenticated', onSignedOut);
    };
  }, []);

  useEffect(() => {
    // Moves the focus to the new page's heading, so keyboard and screen-reader users land on it.
    document.getElementById('page-title')?.focus();
  }, [path]);

  if (me === undefined) return html`<p class="loading" role="status">Loading…</p>`;
  if (me === null) return html`<${SignIn} error=${error} onSignedIn=${whoAmI} />`;

  const pages = PAGES.filter((p) => p.any.some((a) => me.allowed.includes(a)));
  const current = pages.find((p) => p.path === path) ?? pages[0];
  const known = PAGES.find((p) => p.path === path);
  const signOut = async () => {
    if (me.signedInWith === 'session') {
      try {
        const out = await api('/auth/logout', { method: 'POST' });
        if (out.endSessionUrl) {
          location.assign(out.endSessionUrl);
          return;
        }
      } catch (e) {
        setError(e);
      }
    }
    useKey(null);
    useCsrf(null);
    setMe(null);
  };

  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <span class="brand">Factory</span>
      <span class="who">
        <span><span class="sr-only">Signed in as </span>${me.name}</span>
        <span class="muted">${me.role} · ${me.project}</span>
      </span>
      <button class="ghost" onClick=${signOut}>Sign out</button>
    </header>
    <div class="shell">
      <nav aria-label="Console">
        <ul>
          ${pages.map((p) => html`<li><a href=${`#/${p.path}`} aria-current=${p === current ? 'page' : undefined}>
            ${p.title}</a></li>`)}
        </ul>
      </nav>
      <main id="main">
        ${known && known !== current ? html`<div class="alert error" role="alert"><strong>Not allowed: </strong>
          ${known.title} needs a role you do not have in ${me.project} (you are ${me.role}).</div>` : null}
        ${current ? html`<${Guarded} key=${current.path}><${current.component} me=${me} /><//>`
          : html`<div class="alert error" role="alert">Your role (${me.role}) may use none of the console's pages.</div>`}
      </main>
    </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
