// The console's inbox views on the real product: an agent answers a chat,
// closes it and finds it under "Closed 7 days", read-only; another agent
// sees none of it; a supervisor's "All open" lists a chat still waiting.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withServerAndBrowser, shot, agentSignsIn, agentGoesAvailable, openPage, visitorStartsChat,
  offerRings, acceptOffer,
} from './lib/harness.mjs';
import { startGateway } from './lib/gateway.mjs';

const suite = withServerAndBrowser(() => startGateway({
  agents: [
    { id: 'ana', name: 'Ana Lima', password: 'ana-password' },
    { id: 'ben', name: 'Ben Park', password: 'ben-password' },
    { id: 'sam', name: 'Sam Okafor', password: 'sam-password', role: 'supervisor' },
  ],
}));

const newPage = () => openPage(suite.browser, { width: 1280, height: 800 }, {});

async function chat(name, text) {
  const customer = await newPage();
  await visitorStartsChat(customer.page, suite.server.url, { name, text });
  return customer;
}

test('mine, closed in the last 7 days read-only, and all open for supervisors', async () => {
  const { server: gw } = suite;
  const agent = await newPage();
  await agentSignsIn(agent.page, gw.url, { user: 'ana' });
  const tabs = agent.page.locator('#inbox-views .inbox-tab');
  assert.deepEqual(await tabs.allTextContents(), ['Mine', 'Closed 7 days']);

  // Ana takes a chat, answers and closes it.
  await agentGoesAvailable(agent.page);
  await chat('Maria Svensson', 'Where is my parcel?');
  await acceptOffer(await offerRings(agent.page));
  await agent.page.locator('#conv-name', { hasText: 'Maria Svensson' }).waitFor();
  await agent.page.locator('#reply-text').fill('It left this morning.');
  await agent.page.keyboard.press('Enter');
  await agent.page.locator('.msg-agent .bubble', { hasText: 'It left this morning.' }).waitFor();
  await agent.page.locator('#open-close').click();
  await agent.page.locator('#close-dialog button[value="ok"]').click();

  // Closed 7 days lists it; opening it shows the transcript, no composer.
  await agent.page.locator('.inbox-tab[data-view="closed"]').click();
  const item = agent.page.locator('#inbox-list .conv-item').first();
  await item.waitFor();
  assert.match(await item.textContent(), /resolved/);
  await item.click();
  const read = agent.page.locator('#inbox-read');
  await read.locator('.msg-agent .bubble', { hasText: 'It left this morning.' }).waitFor();
  assert.equal(await read.locator('.msg-customer .bubble').first().textContent(), 'Where is my parcel?');
  assert.match(await read.locator('.inbox-readonly').textContent(), /new message from the customer starts a new conversation/);
  assert.equal(await read.locator('textarea, button[type="submit"]').count(), 0);
  assert.ok(!(await agent.page.locator('#composer').isVisible()), 'no composer in the read-only view');
  await shot(agent.page, 'inbox-closed-1280');
  // Back to Mine: the live list again.
  await agent.page.locator('.inbox-tab[data-view="mine"]').click();
  assert.ok(!(await agent.page.locator('#inbox-list').isVisible()));

  // Ben sees none of Ana's.
  const ben = await newPage();
  await agentSignsIn(ben.page, gw.url, { user: 'ben' });
  await ben.page.locator('.inbox-tab[data-view="closed"]').click();
  await ben.page.locator('#inbox-empty', { hasText: 'Nothing you closed' }).waitFor();
  assert.equal(await ben.page.locator('#inbox-list .conv-item').count(), 0);

  // Another chat comes in; the supervisor's All open lists it, whoever has it.
  await chat('Lena Berg', 'Hello?');
  const sup = await newPage();
  await agentSignsIn(sup.page, gw.url, { user: 'sam' });
  assert.deepEqual(await sup.page.locator('#inbox-views .inbox-tab').allTextContents(), ['Mine', 'Closed 7 days', 'All open']);
  await sup.page.locator('.inbox-tab[data-view="all"]').click();
  const waiting = sup.page.locator('#inbox-list .conv-item:not([data-state="closed"])');
  await waiting.first().waitFor();
  assert.equal(await sup.page.locator('#inbox-list .conv-item[data-state="closed"]').count(), 0);
  await waiting.first().click();
  await sup.page.locator('#inbox-read .msg-customer .bubble', { hasText: 'Hello?' }).waitFor();
  await shot(sup.page, 'inbox-all-open-1280');
});
