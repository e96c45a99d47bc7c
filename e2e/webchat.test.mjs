// The web chat widget in a real browser: the demo page served by the
// channel's Go handler on a real realtime hub over a real redis-server, with
// the channel's fake backend playing conversations, routing and the agent
// (go test -run TestServeDemo ./channels/webchat/).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  withServerAndBrowser, shot, waitFor, serveGoTest, openPage, visitorStartsChat,
} from './lib/harness.mjs';

const XSS = '<img src=x onerror=window.__xss=1>';
const LIMIT = 500; // MaxMessageLength of the demo server
const suite = withServerAndBrowser(() => startDemo());

/** startDemo runs the channel's demo server and resolves with its URL. */
async function startDemo() {
  const { match, stop, logs } = await serveGoTest('./channels/webchat/', 'TestServeDemo',
    { WEBCHAT_DEMO_ADDR: '127.0.0.1:0', WEBCHAT_DEMO_SECONDS: '900' }, /LISTENING (http:\/\/\S+)/);
  return { url: match[1], stop, logs };
}

/** agent plays the agent (and routing) through the fake's control API. */
async function agent(action, body) {
  const res = await fetch(`${suite.server.url}/_fake/${action}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${action}: ${res.status} ${await res.text()}`);
}

async function backend() {
  const res = await fetch(`${suite.server.url}/_fake/state`);
  return res.json();
}

/** newPage opens a page that collects its errors (see openPage). */
const newPage = (viewport) => openPage(suite.browser, viewport, { consoleErrors: true, keepSockets: true });

/** bubbles returns the texts of the widget's message bubbles. */
const bubbles = (page) => page.locator('.msg .bubble').allTextContents();
const count = (list, text) => list.filter((t) => t === text).length;

