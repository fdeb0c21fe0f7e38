// The console as people use it, in Debian's Chromium driven by Playwright, against a running factory and the test
// OpenID provider. Each check prints one line "ok NAME" or "FAIL NAME: why"; the exit code is the number of failures.
//
// Environment:
//   FACTORY_URL   the factory (http://127.0.0.1:PORT)
//   ADMIN_KEY     the factory's admin key (for the key sign-in)
//   MODEL_FILE    a small GGUF model to upload through the console
//   CHROMIUM      the browser (default /usr/bin/chromium)
//   SCREENSHOTS   a folder to keep a screenshot of each page in (optional)
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import fs from 'node:fs';
import path from 'node:path';

const base = process.env.FACTORY_URL;
const shots = process.env.SCREENSHOTS;
const MODEL = 'acme/tiny';
let failures = 0;

async function check(name, fn) {
  try {
    await fn();
    console.log(`ok ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${String(e && e.stack || e).split('\n').slice(0, 4).join(' | ')}`);
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

async function shot(page, name) {
  if (!shots) return;
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: false });
}

/** No serious or critical accessibility violation on the page as it stands (axe-core, WCAG 2 A and AA). */
async function accessible(page, where) {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa']).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(!bad.length, `${where}: ${bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 2)
    .map((n) => n.target.join(' ')).join(', ')}`).join('; ')}`);
}

/** Errors the pages report (a refused script or style, a broken call, an uncaught exception), kept per page. */
const problems = [];
function watch(page) {
  page.on('console', (m) => {
    // Failed loads are judged by their answers below, which name the URL; the provider's own pages are its business.
    if (m.type() === 'error' && page.url().startsWith(base) && !m.text().startsWith('Failed to load resource')) {
      problems.push(m.text());
    }
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('response', (r) => {
    const url = r.url();
    // The sign-in probes answer 401 before anyone is signed in; nothing else of the factory's may fail.
    if (url.startsWith(base) && r.status() >= 400 && !(r.status() === 401 && /\/api\/v1\/me$|\/auth\/session$/.test(url))) {
      problems.push(`${r.request().method()} ${url.slice(base.length)}: ${r.status()}`);
    }
  });
  return page;
}

async function open(page, hash, title) {
  await page.goto(`${base}/console/#/${hash}`);
  await page.getByRole('heading', { level: 1, name: title }).waitFor({ timeout: 15000 });
}

/** Signs a person in through the provider's own login page, from the console's sign-in button. */
async function signInThroughProvider(browser, login) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = watch(await context.newPage());
  page.on('dialog', (d) => d.accept());
  await page.goto(`${base}/console/`);
  await page.getByRole('link', { name: 'Sign in with your organisation' }).click();
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('any');
  await page.locator('button[type=submit]').click();
  await page.waitForURL(`${base}/console/**`, { timeout: 15000 });
  await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 15000 });
  return { context, page };
}

async function navNames(page) {
  return page.locator('nav[aria-label=Console] a').allInnerTexts().then((t) => t.map((x) => x.trim()));
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});

