import { useEffect, useState } from 'preact/hooks';
import { html, Alert, Field } from '../ui.js';
import { api, useKey } from '../api.js';

/**
 * Sign-in: through the site's identity provider when it is set up (auth.oidc.*), or with an API key, which this
 * tab keeps until it closes or signs out.
 */
export function SignIn({ error, onSignedIn }) {
  const [provider, setProvider] = useState(null);
  const [key, setKey] = useState('');
  const [problem, setProblem] = useState(error);
  useEffect(() => {
    document.title = 'Sign in · Factory console';
    // 404: people's sign-in is not set up here; 401: it is, and nobody is signed in.
    api('/auth/session').then(() => setProvider(true), (e) => setProvider(e.status !== 404));
  }, []);
  const submit = async (e) => {
    e.preventDefault();
    useKey(key.trim());
    try {
      await api('/api/v1/me');
      onSignedIn();
    } catch (err) {
      useKey(null);
      setProblem(err);
    }
  };
  return html`<main id="main" class="signin">
    <h1>Factory console</h1>
    <${Alert} error=${problem} />
    ${provider ? html`<a class="button primary" href="/auth/login?return=/console/">
      Sign in with your organisation</a><p class="muted or">or</p>` : null}
    <form onSubmit=${submit}>
      <${Field} label="API key" hint="The key stays in this tab only, until you sign out or close it.">
        <input type="password" autocomplete="off" required value=${key} onInput=${(e) => setKey(e.target.value)} />
      <//>
      <button type="submit" class=${provider ? '' : 'primary'}>Sign in with a key</button>
    </form>
  </main>`;
}
