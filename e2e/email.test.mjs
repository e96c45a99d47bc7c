// The console's email panel in a real browser, on mail stored through the
// email channel (real Redis, real conversation service): the thread shows
// as mail, its HTML sanitized and framed so that a <script>, an onerror, a
// javascript: link or an svg onload in the mail runs nothing; the quoted
// history is folded; the composer's subject is fixed and its cc prefilled.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServerAndBrowser, shot, openPage, serveGoTest } from './lib/harness.mjs';

const suite = withServerAndBrowser(() => startEmailDemo());

async function startEmailDemo() {
  const { match, stop } = await serveGoTest('./channels/email/', 'TestServeEmailDemo',
    { EMAIL_DEMO_ADDR: '127.0.0.1:0', EMAIL_DEMO_SECONDS: '600' }, /LISTENING (http:\/\/\S+) CONV (\S+)/);
  return { url: match[1], conv: match[2], stop };
}

test('an email with script in it is shown sanitized and runs nothing', async () => {
  const { server, browser } = suite;
  const { page, errors } = await openPage(browser, { width: 1100, height: 900 }, { consoleErrors: true });
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(`${server.url}/?conv=${encodeURIComponent(server.conv)}`);
  await page.locator('.email-subject', { hasText: 'Refund <b>now</b>' }).waitFor();

  const mail = page.locator('.email-mail').first();
  assert.match(await mail.locator('.email-head').textContent(), /Mallory.*mallory@example\.com/s);
  assert.match(await mail.locator('.email-head').textContent(), /Cc.*trent@example\.com/s);

  // The HTML is in a frame sandboxed without scripts.
  const frameEl = mail.locator('iframe.email-html');
  await frameEl.waitFor();
  assert.equal(await frameEl.getAttribute('sandbox'), '');
  const frame = page.frames().find((f) => f !== page.mainFrame());
  assert.ok(frame, 'mail frame');
  await frame.waitForLoadState();
  const body = await frame.evaluate(() => document.body.innerHTML).catch(() => null);
  // An opaque sandboxed frame may refuse evaluation; when it allows it,
  // nothing active is left in the markup.
  if (body !== null) {
    assert.doesNotMatch(body, /<script|onerror|onload|javascript:|<iframe|<svg/i);
    assert.match(body, /<b>refund<\/b>/);
    // The history is folded out of the HTML too, not shown twice.
    assert.doesNotMatch(body, /Which order/);
  }
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.ok(!requests.some((u) => u.includes('evil.example') || u.endsWith('/x')), `no remote fetch: ${requests.join(' ')}`);

  await shot(page, 'email-thread');

  // The quoted history is folded, and opens on demand.
  const quoted = mail.locator('details.email-quoted');
  assert.equal(await quoted.getAttribute('open'), null);
  await quoted.locator('summary').click();
  assert.match(await quoted.locator('pre').textContent(), /Which order\?/);

  // Attachments and the original.
  assert.match(await mail.locator('.email-attachments').textContent(), /invoice\.pdf/);
  assert.equal(await mail.locator('a', { hasText: 'View original' }).count(), 1);

  // The composer: subject fixed to the thread, cc prefilled.
  assert.equal(await page.locator('#email-subject-field').inputValue(), 'Re: Refund <b>now</b>');
  assert.equal(await page.locator('#email-subject-field').getAttribute('readonly'), '');
  assert.match(await page.locator('#email-cc').inputValue(), /trent@example\.com/);

  await shot(page, 'email-thread-quoted');
  assert.deepEqual(errors.filter((e) => !/favicon|Content Security Policy|Blocked script/.test(e)), []);
});