try {
  await check('the sign-in page offers the identity provider and keys, and is accessible', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/console/`);
    await page.getByRole('link', { name: 'Sign in with your organisation' }).waitFor();
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in with a key' }).click();
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
    await accessible(page, 'sign-in');
    await shot(page, 'sign-in');
    await context.close();
  });

  await check('an admin key signs in and sees the overview', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/console/`);
    await page.getByLabel('API key').fill(process.env.ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in with a key' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    const names = await navNames(page);
    expect(names.includes('API keys') && names.includes('Audit'), `admin's pages: ${names}`);
    await context.close();
  });

  const { context: adminContext, page } = await signInThroughProvider(browser, 'alice');

  await check('a person signs in through the provider and is named by it', async () => {
    await page.locator('.who').filter({ hasText: 'alice' }).waitFor();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await page.locator('.node h3').first().waitFor();
    await accessible(page, 'overview');
    await shot(page, 'overview');
  });

  await check('uploads the tiny model with progress and deploys it with a capacity preview', async () => {
    await open(page, 'models', 'Models');
    await page.getByLabel('Model name').first().fill(MODEL);
    await page.getByLabel('File (GGUF or ONNX)').setInputFiles(process.env.MODEL_FILE);
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByRole('status').filter({ hasText: `${MODEL} version 1 uploaded` }).waitFor({ timeout: 60000 });
    await page.getByRole('cell', { name: MODEL, exact: true }).waitFor();
    // Its versions: unsigned as uploaded, then signed with the site's key by the admin.
    await page.getByRole('button', { name: `Versions of ${MODEL}` }).click();
    await page.getByRole('cell').filter({ hasText: 'unsigned' }).waitFor();
    await page.getByRole('button', { name: `Sign ${MODEL}:1 with the site's key` }).click();
    await page.getByRole('status').filter({ hasText: `${MODEL}:1 signed by key sha256:` }).waitFor();
    await page.getByRole('cell').filter({ hasText: 'signed by key sha256:' }).waitFor();
    await page.getByRole('button', { name: 'Plan' }).first().click();
    await page.locator('.plan').filter({ hasText: 'Needs' }).waitFor();
    await accessible(page, 'models');
    await shot(page, 'models');

    await open(page, 'deployments', 'Deployments');
    await page.getByLabel('Model', { exact: true }).selectOption(MODEL);
    await page.getByLabel('Parallel sequences').fill('2');
    await page.getByLabel('Context per sequence').fill('512');
    await page.locator('.plan').filter({ hasText: 'fits in host memory' }).waitFor();
    await page.getByRole('button', { name: 'Deploy' }).click();
    const row = page.getByRole('row').filter({ hasText: `${MODEL}:1` });
    await row.filter({ hasText: 'ready' }).waitFor({ timeout: 60000 });
    // Scaled in place to two replicas, then back to one; the row shows them joining.
    await page.getByLabel(`Replicas of ${MODEL}:1`).fill('2');
    await page.getByRole('button', { name: 'Scale' }).click();
    await page.getByRole('status').filter({ hasText: 'scales to 2 replica(s)' }).waitFor();
    await page.waitForFunction((name) => [...document.querySelectorAll('tr')].some((r) => r.textContent.includes(name)
      && r.querySelector('input')?.value === '2' && !/\d of 2/.test(r.textContent)), `${MODEL}:1`, { timeout: 60000 });
    await page.getByLabel(`Replicas of ${MODEL}:1`).fill('1');
    await page.getByRole('button', { name: 'Scale' }).click();
    await page.getByRole('status').filter({ hasText: 'scales to 1 replica(s)' }).waitFor();
    await accessible(page, 'deployments');
    await shot(page, 'deployments');
  });

  await check('chats in the playground and sees the tokens stream, with counts and timings', async () => {
    await open(page, 'playground', 'Playground');
    await page.getByLabel('Model', { exact: true }).selectOption({ label: (await page.getByLabel('Model', { exact: true })
      .locator('option').allInnerTexts()).find((o) => o.startsWith(MODEL)) });
    await page.getByLabel('Max tokens').fill('48');
    await page.getByLabel('System prompt').fill('You are terse.');
    // Records each text the streaming answer shows, to see it grow piece by piece.
    await page.evaluate(() => {
      window.seen = [];
      new MutationObserver(() => {
        const s = document.querySelector('[data-testid=streaming]');
        if (s && s.textContent && s.textContent !== window.seen.at(-1)) window.seen.push(s.textContent);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByLabel('Message').fill('Tell me a story about a factory.');
    await page.getByRole('button', { name: 'Send' }).click();
    const stats = page.getByTestId('stats');
    await stats.waitFor({ timeout: 60000 });
    const text = await stats.innerText();
    expect(/\d+ prompt \+ 48 completion tokens/.test(text) && /first token \d+ ms/.test(text), `stats: ${text}`);
    const seen = await page.evaluate(() => window.seen);
    expect(seen.length >= 3, `the answer arrived in ${seen.length} pieces, not as a stream`);
    await page.getByRole('tab', { name: 'Python (boto3)' }).click();
    expect((await page.locator('pre.code').innerText()).includes('client.converse('), 'the boto3 code');
    await accessible(page, 'playground');
    await shot(page, 'playground');
  });

  await check('creates a key, shows its secret once, and revokes it', async () => {
    await open(page, 'keys', 'API keys');
    await page.getByLabel('Name').fill('console-made');
    await page.getByLabel('Role').selectOption('invoker');
    await page.getByRole('button', { name: 'Create' }).click();
    const secret = (await page.getByTestId('secret').innerText()).trim();
    const works = await fetch(`${base}/v1/models`, { headers: { Authorization: `Bearer ${secret}` } });
    expect(works.status === 200, `the new key answered ${works.status}`);
    await accessible(page, 'keys');
    await shot(page, 'keys');
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByTestId('secret').count() === 0, 'the secret is still shown');
    await page.getByRole('button', { name: 'Revoke console-made' }).click();
    await page.getByRole('row').filter({ hasText: 'console-made' }).filter({ hasText: 'revoked' }).waitFor();
    const refused = await fetch(`${base}/v1/models`, { headers: { Authorization: `Bearer ${secret}` } });
    expect(refused.status === 401, `the revoked key answered ${refused.status}`);
  });

  await check('the other pages load for an admin and are accessible', async () => {
    for (const [hash, title] of [['projects', 'Projects'], ['usage', 'Usage'], ['quotas', 'Quotas'], ['audit', 'Audit'],
      ['sovereignty', 'Sovereignty'], ['training', 'Training']]) {
      await open(page, hash, title);
      await page.waitForLoadState('networkidle');
      expect(await page.getByRole('alert').count() === 0, `${title}: ${await page.getByRole('alert').allInnerTexts()}`);
      await accessible(page, title);
      await shot(page, hash);
    }
  });

  await check('on a phone-wide screen the pages still work', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [hash, title] of [['overview', 'Overview'], ['models', 'Models'], ['deployments', 'Deployments'],
      ['keys', 'API keys'], ['audit', 'Audit'], ['playground', 'Playground']]) {
      await open(page, hash, title);
      await page.waitForLoadState('networkidle');
      // Nothing wider than the screen but what scrolls inside its own box (tables, code).
      const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
        .filter((e) => !e.closest('.table-wrap, pre.code, nav'))
        .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${e.className} (${Math.round(e.getBoundingClientRect().width)} px)`));
      expect(!wide.length, `${title} is wider than a phone: ${wide.join(', ')}`);
      await accessible(page, `${title} on a phone`);
    }
    await shot(page, 'phone-playground');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  await check('an invoker sees no admin pages and is told why when opening one', async () => {
    const { context, page: bob } = await signInThroughProvider(browser, 'bob');
    const names = await navNames(bob);
    expect(names.includes('Playground') && names.includes('Quotas') && !names.includes('API keys')
      && !names.includes('Audit') && !names.includes('Projects'), `invoker's pages: ${names}`);
    await bob.goto(`${base}/console/#/keys`);
    await bob.getByRole('alert').filter({ hasText: 'Not allowed' }).filter({ hasText: 'invoker' }).waitFor();
    await shot(bob, 'invoker-refused');
    await context.close();
  });

  await check('an auditor sees the audit trail and that its chain verifies', async () => {
    const { context, page: dana } = await signInThroughProvider(browser, 'dana');
    const names = await navNames(dana);
    expect(names.includes('Audit') && !names.includes('Playground'), `auditor's pages: ${names}`);
    await open(dana, 'audit', 'Audit');
    await dana.getByTestId('verification').filter({ hasText: 'verified' }).waitFor();
    await dana.getByRole('row').filter({ hasText: 'alice' }).first().waitFor();
    await shot(dana, 'audit');
    await context.close();
  });

  await check('signing out ends the session, here and at the provider', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((u) => !u.toString().startsWith(`${base}/console`), { timeout: 15000 });
    const after = await adminContext.request.get(`${base}/api/v1/me`);
    expect(after.status() === 401, `after signing out /api/v1/me answered ${after.status()}`);
    await page.goto(`${base}/console/`);
    await page.getByRole('link', { name: 'Sign in with your organisation' }).waitFor();
  });
  await adminContext.close();

  await check('no page reported an error (a script or style the policy refused, a failed call, an exception)', async () => {
    expect(!problems.length, problems.slice(0, 5).join(' | '));
  });
} finally {
  await browser.close();
}
process.exit(failures);
