// The name customers see: an agent whose account is named "Administrator"
// sets "Sam" in the console, and the customer in the chat widget is told
// "Sam has joined" and sees Sam's reply, never "Administrator".

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withServerAndBrowser, shot, agentSignsIn, agentGoesAvailable, openPage, visitorStartsChat,
  offerRings, acceptOffer,
} from './lib/harness.mjs';
import { startGateway } from './lib/gateway.mjs';

const suite = withServerAndBrowser(() => startGateway({ agents: [{ id: 'boss', name: 'Administrator', password: 'boss-password', role: 'admin' }] }));

test('customers see the name the agent chose, not the account name', async () => {
  const { server: gw, browser } = suite;
  const agent = await openPage(browser, { width: 1280, height: 800 });
  await agentSignsIn(agent.page, gw.url, { user: 'boss' });
  assert.equal(await agent.page.locator('#me-shown-name').textContent(), 'Administrator');
  await agent.page.locator('#me-shown').click();
  await agent.page.locator('#shown-name').fill('Sam');
  await agent.page.locator('#shown-form button[type="submit"]').click();
  await agent.page.locator('#shown-dialog').waitFor({ state: 'hidden' });
  assert.equal(await agent.page.locator('#me-shown-name').textContent(), 'Sam');
  await shot(agent.page, 'display-name-console');
  // A reload reads it back from the account.
  await agent.page.reload();
  await agent.page.locator('#conn[data-state="online"]').waitFor();
  assert.equal(await agent.page.locator('#me-shown-name').textContent(), 'Sam');
  await agentGoesAvailable(agent.page);

  const customer = await openPage(browser, { width: 1280, height: 800 });
  await visitorStartsChat(customer.page, gw.url, { name: 'Maria Svensson', text: 'Who am I talking to?' });
  await acceptOffer(await offerRings(agent.page));
  await customer.page.getByText('Sam has joined').waitFor();
  const box = agent.page.locator('#reply-text');
  await box.focus();
  await box.pressSequentially('Hi Maria, this is Sam.');
  await agent.page.keyboard.press('Enter');
  await customer.page.locator('.msg .bubble', { hasText: 'this is Sam.' }).waitFor();
  await shot(customer.page, 'display-name-widget');
  const widgetText = await customer.page.locator('body').innerText();
  assert.ok(!widgetText.includes('Administrator'), `the widget shows the account name: ${widgetText}`);
  assert.deepEqual(agent.errors, []);
});
