// The agent console in a real browser, against the console's Go handler,
// a real realtime hub and the in-memory fake backend.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withServerAndBrowser, startFakeConsole, fake, shot, agentSignsIn, agentGoesAvailable, waitFor,
  openPage, acceptOffer,
} from './lib/harness.mjs';

const XSS = '<img src=x onerror=window.__xss=1>';
const suite = withServerAndBrowser(() => startFakeConsole());

/** newPage opens a page that collects its errors (see openPage). */
const newPage = (viewport) => openPage(suite.browser, viewport, { consoleErrors: true, keepSockets: true });

/**
 * unexpected drops the errors a console logs by design: the 401 of the
 * session check before signing in, a refused password, and a socket cut
 * on purpose.
 */
function unexpected(errors) {
  return errors.filter((e) => !/status of 401|WebSocket|favicon/.test(e));
}

test('an agent signs in, takes an offer, replies, notes, transfers and closes', async () => {
  const { server } = suite;
  const { context, page, errors } = await newPage({ width: 1280, height: 800 });
  const base = server.url;

  // A wrong password is refused on the form.
  await page.goto(`${base}/agent/`);
  await page.locator('#login-form').waitFor();
  await shot(page, 'login-1280');
  await page.locator('#login-id').fill('ana');
  await page.locator('#login-password').fill('nope');
  await page.locator('#login-submit').click();
  await page.getByText('Wrong account or password.').waitFor();

  await agentSignsIn(page, base);
  assert.equal(await page.locator('#me-name').textContent(), 'Ana Lima');
  await agentGoesAvailable(page);

  // A customer writes by SMS, with a script in the text: an offer rings.
  const { conv } = await fake(base, 'POST', '/_fake/inbound',
    { channel: 'sms', customer: 'Maria Svensson', text: `Hi, I was charged twice ${XSS}`, agent: 'ana' });
  const offer = page.locator(`.offer[data-conv="${conv}"]`);
  await offer.waitFor();
  assert.match(await offer.textContent(), /Maria Svensson/);
  assert.match(await offer.locator('.offer-left').textContent(), /^\d+s$/);
  assert.match(await page.title(), /Incoming offer/);
  assert.equal(await page.locator('html').getAttribute('data-ringing'), 'sound');
  await shot(page, 'offer-1280');

  // A accepts.
  await page.keyboard.press('a');
  await offer.waitFor({ state: 'detached' });
  assert.equal(await page.locator('html').getAttribute('data-ringing'), null);
  await page.locator('#conv-name', { hasText: 'Maria Svensson' }).waitFor();
  const first = page.locator('.msg-customer .bubble').first();
  await first.waitFor();
  assert.equal(await first.textContent(), `Hi, I was charged twice ${XSS}`);
  assert.equal(await page.locator('#transcript img, .offer img, #conv-list img').count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  await page.locator('.msg-system', { hasText: 'Ana Lima joined' }).waitFor();

  // The customer types; the indicator shows.
  await fake(base, 'POST', '/_fake/typing', { conv, on: true });
  await page.locator('#typing', { hasText: 'Maria Svensson is typing' }).waitFor();

  // Enter sends on the conversation's channel; Shift+Enter makes a new line.
  const box = page.locator('#reply-text');
  assert.equal(await page.locator('#send').textContent(), 'Send SMS');
  await box.focus();
  await box.pressSequentially('Sorry about that, Maria.');
  await page.keyboard.down('Shift');
  await page.keyboard.press('Enter');
  await page.keyboard.up('Shift');
  await box.pressSequentially('I am refunding the duplicate now.');
  await page.keyboard.press('Enter');
  const mine = page.locator('.msg-agent').last();
  await mine.locator('.status[data-status="delivered"]').waitFor();
  assert.equal(await mine.locator('.bubble').textContent(), 'Sorry about that, Maria.\nI am refunding the duplicate now.');
  assert.equal(await box.inputValue(), '');
  let state = await fake(base, 'GET', `/_fake/conv/${conv}`);
  assert.ok(state.messages.some((m) => m.kind === 'agent' && m.text.startsWith('Sorry about that, Maria.\n')));

  // "/" searches canned replies; Enter picks one.
  await box.pressSequentially('/refu');
  await page.locator('#canned .canned-item', { hasText: 'Refund on its way' }).waitFor();
  await shot(page, 'canned-1280');
  await page.keyboard.press('Enter');
  assert.match(await box.inputValue(), /issued the refund/);
  await page.keyboard.press('Enter');
  await page.locator('.msg-agent .bubble', { hasText: 'issued the refund' }).waitFor();

  // A failed delivery shows its reason.
  await box.pressSequentially('Test message #fail');
  await page.keyboard.press('Enter');
  await page.locator('.msg-agent .status[data-status="failed"]').waitFor();
  await page.locator('.msg-error', { hasText: 'carrier rejected' }).waitFor();

  // A lone "/" left in the reply box lists the canned replies again after a
  // visit to the note tab and back, without another key.
  await box.pressSequentially('/');
  await page.locator('#canned .canned-item').first().waitFor();
  await page.locator('#mode-note').click();
  await page.locator('#mode-reply').click();
  assert.equal(await box.inputValue(), '/');
  await page.waitForTimeout(400); // past the list's close-on-blur delay
  assert.ok(await page.locator('#canned .canned-item').count() > 0, 'no canned replies listed after note and back');
  assert.equal(await page.locator('#canned').isVisible(), true);
  await shot(page, 'canned-after-note-tab');
  await box.fill('');

  // An internal note.
  await page.locator('#mode-note').click();
  await box.pressSequentially('Refund ref R-1042, check tomorrow.');
  await page.keyboard.press('Enter');
  await page.locator('.msg-note .bubble', { hasText: 'R-1042' }).waitFor();
  state = await fake(base, 'GET', `/_fake/conv/${conv}`);
  assert.ok(state.messages.some((m) => m.kind === 'note' && m.text.includes('R-1042')));
  await page.locator('#mode-reply').click();

  // The customer panel: tags and earlier conversations on other channels.
  await page.locator('#cust-tags .tag', { hasText: 'vip' }).waitFor();
  assert.equal(await page.locator('#cust-history .past').count(), 2);
  assert.match(await page.locator('#cust-history').textContent(), /Invoice sent twice/);

  // A second offer, declined with D.
  const { conv: declined } = await fake(base, 'POST', '/_fake/inbound',
    { channel: 'email', customer: 'Jonas Berg', text: 'Where is my order?', agent: 'ana' });
  await page.locator(`.offer[data-conv="${declined}"]`).waitFor();
  await box.blur();
  await page.keyboard.press('d');
  await page.locator(`.offer[data-conv="${declined}"]`).waitFor({ state: 'detached' });

  // A third, from web chat, accepted with the button.
  const { conv: tom } = await fake(base, 'POST', '/_fake/inbound',
    { channel: 'chat', customer: 'Tom Chen', text: 'Can I change my plan?', agent: 'ana' });
  await acceptOffer(page.locator(`.offer[data-conv="${tom}"]`));
  await page.locator('#conv-name', { hasText: 'Tom Chen' }).waitFor();
  assert.equal(await page.locator('.conv-item').count(), 2);

  // Maria writes while Tom is in view: her unread count rises.
  await fake(base, 'POST', '/_fake/inbound', { channel: 'sms', customer: 'Maria Svensson', text: 'Thanks! And the other invoice?' });
  await page.locator(`.conv-item[data-conv="${conv}"] .unread`, { hasText: '1' }).waitFor();

  // J/K and Alt+Down move between conversations.
  await page.locator('#reply-text').blur();
  await page.keyboard.press('k');
  await page.locator('#conv-name', { hasText: 'Maria Svensson' }).waitFor();
  assert.equal(await page.locator(`.conv-item[data-conv="${conv}"] .unread`).count(), 0);
  await page.keyboard.press('j');
  await page.locator('#conv-name', { hasText: 'Tom Chen' }).waitFor();
  await shot(page, 'keyboard-focus-1280');
  await page.locator('#reply-text').focus();
  await page.keyboard.press('Alt+ArrowDown');
  await page.locator('#conv-name', { hasText: 'Maria Svensson' }).waitFor();
  await shot(page, 'console-1280');

  // Transfer Tom to the billing queue.
  await page.locator(`.conv-item[data-conv="${tom}"]`).click();
  await page.locator('#open-transfer').click();
  await page.locator('#transfer-queue').selectOption('billing');
  await page.locator('#transfer-form button[type="submit"]').click();
  await page.locator(`.conv-item[data-conv="${tom}"]`).waitFor({ state: 'detached' });

  // Close Maria's conversation with a disposition.
  await page.locator('#conv-name', { hasText: 'Maria Svensson' }).waitFor();
  await page.locator('#open-close').click();
  await page.locator('#close-disposition').selectOption('follow_up');
  await shot(page, 'close-dialog-1280');
  await page.locator('#close-form button[type="submit"]').click();
  await page.locator('#empty-state').waitFor();
  state = await fake(base, 'GET', `/_fake/conv/${conv}`);
  assert.equal(state.state, 'closed');
  assert.equal(state.disposition, 'follow_up');
  assert.equal(await page.evaluate(() => window.__xss), undefined);

  // Away with a reason, then back.
  await page.locator('#state-away').click();
  await page.locator('#away-reason').selectOption('Lunch');
  await page.locator('#away-form button[type="submit"]').click();
  await page.locator('#state-away[aria-pressed="true"]', { hasText: 'Away · Lunch' }).waitFor();
  await agentGoesAvailable(page);

  assert.deepEqual(unexpected(errors), []);
  await context.close();
});

test('a dropped connection resumes without losing or doubling messages', async () => {
  const { server } = suite;
  const { context, page, errors } = await newPage({ width: 1280, height: 800 });
  const base = server.url;
  await agentSignsIn(page, base, { user: 'ben' });
  await agentGoesAvailable(page);
  const { conv } = await fake(base, 'POST', '/_fake/inbound', { channel: 'chat', customer: 'Lea Park', text: 'hello?', agent: 'ben' });
  await acceptOffer(page.locator(`.offer[data-conv="${conv}"]`));
  await page.locator('.msg-customer .bubble', { hasText: 'hello?' }).waitFor();

  // Cut the line, let the customer write meanwhile, and wait for the
  // console to come back on its own.
  await page.evaluate(() => window.__sockets.at(-1).close());
  await page.locator('#conn:not([data-state="online"])').waitFor();
  for (const text of ['one', 'two', 'three']) {
    await fake(base, 'POST', '/_fake/inbound', { channel: 'chat', customer: 'Lea Park', text });
  }
  await page.locator('#conn[data-state="online"]').waitFor({ timeout: 20_000 });
  await page.locator('.msg-customer .bubble', { hasText: 'three' }).waitFor();
  const texts = await page.locator('.msg-customer .bubble').allTextContents();
  assert.deepEqual(texts, ['hello?', 'one', 'two', 'three']);

  // Live messages still arrive after the resume, once.
  await fake(base, 'POST', '/_fake/inbound', { channel: 'chat', customer: 'Lea Park', text: 'four' });
  await waitFor(async () => (await page.locator('.msg-customer .bubble').count()) === 5, 'message four');
  assert.deepEqual(await page.locator('.msg-customer .bubble').allTextContents(), ['hello?', 'one', 'two', 'three', 'four']);

  // A reload keeps the session and the conversation.
  await page.reload();
  await page.locator('#conn[data-state="online"]').waitFor();
  await page.locator('.msg-customer .bubble', { hasText: 'four' }).waitFor();
  assert.equal(await page.locator('.msg-customer .bubble').count(), 5);

  // Signing out ends the session: the login form comes back.
  await page.locator('#logout').click();
  await page.locator('#login-form').waitFor();
  await page.reload();
  await page.locator('#login-form').waitFor();
  assert.deepEqual(unexpected(errors), []);
  await context.close();
});

test('the console works on a 768-px-wide tablet', async () => {
  const { server } = suite;
  const { context, page, errors } = await newPage({ width: 768, height: 1024 });
  const base = server.url;
  await agentSignsIn(page, base, { user: 'ana' });
  await agentGoesAvailable(page);
  const { conv } = await fake(base, 'POST', '/_fake/inbound',
    // SMS: the fake backend does not serve the email channel's mail view
    // (email.test.mjs covers that console with the real channel).
    { channel: 'sms', customer: 'Maria Svensson', text: `About my invoice: ${XSS} https://pay.example/inv/7?x=1.\n\nThanks, Maria`, agent: 'ana' });
  await page.locator(`.offer[data-conv="${conv}"]`).waitFor();
  await shot(page, 'offer-768');
  await acceptOffer(page.locator(`.offer[data-conv="${conv}"]`));
  await page.locator('#conv-name', { hasText: 'Maria Svensson' }).waitFor();

  // Nothing overflows the viewport sideways.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the viewport`);
  // The customer panel is a drawer here: closed until asked for.
  assert.equal(await page.locator('#customer').isVisible(), false);
  await page.locator('#reply-text').pressSequentially('Hello Maria, I am on it.');
  await page.keyboard.press('Enter');
  await page.locator('.msg-agent .status[data-status="delivered"]').waitFor();
  await shot(page, 'console-768');
  // The customer's link is a link, checked and opening elsewhere.
  const link = page.locator('.msg-customer .bubble a');
  assert.equal(await link.count(), 1);
  assert.equal(await link.getAttribute('href'), 'https://pay.example/inv/7?x=1');
  assert.equal(await link.getAttribute('target'), '_blank');
  assert.match(await link.getAttribute('rel'), /noopener/);
  await page.locator('#toggle-customer').click();
  await page.locator('#cust-tags .tag', { hasText: 'vip' }).waitFor();
  // The open panel covers neither the transcript nor the Close button.
  const panel = await page.locator('#customer').boundingBox();
  const transcript = await page.locator('#transcript').boundingBox();
  assert.ok(transcript.x + transcript.width <= panel.x + 1, `transcript ends at ${transcript.x + transcript.width}, panel starts at ${panel.x}`);
  const closeOnTop = await page.evaluate(() => {
    const b = document.getElementById('open-close').getBoundingClientRect();
    return document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2)?.id === 'open-close';
  });
  assert.ok(closeOnTop, 'the Close button is covered');
  await shot(page, 'customer-768');
  await page.locator('#close-customer').click();
  assert.equal(await page.locator('#customer').isVisible(), false);

  // The customer leaves: replies stop, a note and the close still work.
  await fake(base, 'POST', '/_fake/leave', { conv });
  await page.locator('#conv-closed').waitFor();
  assert.equal(await page.locator('#send').isDisabled(), true);
  await page.locator(`.conv-item[data-conv="${conv}"]`, { hasText: 'Customer left' }).waitFor();
  await page.locator('#open-close').click();
  await page.locator('#close-form button[type="submit"]').click();
  await page.locator('#empty-state').waitFor();
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.deepEqual(unexpected(errors), []);
  await context.close();
});
