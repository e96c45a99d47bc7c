// The whole product in a real browser: two switchboard gateways sharing one
// real redis-server, the customer on one and the agent on the other, so
// every step crosses gateways. A customer chats from the demo page; an agent signs in at
// /agent/, goes available, gets the offer, accepts, replies and closes; the
// customer sees the reply and the close. Customer text with a script in it
// stays text on both sides.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, shot, login, openPage } from './lib/harness.mjs';
import { startGateway } from './lib/gateway.mjs';

const XSS = '<img src=x onerror=window.__xss=1>';
let gw;
let browser;

before(async () => {
  gw = await startGateway({ gateways: 2, agents: [{ id: 'ana', name: 'Ana Lima', password: 'ana-password' }] });
  browser = await launch();
});

after(async () => {
  if (process.env.SB_SHOW_LOGS) console.log(gw?.logs());
  await browser?.close();
  gw?.stop();
});

/** newPage opens a page that collects its errors (see openPage). */
const newPage = (viewport) => openPage(browser, viewport, {});

test('a customer chats from the demo page and an agent answers from the console', async () => {
  const agent = await newPage({ width: 1280, height: 800 });
  await login(agent.page, gw.url, 'ana', 'ana-password');
  assert.equal(await agent.page.locator('#me-name').textContent(), 'Ana Lima');
  await agent.page.locator('#state-available').click();
  await agent.page.locator('#state-available[aria-pressed="true"]').waitFor();

  // The customer opens the demo page and writes, with a script in the text.
  const customer = await newPage({ width: 1280, height: 800 });
  await customer.page.goto(`${gw.urls[1]}/demo`);
  await customer.page.locator('.launcher').click();
  await customer.page.locator('.prechat input[name="name"]').fill('Maria Svensson');
  await customer.page.locator('.prechat textarea').fill(`My parcel never arrived ${XSS}`);
  await customer.page.getByRole('button', { name: 'Start chat' }).click();
  await customer.page.locator('.msg.customer:not(.pending) .bubble', { hasText: 'My parcel never arrived' }).waitFor();

  // The offer rings on the console.
  const offer = agent.page.locator('.offer').first();
  await offer.waitFor({ timeout: 15_000 });
  assert.match(await offer.textContent(), /Maria Svensson/);
  await shot(agent.page, 'gateway-offer');
  await offer.getByRole('button', { name: /accept/i }).click();
  await offer.waitFor({ state: 'detached' });

  // The whole message, as text.
  const first = agent.page.locator('.msg-customer .bubble').first();
  await first.waitFor();
  assert.equal(await first.textContent(), `My parcel never arrived ${XSS}`);
  assert.equal(await agent.page.locator('#transcript img').count(), 0);
  assert.equal(await agent.page.evaluate(() => window.__xss), undefined);

  // The customer learns who joined.
  await customer.page.getByText('Ana has joined').waitFor();

  // The agent replies; the customer sees it and the console shows it sent.
  const box = agent.page.locator('#reply-text');
  await box.focus();
  await box.pressSequentially('Hi Maria, I am sorry. Let me look that up for you.');
  await agent.page.keyboard.press('Enter');
  await customer.page.locator('.msg .bubble', { hasText: 'Let me look that up for you.' }).waitFor();
  await agent.page.locator('.msg-agent .status[data-status="sent"], .msg-agent .status[data-status="delivered"]').first().waitFor();
  assert.equal(await customer.page.locator('.msg .bubble img').count(), 0);
  assert.equal(await customer.page.evaluate(() => window.__xss), undefined);
  await shot(agent.page, 'gateway-console-1280');
  await shot(customer.page, 'gateway-widget');

  // The console works on a tablet too.
  await agent.page.setViewportSize({ width: 768, height: 1024 });
  await shot(agent.page, 'gateway-console-768');
  await agent.page.setViewportSize({ width: 1280, height: 800 });

  // The agent closes; the customer's widget says the chat ended.
  await agent.page.locator('#open-close').click();
  await agent.page.locator('#close-disposition').selectOption('resolved');
  await agent.page.locator('#close-form button[type="submit"]').click();
  await customer.page.locator('.ended:not([hidden])').waitFor({ timeout: 10_000 });
  assert.match(await customer.page.locator('.ended-text').textContent(), /This chat has ended/);
  await shot(customer.page, 'gateway-widget-closed');

  assert.deepEqual(agent.errors, []);
  assert.deepEqual(customer.errors, []);
});
