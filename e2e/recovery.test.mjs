// Thank-you, one question and service recovery on the real product: a
// customer chats from /demo; the agent closes the chat as resolved; the
// widget asks "How did we do?" with five buttons; the customer rates 1
// with a comment; the supervisor sees the recovery alert live; the same
// customer's next chat rings the agent with the recovery note and the
// console shows the banner, where the agent records what was done.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withServerAndBrowser, shot, agentSignsIn, agentGoesAvailable, supervisorSignsIn, openPage,
  visitorStartsChat, offerRings, acceptOffer, agentClosesConversation,
} from './lib/harness.mjs';
import { startGateway } from './lib/gateway.mjs';

const suite = withServerAndBrowser(() => startGateway({
  agents: [
    { id: 'ana', name: 'Ana Lima', password: 'ana-password' },
    { id: 'sam', name: 'Sam Okafor', password: 'sam-password', role: 'supervisor' },
  ],
}));

const newPage = (viewport) => openPage(suite.browser, viewport, {});

test('a 1/5 rating in the widget alerts the supervisor and the next chat shows the banner', async () => {
  const { server: gw } = suite;
  const sup = await newPage({ width: 1280, height: 900 });
  await supervisorSignsIn(sup.page, gw.url, { user: 'sam' });

  const agent = await newPage({ width: 1280, height: 800 });
  await agentSignsIn(agent.page, gw.url, { user: 'ana' });
  await agentGoesAvailable(agent.page);

  // Maria chats; Ana accepts, answers and closes it as resolved.
  const customer = await newPage({ width: 1280, height: 800 });
  await visitorStartsChat(customer.page, gw.url, { name: 'Maria Svensson', text: 'My parcel never arrived' });
  const offer = await offerRings(agent.page);
  assert.equal(await offer.locator('.offer-recovery').count(), 0, 'a first contact is no recovery');
  await acceptOffer(offer);
  await customer.page.getByText('Ana has joined').waitFor();
  await agent.page.locator('#reply-text').fill('It is on its way again.');
  await agent.page.keyboard.press('Enter');
  await customer.page.locator('.msg .bubble', { hasText: 'It is on its way again.' }).waitFor();
  await agentClosesConversation(agent.page, 'resolved');

  // The widget thanks and asks; she rates 1 with a comment.
  const survey = customer.page.locator('.survey:not([hidden])');
  await survey.waitFor({ timeout: 10_000 });
  assert.equal(await survey.locator('.survey-q').textContent(), 'Thanks for chatting with Ana. How did we do?');
  assert.equal(await survey.locator('button.score').count(), 5);
  await shot(customer.page, 'recovery-widget-survey');
  // She reloads the page before answering: the widget opens on the closed
  // chat and asks again.
  // The panel she had open opens again by itself, once the widget has
  // mounted (after its availability check): a click on the launcher
  // before then would close it.
  await customer.page.reload();
  const launcher = customer.page.locator('.launcher');
  await launcher.waitFor();
  assert.equal(await launcher.getAttribute('aria-expanded'), 'true', 'the open panel is restored after a reload');
  await survey.waitFor({ timeout: 10_000 });
  assert.equal(await survey.locator('.survey-q').textContent(), 'Thanks for chatting with Ana. How did we do?');
  await shot(customer.page, 'recovery-widget-survey-after-reload');
  await survey.getByRole('button', { name: '1 out of 5' }).click();
  await survey.locator('textarea').fill('slow answer');
  await survey.getByRole('button', { name: 'Send rating' }).click();
  await customer.page.locator('.survey-thanks', { hasText: 'you rated us 1 out of 5' }).waitFor();
  await shot(customer.page, 'recovery-widget-rated');

  // The supervisor sees the alert live, and the figures.
  const alert = sup.page.locator('#recovery-alerts .sv-alert');
  await alert.waitFor({ timeout: 10_000 });
  assert.match(await alert.textContent(), /Customer rated 1\/5 on chat \(agent ana\): slow answer/);
  // Today: one survey sent, one rating, none of them 4 or 5.
  const all = sup.page.locator('#csat-rows tr[data-dim="all"] td');
  await sup.page.waitForFunction(() => {
    const td = [...document.querySelectorAll('#csat-rows tr[data-dim="all"] td')].map((x) => x.textContent);
    return td.join('|') === 'All|Everything|0%|100%|1|1';
  }, null, { timeout: 10_000 });
  assert.equal(await all.count(), 6);
  await shot(sup.page, 'recovery-supervisor-alert');

  // Her next chat rings Ana with the recovery note and shows the banner.
  await customer.page.getByRole('button', { name: 'Start a new chat' }).click();
  await customer.page.locator('.prechat textarea').fill('Still nothing, sorry to bother you again');
  await customer.page.getByRole('button', { name: 'Start chat' }).click();
  const next = await offerRings(agent.page);
  assert.match(await next.locator('.offer-recovery').textContent(), /Service recovery: rated 1\/5 on .* — slow answer/);
  await acceptOffer(next);
  await agent.page.locator('.conv-item', { hasText: 'Maria Svensson' }).first().click();
  const banner = agent.page.locator('#recovery-banner:not([hidden])');
  await banner.waitFor();
  assert.match(await banner.locator('#recovery-text').textContent(), /^rated 1\/5 on \d{1,2} [A-Z][a-z]{2} — slow answer$/);
  await agent.page.locator('#recovery-note').fill('Apologised and sent a replacement by express');
  await agent.page.locator('#recovery-form button[type="submit"]').click();
  await agent.page.locator('#recovery-done', { hasText: 'Apologised and sent a replacement by express' }).waitFor();
  await shot(agent.page, 'recovery-console-banner');

  assert.deepEqual(agent.errors, []);
  assert.deepEqual(customer.errors, []);
  assert.deepEqual(sup.errors, []);
});
