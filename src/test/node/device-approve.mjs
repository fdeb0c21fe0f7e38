// A person confirming a device sign-in (OAuth 2.0 device authorization grant) in Debian's Chromium: opens the page
// the command line showed, confirms the code, signs in at the provider's login page, and waits for its answer.
// Prints "approved" or "FAIL: why"; the exit code says which.
//
// Environment: DEVICE_URL (the page, with the code in it), LOGIN (the account), CHROMIUM (default /usr/bin/chromium)
import { chromium } from 'playwright-core';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  await page.goto(process.env.DEVICE_URL);
  await page.locator('button[type=submit]').first().click();
  await page.locator('input[name=login]').fill(process.env.LOGIN);
  await page.locator('input[name=password]').fill('any');
  await page.locator('button[type=submit]').first().click();
  await page.getByText(/success/i).first().waitFor({ timeout: 15000 });
  console.log('approved');
} catch (e) {
  console.log(`FAIL: ${String(e && e.message || e).split('\n')[0]}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
