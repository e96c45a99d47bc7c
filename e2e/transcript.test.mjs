// A long conversation in the agent console: 90 chat messages of 2,000 "<"
// each encode to more than the socket's 1 MiB send cap, which once closed
// the console's socket on every resume and made it reconnect forever. The
// console must show the whole conversation, page by page, on one socket.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withServerAndBrowser, startFakeConsole, fake, shot, agentSignsIn, agentGoesAvailable, waitFor,
  openPage, acceptOffer,
} from './lib/harness.mjs';

const suite = withServerAndBrowser(() => startFakeConsole());

test('a conversation longer than one frame shows whole, on one socket', async () => {
  const { server, browser } = suite;
  const { context, page, errors } = await openPage(browser, { width: 1280, height: 800 }, { consoleErrors: true, keepSockets: true });
  const base = server.url;
  await agentSignsIn(page, base, { user: 'ana' });
  await agentGoesAvailable(page);
  const { conv } = await fake(base, 'POST', '/_fake/inbound', { channel: 'chat', customer: 'Mallory Long', text: 'first', agent: 'ana' });
  await acceptOffer(page.locator(`.offer[data-conv="${conv}"]`));
  await page.locator('.msg-customer .bubble', { hasText: 'first' }).waitFor();
  const lt = '<'.repeat(2000);
  for (let i = 0; i < 90; i++) {
    await fake(base, 'POST', '/_fake/inbound', { channel: 'chat', customer: 'Mallory Long', text: `${String(i).padStart(3, '0')} ${lt}` });
  }

  // A fresh load reads the conversation from the start, in pages.
  await page.reload();
  await page.locator('#conn[data-state="online"]').waitFor();
  await waitFor(async () => (await page.locator('.msg-customer .bubble').count()) === 91, 'all 91 messages', 20_000);
  const texts = await page.locator('.msg-customer .bubble').allTextContents();
  assert.equal(texts[0], 'first');
  for (let i = 0; i < 90; i++) assert.equal(texts[i + 1], `${String(i).padStart(3, '0')} ${lt}`);

  // Still the first socket of this load, and still online a moment later.
  await page.waitForTimeout(1500);
  assert.equal(await page.locator('#conn').getAttribute('data-state'), 'online');
  assert.equal(await page.evaluate(() => window.__sockets.length), 1);

  // Live lines still arrive once.
  await fake(base, 'POST', '/_fake/inbound', { channel: 'chat', customer: 'Mallory Long', text: 'still there?' });
  await page.locator('.msg-customer .bubble', { hasText: 'still there?' }).waitFor();
  assert.equal(await page.locator('.msg-customer .bubble').count(), 92);
  await page.locator('.msg-customer .bubble', { hasText: '089 ' }).scrollIntoViewIfNeeded();
  await shot(page, 'console-long-transcript');
  assert.deepEqual(errors.filter((e) => !/status of 401|favicon/.test(e)), []);
  await context.close();
});