test('a visitor chats from the demo page: queue, agent, typing, XSS as text, reconnect, return, limit, end', async () => {
  const { server } = suite;
  const { context, page, errors } = await newPage({ width: 1280, height: 800 });
  await page.goto(`${server.url}/demo`);
  const launcher = page.locator('.launcher');
  await launcher.waitFor();
  await shot(page, 'webchat-1-demo');

  // The launcher opens the panel on the pre-chat form.
  await launcher.click();
  await page.locator('.panel').waitFor();
  assert.equal(await launcher.getAttribute('aria-expanded'), 'true');
  await page.locator('.prechat input[name="name"]').fill('Wile E. Coyote');
  await page.locator('.prechat input[name="email"]').fill('wile@example.com');
  await page.locator('.prechat textarea').fill('Where is my anvil?');
  await shot(page, 'webchat-2-prechat');
  await page.getByRole('button', { name: 'Start chat' }).click();

  // The message shows, is acknowledged, and the place in line appears.
  await page.locator('.msg.customer:not(.pending) .bubble', { hasText: 'Where is my anvil?' }).waitFor();
  const banner = page.locator('.banner');
  await banner.getByText("You're 2nd in line \u2014 about 3\u20135 min").waitFor();
  await shot(page, 'webchat-3-waiting');
  const state = await backend();
  assert.equal(state.conversations.length, 1);
  const conv = state.conversations[0].id;

  // Moving up in line shows at once.
  await agent('position', { conv, position: 1 });
  await banner.getByText("You're next in line \u2014 about 3\u20135 min").waitFor();
  // Without an estimate, the widget says so rather than guess.
  await agent('position', { conv, position: 1, no_estimate: true });
  await banner.getByText("We can't estimate the wait right now").waitFor();
  assert.equal((await banner.textContent()).includes('about'), false);
  await shot(page, 'webchat-3b-no-estimate');

  // The agent joins, types and replies.
  await agent('accept', { conv, agent: 'Ana' });
  await page.getByText('Ana has joined').waitFor();
  assert.equal(await banner.isHidden(), true);
  await agent('typing', { conv, agent: 'Ana', typing: true });
  await page.getByText('Ana is typing\u2026').waitFor();
  await agent('reply', { conv, agent: 'Ana', text: "Hi Wile! It's on its way \u2014 tracking says Tuesday." });
  await page.locator('.msg.agent .bubble', { hasText: "It's on its way" }).waitFor();
  assert.equal(await page.getByText('Ana is typing\u2026').count(), 0);

  // The customer typing reaches the agent's side.
  const input = page.locator('.composer textarea');
  await input.pressSequentially('Thanks');
  await waitFor(async () => (await backend()).typing?.includes(true), 'customer typing passed on');

  // A script in the customer's text is shown as text and runs nothing.
  await input.fill(XSS);
  await input.press('Enter');
  await page.locator('.msg.customer:not(.pending) .bubble', { hasText: XSS }).waitFor();
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.equal(await page.evaluate(() => document.querySelector('#switchboard-chat').shadowRoot.querySelectorAll('img').length), 0);
  assert.equal(await page.evaluate(() => document.querySelectorAll('img').length), 0);
  await shot(page, 'webchat-4-chatting');

  // The line drops; a message written meanwhile and a reply sent meanwhile
  // both arrive once after the widget reconnects and resumes.
  await page.evaluate(() => window.__sockets.forEach((s) => s.close()));
  await input.fill('Are you still there?');
  await input.press('Enter');
  await agent('reply', { conv, agent: 'Ana', text: 'Sent while you were away' });
  await page.locator('.msg.agent .bubble', { hasText: 'Sent while you were away' }).waitFor();
  await page.locator('.msg.customer:not(.pending) .bubble', { hasText: 'Are you still there?' }).waitFor();
  await waitFor(async () => (await page.evaluate(() => window.__sockets.length)) >= 2, 'a second socket');
  // Give duplicates a chance to show up before counting.
  await page.waitForTimeout(500);
  let texts = await bubbles(page);
  for (const t of ['Where is my anvil?', XSS, 'Are you still there?', 'Sent while you were away']) {
    assert.equal(count(texts, t), 1, `"${t}" shown ${count(texts, t)} times: ${JSON.stringify(texts)}`);
  }
  const stored = (await backend()).conversations[0].messages.filter((m) => m.From === 'customer').map((m) => m.Text);
  assert.deepEqual(stored, ['Where is my anvil?', XSS, 'Are you still there?']);

  // A reload mid-conversation keeps the panel open (no click needed) and
  // the open conversation on screen.
  await page.reload();
  await page.locator('.panel').waitFor();
  assert.equal(await page.locator('.launcher').getAttribute('aria-expanded'), 'true');
  await page.locator('.msg.agent .bubble', { hasText: 'Sent while you were away' }).waitFor();
  await page.getByText('Ana has joined').waitFor();
  texts = await bubbles(page);
  // The two written while the line was down may come in either order.
  assert.deepEqual([...texts].sort(), ['Where is my anvil?', "Hi Wile! It's on its way \u2014 tracking says Tuesday.", XSS,
    'Are you still there?', 'Sent while you were away'].sort());
  assert.equal((await backend()).conversations.length, 1, 'the returning visitor opened a second conversation');

  // Over the limit: refused in the widget with the reason, nothing stored.
  await input.fill('x'.repeat(LIMIT + 1));
  await page.getByText(`Too long: ${LIMIT + 1} of ${LIMIT} characters.`).waitFor();
  await page.getByRole('button', { name: 'Send' }).click();
  await page.getByText(`Your message is ${LIMIT + 1} characters; the limit is ${LIMIT}. Please shorten it.`).waitFor();
  await shot(page, 'webchat-5-too-long');
  assert.equal((await backend()).inbound, 3);

  // The customer ends the chat; it says so and offers a new one.
  await input.fill('');
  await page.getByRole('button', { name: 'End chat' }).first().click();
  await page.locator('.confirm').getByRole('button', { name: 'End chat' }).click();
  await page.getByText('You ended the chat.').waitFor();
  await page.getByRole('button', { name: 'Start a new chat' }).waitFor();
  assert.equal((await backend()).conversations[0].state, 'closed');
  await shot(page, 'webchat-6-ended');

  assert.deepEqual(errors.filter((e) => !/WebSocket/.test(e)), []);
  await context.close();
});

