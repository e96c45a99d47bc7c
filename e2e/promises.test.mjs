// Follow-up promises through the whole product: one real gateway and
// redis-server. A customer chats from the demo page; the agent accepts,
// makes a promise from the console with a message to the customer and
// lets the conversation wait as pending; the customer sees the promise, with
// its due time, in the widget; the conversation leaves the agent's list and
// waits under Promises. When the customer writes again it comes back to
// the same agent as an offer; the agent marks the promise done (kept) and
// the customer panel's timeline shows it. The supervisors' promise board
// answers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withServerAndBrowser, shot, agentSignsIn, agentGoesAvailable, openPage, visitorStartsChat,
  offerRings, acceptOffer,
} from './lib/harness.mjs';
import { startGateway } from './lib/gateway.mjs';

const suite = withServerAndBrowser(() => startGateway({ agents: [
  { id: 'ana', name: 'Ana Lima', password: 'ana-password' },
  { id: 'sam', name: 'Sam Sup', password: 'sam-password', role: 'supervisor' },
] }));

const pad = (n) => String(n).padStart(2, '0');

test('an agent makes a promise in the console and the customer sees it in the widget', async () => {
  const { server: gw, browser } = suite;
  const agent = await openPage(browser, { width: 1280, height: 800 }, {});
  await agentSignsIn(agent.page, gw.url, { user: 'ana' });
  await agentGoesAvailable(agent.page);

  const customer = await openPage(browser, { width: 1280, height: 800 }, {});
  await visitorStartsChat(customer.page, gw.url, { name: 'Maria Svensson', text: 'Where is my refund?' });

  await acceptOffer(await offerRings(agent.page));
  await agent.page.locator('.msg-customer .bubble', { hasText: 'Where is my refund?' }).waitFor();

  // The promise: tomorrow 15:00 in the agent's (browser's) zone.
  const due = new Date(Date.now() + 24 * 3600 * 1000);
  due.setHours(15, 0, 0, 0);
  const local = `${due.getFullYear()}-${pad(due.getMonth() + 1)}-${pad(due.getDate())}T15:00`;
  await agent.page.locator('#open-promise').click();
  await agent.page.locator('#promise-what').fill('Call back about the refund');
  await agent.page.locator('#promise-due').fill(local);
  await agent.page.locator('#promise-message').fill("I'll call you back about your refund by {due}.");
  assert.equal(await agent.page.locator('#promise-pending').isChecked(), true);
  await shot(agent.page, 'promise-form');
  await agent.page.locator('#promise-submit').click();
  await agent.page.locator('#promise-dialog').waitFor({ state: 'hidden' });

  // The customer reads it, the time rendered (the workspace zone: UTC here).
  const told = customer.page.locator('.msg .bubble', { hasText: "I'll call you back about your refund by" });
  await told.waitFor({ timeout: 10_000 });
  const text = await told.textContent();
  const utc = due.toLocaleString('en-GB', { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hour12: false });
  assert.ok(!text.includes('{due}'), text);
  assert.match(text, new RegExp(`by \\w{3} ${due.getUTCDate()} \\w{3} ${pad(due.getUTCHours())}:00 UTC\\.$`), `${text} (want ${utc} UTC)`);
  await shot(customer.page, 'promise-widget');

  // Pending: out of the agent's list, under Promises.
  await agent.page.locator('#conv-list .conv-item').waitFor({ state: 'detached', timeout: 10_000 });
  const item = agent.page.locator('#promise-list .promise', { hasText: 'Call back about the refund' });
  await item.waitFor();
  assert.match(await item.textContent(), /pending/);
  await shot(agent.page, 'promise-pending-console');

  // The supervisors' board: Ana goes away and her promise shows at risk, live.
  const sup = await openPage(browser, { width: 1280, height: 900 }, {});
  await agentSignsIn(sup.page, gw.url, { user: 'sam' });
  await sup.page.goto(`${gw.url}/supervisor/`);
  await sup.page.locator('#plist-at_risk .sv-empty').waitFor();
  await agent.page.locator('#state-away').click();
  await agent.page.locator('#away-reason').selectOption('Lunch');
  await agent.page.locator('#away-form button[type="submit"]').click();
  await agent.page.locator('#state-away[aria-pressed="true"]').waitFor();
  const risk = sup.page.locator('#plist-at_risk .sv-promise', { hasText: 'Call back about the refund' });
  await risk.waitFor({ timeout: 10_000 });
  assert.match(await risk.textContent(), /ana \(away\)/);
  await risk.scrollIntoViewIfNeeded();
  await shot(sup.page, 'promise-supervisor-at-risk');
  await agentGoesAvailable(agent.page);
  await sup.page.locator('#plist-at_risk .sv-empty').waitFor({ timeout: 10_000 });

  // The customer writes before the due time: it comes back to Ana.
  const input = customer.page.locator('.composer textarea');
  await input.fill('Any news?');
  await input.press('Enter');
  const back = await offerRings(agent.page);
  assert.match(await back.textContent(), /Maria Svensson/);
  await acceptOffer(back);
  await agent.page.locator('.msg-customer .bubble', { hasText: 'Any news?' }).waitFor();

  // Done: kept on time; the timeline in the customer panel says so.
  await item.getByRole('button', { name: 'Done' }).click();
  await agent.page.locator('.toast', { hasText: 'Promise kept on time.' }).waitFor();
  await agent.page.locator('#promise-list .promise').waitFor({ state: 'detached' });
  if (await agent.page.locator('#customer').getAttribute('aria-hidden') === 'true' || await agent.page.locator('#app').getAttribute('data-customer') !== 'open') {
    await agent.page.locator('#toggle-customer').click();
  }
  const kept = agent.page.locator('#cust-timeline .tl-promise[data-state="kept"]', { hasText: 'Call back about the refund' });
  await kept.waitFor({ timeout: 10_000 });
  assert.equal(await agent.page.locator('#cust-timeline .tl-conversation').count(), 1);
  await shot(agent.page, 'promise-kept-timeline');
  assert.deepEqual(agent.errors, []);
  assert.deepEqual(customer.errors, []);
  assert.deepEqual(sup.errors, []);
});
