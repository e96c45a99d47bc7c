// The web chat widget in a real browser: the demo page served by the
// channel's Go handler on a real realtime hub over a real redis-server, with
// the channel's fake backend playing conversations, routing and the agent
// (go test -run TestServeDemo ./channels/webchat/).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { launch, shot, waitFor, repoRoot, openPage } from './lib/harness.mjs';

const XSS = '<img src=x onerror=window.__xss=1>';
const LIMIT = 500; // MaxMessageLength of the demo server
let server;
let browser;

/** startDemo runs the channel's demo server and resolves with its URL. */
function startDemo() {
  return new Promise((resolve, reject) => {
    const child = spawn('go', ['test', '-v', '-count=1', '-run', '^TestServeDemo$', './channels/webchat/'], {
      cwd: repoRoot,
      env: { ...process.env, WEBCHAT_DEMO_ADDR: '127.0.0.1:0', WEBCHAT_DEMO_SECONDS: '900' },
      detached: true, // own process group: stop() ends go and the test binary together
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const stop = () => { try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ } };
    const timer = setTimeout(() => { stop(); reject(new Error(`demo server did not start\n${out}\n${err}`)); }, 240_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/LISTENING (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve({ url: m[1], stop }); }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`demo server exited (${code})\n${out}\n${err}`)); });
  });
}

/** agent plays the agent (and routing) through the fake's control API. */
async function agent(action, body) {
  const res = await fetch(`${server.url}/_fake/${action}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${action}: ${res.status} ${await res.text()}`);
}

async function backend() {
  const res = await fetch(`${server.url}/_fake/state`);
  return res.json();
}

before(async () => {
  server = await startDemo();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** newPage opens a page that collects its errors (see openPage). */
const newPage = (viewport) => openPage(browser, viewport, { consoleErrors: true, keepSockets: true });

/** bubbles returns the texts of the widget's message bubbles. */
const bubbles = (page) => page.locator('.msg .bubble').allTextContents();
const count = (list, text) => list.filter((t) => t === text).length;

test('a visitor chats from the demo page: queue, agent, typing, XSS as text, reconnect, return, limit, end', async () => {
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

  // A returning visitor (same localStorage) sees the open conversation.
  await page.reload();
  await launcher.click();
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
  const { context, page, errors } = await newPage({ width: 390, height: 844 });
  await page.goto(`${server.url}/demo`);
  await page.locator('.launcher').click();
  await page.locator('.prechat textarea').fill('Do you ship to Arizona?');
  await page.getByRole('button', { name: 'Start chat' }).click();
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
  await shot(page, 'webchat-8-phone-closed');
  assert.deepEqual(errors.filter((e) => !/WebSocket/.test(e)), []);
  await context.close();
});
