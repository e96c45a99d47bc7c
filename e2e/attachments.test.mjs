// Files from the console's composer: the agent attaches a file to a reply;
// it is stored with the attachment store's limits, sent with the reply, and
// shown in the transcript as a link that downloads it. A file over the
// limit is refused with a reason and sends nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withServerAndBrowser, shot, agentSignsIn, agentGoesAvailable, openPage, visitorStartsChat,
  offerRings, acceptOffer,
} from './lib/harness.mjs';
import { startGateway } from './lib/gateway.mjs';

const suite = withServerAndBrowser(() => startGateway({ agents: [{ id: 'ana', name: 'Ana Lima', password: 'ana-password' }] }));

test('an agent sends a file from the composer', async () => {
  const { server: gw, browser } = suite;
  const agent = await openPage(browser, { width: 1280, height: 800 });
  await agentSignsIn(agent.page, gw.url, { user: 'ana' });
  await agentGoesAvailable(agent.page);

  const customer = await openPage(browser, { width: 1280, height: 800 });
  await visitorStartsChat(customer.page, gw.url, { name: 'Maria Svensson', text: 'Can you send me the invoice?' });
  await acceptOffer(await offerRings(agent.page));
  await agent.page.locator('.msg-customer .bubble', { hasText: 'invoice' }).waitFor();

  // Over the limit (10 MiB by default): refused, nothing pending.
  await agent.page.locator('#attach').setInputFiles({ name: 'huge.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(11 << 20) });
  await agent.page.getByText('Could not attach huge.bin').waitFor();
  assert.equal(await agent.page.locator('#attach-list li').count(), 0);

  const pdf = Buffer.from('%PDF-1.4\n% invoice 7\n');
  await agent.page.locator('#attach').setInputFiles({ name: 'invoice-7.pdf', mimeType: 'application/pdf', buffer: pdf });
  await agent.page.locator('#attach-list li', { hasText: 'invoice-7.pdf' }).waitFor();
  await agent.page.locator('#reply-text').fill('Here it is.');
  await agent.page.locator('#send').click();
  const link = agent.page.locator('.msg-agent .msg-files a', { hasText: 'invoice-7.pdf' });
  await link.waitFor();
  assert.equal(await agent.page.locator('#attach-list li').count(), 0);
  await shot(agent.page, 'console-attachment');
  // The link downloads the very file, for this signed-in agent.
  const [download] = await Promise.all([agent.page.waitForEvent('download'), link.click()]);
  const chunks = [];
  for await (const ch of await download.createReadStream()) chunks.push(ch);
  assert.deepEqual(Buffer.concat(chunks), pdf);
  assert.deepEqual(agent.errors, []);
});