test('on a phone-sized screen, an agent closing the chat is shown', async () => {
  const { server } = suite;
  const { context, page, errors } = await newPage({ width: 390, height: 844 });
  await visitorStartsChat(page, server.url, { text: 'Do you ship to Arizona?' });
  await page.locator('.msg.customer:not(.pending) .bubble', { hasText: 'Do you ship to Arizona?' }).waitFor();
  const state = await backend();
  const conv = state.conversations.at(-1).id;
  await agent('accept', { conv, agent: 'Ana' });
  await agent('reply', { conv, agent: 'Ana', text: 'We do, to every canyon.' });
  await page.locator('.msg.agent .bubble', { hasText: 'every canyon' }).waitFor();
  await shot(page, 'webchat-7-phone');
  await agent('close', { conv });
  await page.getByText('This chat has ended.').first().waitFor();
  assert.equal(await page.locator('.composer').isHidden(), true);
  // Said once, not also as a line in the transcript.
  await page.waitForTimeout(300);
  assert.equal(await page.getByText('This chat has ended.').count(), 1);
  await shot(page, 'webchat-8-phone-closed');
  assert.deepEqual(errors.filter((e) => !/WebSocket/.test(e)), []);
  await context.close();
});

/** widgetText is what the widget's panel says, for asserting honest texts. */
const panelText = (page) => page.locator('.panel').innerText();

test('with nobody online, or outside business hours, the widget says so and takes a message and an email', async () => {
  const { server } = suite;
  await agent('availability', { availability: 'away' });
  const { context, page, errors } = await newPage({ width: 1280, height: 800 });
  try {
    await page.goto(`${server.url}/demo`);
    await page.locator('.launcher').click();
    await page.getByText('Nobody is available to chat right now').waitFor();
    assert.equal((await panelText(page)).includes('minutes'), false, 'promises minutes with nobody online');
    assert.equal(await page.locator('.header .status').textContent(), 'Nobody is available right now');
    await shot(page, 'webchat-9-away-form');
    // The email is required: the answer must reach the customer later.
    await page.locator('.prechat textarea').fill('My anvil arrived cracked.');
    await page.getByRole('button', { name: 'Leave a message' }).click();
    await page.getByText('Please give an email address so we can answer you.').waitFor();
    await page.locator('.prechat input[name="name"]').fill('Road Runner');
    await page.locator('.prechat input[name="email"]').fill('beep@example.com');
    await page.getByRole('button', { name: 'Leave a message' }).click();
    await page.locator('.msg.customer:not(.pending) .bubble', { hasText: 'My anvil arrived cracked.' }).waitFor();
    await page.getByText('Thanks \u2014 your message is with the team.').waitFor();
    await page.getByText('A person will answer at beep@example.com, and here if you come back.').waitFor();
    // A queue refresh does not replace the honest banner with a place in line.
    const conv = (await backend()).conversations.at(-1).id;
    await agent('position', { conv, position: 1 });
    await page.waitForTimeout(300);
    assert.equal(await page.getByText('Thanks \u2014 your message is with the team.').count(), 1);
    await shot(page, 'webchat-10-message-left');
    // It is a conversation like any other, with the email for the agent.
    const st = await backend();
    assert.equal(st.conversations.at(-1).messages[0].Text, 'My anvil arrived cracked.');
    // Answered later: the agent's reply shows when the customer is back.
    await agent('accept', { conv, agent: 'Ana' });
    await agent('reply', { conv, agent: 'Ana', text: 'So sorry! A new one ships today.' });
    await page.locator('.msg.agent .bubble', { hasText: 'A new one ships today.' }).waitFor();
    await agent('close', { conv });
    await page.getByRole('button', { name: 'Start a new chat' }).waitFor();

    // Outside business hours it says when they open.
    await agent('availability', { availability: 'closed', opens: 'tomorrow at 09:00 PST' });
    await page.getByRole('button', { name: 'Start a new chat' }).click();
    await page.getByText('We\u2019re closed right now and open tomorrow at 09:00 PST.').waitFor();
    assert.equal(await page.locator('.header .status').textContent(), 'Closed \u2014 we open tomorrow at 09:00 PST');
    await shot(page, 'webchat-11-closed-form');
    assert.deepEqual(errors.filter((e) => !/WebSocket/.test(e)), []);
  } finally {
    await agent('availability', { availability: 'open' });
    await context.close();
  }
});

