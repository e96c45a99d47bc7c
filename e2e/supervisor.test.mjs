// The supervisor view on the real product: two gateways sharing one real
// redis-server. A supervisor watches /supervisor/ on the first gateway; a
// customer chats from /demo on the second; the supervisor sees the customer
// waiting and the longest wait tick, then an agent (on the first gateway)
// accepts and the figures change — on both gateways' supervisor pages, the
// same. Also the stats history API as JSON and CSV, and the supervisor's
// live read of the conversation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withServerAndBrowser, shot, agentSignsIn, agentGoesAvailable, supervisorSignsIn, waitFor,
  openPage, visitorStartsChat, visitorFillsPrechat, offerRings, acceptOffer,
} from './lib/harness.mjs';
import { startGateway } from './lib/gateway.mjs';

const suite = withServerAndBrowser(() => startGateway({
  gateways: 2,
  agents: [
    { id: 'ana', name: 'Ana Lima', password: 'ana-password' },
    { id: 'ben', name: 'Ben Park', password: 'ben-password' },
    { id: 'sam', name: 'Sam Okafor', password: 'sam-password', role: 'supervisor' },
  ],
}));

/** newPage opens a page that collects its errors (see openPage). */
const newPage = (viewport) => openPage(suite.browser, viewport, {});

const kpi = (page, name) => page.locator(`.sv-queue[data-queue="support"] [data-kpi="${name}"]`).textContent();