test('a declined offer is explained; unread replies show a count and a preview; links open safely', async () => {
  const { server } = suite;
  const { context, page, errors } = await newPage({ width: 1280, height: 800 });
  await page.goto(`${server.url}/demo`);
  await page.locator('.launcher').click();
  assert.equal(await page.locator('.header .status').textContent(), 'We\u2019re online');
  await page.locator('.prechat textarea').fill('Track my order? see https://shop.example/orders/42. javascript:alert(1)');
  await page.getByRole('button', { name: 'Start chat' }).click();
  await page.locator('.msg.customer:not(.pending) .bubble', { hasText: 'Track my order?' }).waitFor();
  const conv = (await backend()).conversations.at(-1).id;

  // The only agent declines: the customer hears it, and that they keep their place.
  await agent('position', { conv, position: 1 });
  await agent('availability', { availability: 'away' });
  await agent('decline', { conv });
  await page.getByText('The person who was about to answer couldn\u2019t take your chat.').waitFor();
  await page.getByText('nobody else is available right now').waitFor();
  // A later refresh of the place in line keeps the explanation.
  await page.waitForTimeout(1500);
  assert.equal(await page.getByText('couldn\u2019t take your chat').count(), 1);
  await shot(page, 'webchat-12-declined');
  await agent('availability', { availability: 'open' });

  // The customer's own link is a link; the javascript: text is not.
  const own = page.locator('.msg.customer .bubble a');
  assert.equal(await own.count(), 1);
  assert.equal(await own.getAttribute('href'), 'https://shop.example/orders/42');
  assert.equal(await own.textContent(), 'https://shop.example/orders/42');
  assert.match(await own.getAttribute('rel'), /noopener/);

  // Minimized, two agent replies raise a count and preview the newest.
  await agent('accept', { conv, agent: 'Ana' });
  await page.getByRole('button', { name: 'Minimize chat' }).click();
  await agent('reply', { conv, agent: 'Ana', text: 'Found it.' });
  await agent('reply', { conv, agent: 'Ana', text: 'Tracking: https://carrier.example/t?id=9 <b>soon</b>' });
  await page.locator('.launcher .badge', { hasText: '2' }).waitFor();
  await page.locator('.preview', { hasText: 'Tracking: https://carrier.example/t?id=9 <b>soon</b>' }).waitFor();
  assert.match(await page.locator('.preview').textContent(), /Ana · 2 new/);
  assert.equal(await page.locator('.launcher').getAttribute('aria-label'), 'Chat with us \u2014 2 unread');
  await shot(page, 'webchat-13-unread-preview');
  await page.locator('.preview').click();
  await page.locator('.panel').waitFor();
  assert.equal(await page.locator('.launcher .badge').isHidden(), true);
  assert.equal(await page.locator('.preview').isHidden(), true);
  const link = page.locator('.msg.agent .bubble a');
  assert.equal(await link.getAttribute('href'), 'https://carrier.example/t?id=9');
  assert.equal(await link.getAttribute('target'), '_blank');
  assert.equal(await page.locator('.msg.agent .bubble b').count(), 0);
  await shot(page, 'webchat-14-links');
  assert.deepEqual(errors.filter((e) => !/WebSocket/.test(e)), []);
  await context.close();
});

test('a page on an origin the gateway does not allow shows no chat and the gateway logs it once', async () => {
  const { server } = suite;
  // A second loopback origin: another port on 127.0.0.1 serving a page
  // that embeds the widget from the demo server.
  const page2 = `<!doctype html><title>Other site</title><h1>Another site</h1>
<script src="${server.url}/chat/widget.js" data-queue="support" async></script>`;
  const other = http.createServer((_, res) => { res.writeHead(200, { 'Content-Type': 'text/html' }); res.end(page2); });
  await new Promise((r) => other.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${other.address().port}/`;
  const warnings = [];
  const { context, page } = await newPage({ width: 1280, height: 800 });
  page.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
  try {
    for (let i = 0; i < 2; i++) {
      await page.goto(url);
      await waitFor(() => warnings.length > i, 'the widget to warn');
    }
    await page.waitForTimeout(500);
    // Nothing to type into: no launcher, no form.
    assert.equal(await page.evaluate(() => document.querySelector('#switchboard-chat')), null);
    assert.match(warnings[0], /not in channels\.chat\.allowed_origins/);
    await shot(page, 'webchat-15-refused-origin');
    const logs = server.logs();
    const lines = logs.split('\n').filter((l) => l.includes(`origin=http://127.0.0.1:${other.address().port}`));
    assert.equal(lines.length, 1, `refused origin logged ${lines.length} times:\n${logs}`);
    assert.match(lines[0], /channels\.chat\.allowed_origins/);
  } finally {
    await context.close();
    other.close();
  }
});