test('a supervisor sees a customer wait, the wait tick, an agent accept and the numbers change', async () => {
  const { server: gw, browser } = suite;
  const sup = await newPage();
  await supervisorSignsIn(sup.page, gw.urls[0], { user: 'sam' });
  await sup.page.locator('.sv-queue[data-queue="support"]').waitFor();
  assert.equal(await kpi(sup.page, 'waiting'), '0');
  assert.equal(await kpi(sup.page, 'answered'), '0');

  // The same supervisor on the other gateway.
  const sup2 = await newPage();
  await sup2.context.addCookies(await sup.context.cookies());
  await sup2.page.goto(`${gw.urls[1]}/supervisor/`);
  await sup2.page.locator('#conn[data-state="online"]').waitFor();

  // The agent signs in (offline at first, so the customer waits).
  const agent = await newPage();
  await agentSignsIn(agent.page, gw.urls[0], { user: 'ana' });
  await sup.page.locator('#agent-rows tr[data-agent="ana"]').waitFor();

  // A customer writes from the demo page on the other gateway.
  const customer = await newPage();
  await visitorFillsPrechat(customer.page, gw.urls[1], { name: 'Maria Svensson', text: 'Where is my parcel? <b>now</b>' });
  // Nobody is available yet: the widget says so and asks for an email to
  // answer later; the message waits in the queue like any other.
  await customer.page.getByText('Nobody is available to chat right now').waitFor();
  await customer.page.locator('.prechat input[name="email"]').fill('maria@example.com');
  await customer.page.getByRole('button', { name: 'Leave a message' }).click();

  // It shows up as waiting within a second or so, on both gateways.
  const t0 = Date.now();
  await waitFor(async () => (await kpi(sup.page, 'waiting')) === '1', 'waiting = 1', 5000);
  const seenAfter = Date.now() - t0;
  await waitFor(async () => (await kpi(sup2.page, 'waiting')) === '1', 'waiting = 1 on gateway 2', 5000);

  // The longest wait ticks in the browser.
  const parse = (s) => {
    const m = /^(?:(\d+)m )?(\d+)s$/.exec(s.trim());
    return m ? Number(m[1] || 0) * 60 + Number(m[2]) : NaN;
  };
  const w1 = parse(await kpi(sup.page, 'longest'));
  await sup.page.waitForTimeout(2500);
  const w2 = parse(await kpi(sup.page, 'longest'));
  assert.ok(w2 >= w1 + 2 && w2 <= w1 + 3, `longest wait ticks: ${w1} then ${w2}`);
  await sup.page.locator('.sv-wait').first().waitFor();
  assert.equal(await sup.page.locator('.sv-wait .sv-wait-name').first().textContent(), 'Maria Svensson');
  await shot(sup.page, 'supervisor-waiting-1280');

  // The supervisor reads the conversation live; customer text stays text.
  await sup.page.locator('.sv-wait button', { hasText: 'Read' }).first().click();
  await sup.page.locator('#reader-transcript .msg-customer .bubble').first().waitFor();
  assert.equal(await sup.page.locator('#reader-transcript .msg-customer .bubble').first().textContent(),
    'Where is my parcel? <b>now</b>');
  assert.equal(await sup.page.locator('#reader-transcript b').count(), 0);
  await sup.page.locator('#note-text').fill('Priority customer, be quick');
  await sup.page.locator('#note-send').click();
  await sup.page.locator('#reader-transcript .msg-note .bubble', { hasText: 'Priority customer' }).waitFor();
  await shot(sup.page, 'supervisor-reader-1280');
  await sup.page.locator('#reader-close').click();

  // The agent goes available, gets the offer and accepts.
  await agentGoesAvailable(agent.page);
  const offer = await offerRings(agent.page);
  await acceptOffer(offer);
  await offer.waitFor({ state: 'detached' });
  await customer.page.getByText('Ana has joined').waitFor();

  // The numbers change: nobody waits, one answered, the agent carries it.
  await waitFor(async () => (await kpi(sup.page, 'answered')) === '1', 'answered = 1', 5000);
  assert.equal(await kpi(sup.page, 'waiting'), '0');
  assert.equal(await kpi(sup.page, 'longest'), '—');
  assert.notEqual(await kpi(sup.page, 'asa'), '—');
  const row = sup.page.locator('#agent-rows tr[data-agent="ana"]');
  await waitFor(async () => /Chat 1\/3/.test(await row.textContent()), 'ana carries one chat', 5000);
  assert.match(await row.locator('.sv-state').textContent(), /available/);
  assert.match(await sup.page.locator('.sv-queue[data-queue="support"] .sv-figures tbody').textContent(), /1 \/ 1/);
  assert.equal(await sup.page.locator('.sv-gauge-svg').count(), 1);
  assert.ok(await sup.page.locator('.sv-chart-svg rect.sv-bar').count() >= 1, 'a bar for the answered minute');
  await shot(sup.page, 'supervisor-answered-1280');

  // Both gateways show the same figures.
  await waitFor(async () => (await kpi(sup2.page, 'answered')) === '1', 'answered = 1 on gateway 2', 5000);
  const figures = (p) => p.locator('.sv-queue[data-queue="support"] .sv-figures tbody').textContent();
  assert.equal(await figures(sup2.page), await figures(sup.page));

  // The history API, as JSON and as CSV.
  const hist = await sup.page.evaluate(async () => {
    const j = await fetch('/api/v1/stats?interval=1m', { headers: { Accept: 'application/json' } }).then((r) => r.json());
    const c = await fetch('/api/v1/stats?interval=1h&format=csv').then((r) => r.text());
    return { j, c };
  });
  const answered = hist.j.rows.filter((r) => r.queue === 'support').reduce((n, r) => n + r.answered, 0);
  assert.equal(answered, 1);
  assert.match(hist.c.split('\n')[0], /^start,queue,channel,offered,/);
  assert.match(hist.c, /,support,chat,1,/);

  // An agent may not open the supervisor socket.
  const refused = await agent.page.evaluate(async () => (await fetch('/supervisor/ws')).status);
  assert.equal(refused, 403);

  // Actions. The supervisor sets Ana away; her console follows.
  await row.locator('button[data-set="away"]').click();
  await agent.page.locator('#state-away[aria-pressed="true"]').waitFor();
  await waitFor(async () => /away/i.test(await row.locator('.sv-state').textContent()), 'ana away on the board', 5000);

  // Ben comes online; a second customer is offered to him, he does not
  // answer, and the supervisor reassigns the conversation to Ana, whom
  // she sets available again.
  const ben = await newPage();
  await agentSignsIn(ben.page, gw.urls[1], { user: 'ben' });
  await agentGoesAvailable(ben.page);
  const customer2 = await newPage();
  // Who is online is told to widgets at most 2 s stale: let Ben count.
  await customer2.page.waitForTimeout(2500);
  await visitorStartsChat(customer2.page, gw.urls[1], { name: 'Jonas Berg', text: 'My invoice is wrong' });
  await offerRings(ben.page);
  const waitingRow = sup.page.locator('.sv-wait').first();
  await waitFor(async () => /offered to Ben Park/.test(await waitingRow.textContent()), 'offered to Ben on the board', 5000);
  await row.locator('button[data-set="available"]').click();
  await agent.page.locator('#state-available[aria-pressed="true"]').waitFor();
  await waitingRow.locator('select').selectOption('ana');
  await shot(sup.page, 'supervisor-reassign-1280');
  await waitingRow.getByRole('button', { name: 'Assign' }).click();
  const offer2 = await offerRings(agent.page, { timeout: 10_000 });
  assert.match(await offer2.textContent(), /Jonas Berg/);
  await ben.page.locator('.offer').first().waitFor({ state: 'detached', timeout: 10_000 });
  await acceptOffer(offer2);
  await waitFor(async () => (await kpi(sup.page, 'answered')) === '2', 'answered = 2', 5000);
  await waitFor(async () => /Chat 2\/3/.test(await row.textContent()), 'ana carries two chats', 5000);
  await shot(sup.page, 'supervisor-after-actions-1280');

  // With both agents away, a third customer waits; the supervisor closes
  // the chat as spam from the queue. It is counted as closed in queue,
  // not as an abandon: no customer left.
  await row.locator('button[data-set="away"]').click();
  const benRow = sup.page.locator('#agent-rows tr[data-agent="ben"]');
  await benRow.locator('button[data-set="away"]').click();
  await waitFor(async () => /away/i.test(await benRow.locator('.sv-state').textContent()), 'ben away on the board', 5000);
  const customer3 = await newPage();
  await customer3.page.waitForTimeout(2500); // who is online reaches widgets at most 2 s stale
  await visitorFillsPrechat(customer3.page, gw.urls[0], { name: 'Spam Bot', text: 'cheap watches' });
  await customer3.page.getByText('Nobody is available to chat right now').waitFor();
  await customer3.page.locator('.prechat input[name="email"]').fill('bot@example.com');
  await customer3.page.getByRole('button', { name: 'Leave a message' }).click();
  const spamRow = sup.page.locator('.sv-wait', { hasText: 'Spam Bot' });
  await spamRow.waitFor();
  const spamConv = await spamRow.getAttribute('data-conv');
  const closed = await sup.page.evaluate(async (id) => {
    const r = await fetch(`/api/v1/conversations/${id}/close`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': sessionStorage.getItem('sb.csrf') || '' },
      body: JSON.stringify({ disposition: 'spam' }),
    });
    return { status: r.status, body: await r.json() };
  }, spamConv);
  assert.equal(closed.status, 200, JSON.stringify(closed.body));
  assert.equal(closed.body.disposition, 'spam');
  const chatRow = sup.page.locator('.sv-queue[data-queue="support"] .sv-figures tr[data-channel="chat"]');
  await waitFor(async () => (await chatRow.locator('[data-cell="closed-in-queue"]').textContent()) === '1', 'closed in queue = 1', 5000);
  assert.equal(await chatRow.locator('td').nth(3).textContent(), '0 / 0', 'abandoned 15m / today');
  assert.equal(await kpi(sup.page, 'waiting'), '0');
  await sup.page.locator('.sv-queue[data-queue="support"]').scrollIntoViewIfNeeded();
  await shot(sup.page, 'supervisor-closed-in-queue-1280');

  assert.ok(seenAfter < 5000);
  console.log(`# waiting customer visible to the supervisor after ${seenAfter} ms`);
  assert.deepEqual(sup.errors, []);
  assert.deepEqual(sup2.errors, []);
  assert.deepEqual(agent.errors, []);
});
