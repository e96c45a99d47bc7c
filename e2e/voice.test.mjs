// A voice offer in the agent console, in a real browser: it rings like a
// phone and shows the caller; the softphone registers with a token from
// the real token endpoint and answers the accepted call with a timer, mute
// and hang-up, then counts down the wrap-up. Twilio cannot be reached, so
// the Voice SDK's Device is stubbed in the page: it records what the
// console does and lets the test play Twilio's side of the call.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withServerAndBrowser, startFakeConsole, fake, shot, agentSignsIn, agentGoesAvailable, waitFor,
  openPage,
} from './lib/harness.mjs';

const suite = withServerAndBrowser(() => startFakeConsole({ voice: true }));

/** stubDevice stands in for the Twilio Voice SDK's Device and Call. */
function stubDevice() {
  class Emitter {
    constructor() { this.handlers = {}; }
    on(ev, fn) { (this.handlers[ev] ||= []).push(fn); return this; }
    emit(ev, ...args) { for (const fn of this.handlers[ev] || []) fn(...args); }
  }
  class Call extends Emitter {
    constructor(params) {
      super();
      this.customParameters = new Map(Object.entries(params));
      this.log = [];
    }
    accept() { this.log.push('accept'); setTimeout(() => this.emit('accept', this), 50); }
    reject() { this.log.push('reject'); }
    mute(on) { this.log.push(on ? 'mute' : 'unmute'); this.emit('mute', on, this); }
    disconnect() { this.log.push('disconnect'); this.emit('disconnect', this); }
  }
  class Device extends Emitter {
    constructor(token, options) {
      super();
      window.__device = this;
      this.token = token;
      this.options = options;
      this.updates = [];
    }
    async register() { this.emit('registered'); }
    updateToken(t) { this.updates.push(t); }
    destroy() { this.destroyed = true; }
  }
  window.Twilio = { Device, __Call: Call };
  // What Twilio does when Switchboard dials the agent's <Client>.
  window.__ring = (params) => {
    const call = new Call(params);
    window.__call = call;
    window.__device.emit('incoming', call);
    return call.log;
  };
}

test('a call rings, is answered in the softphone, timed, muted, hung up and wrapped up', async () => {
  const { server, browser } = suite;
  const { context, page, errors } = await openPage(browser, { width: 1280, height: 800 }, { consoleErrors: true });
  await page.addInitScript(stubDevice);
  const base = server.url;
  await agentSignsIn(page, base);
  await agentGoesAvailable(page);

  // The softphone registered with a real token for this agent.
  await page.locator('html[data-softphone="ready"]').waitFor();
  const token = await page.evaluate(() => window.__device.token);
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  assert.equal(claims.grants.identity, 'ana');
  assert.equal(claims.grants.voice.incoming.allow, true);
  assert.ok(claims.exp - claims.nbf >= 3600);
  // The token is refreshed before it runs out.
  await page.evaluate(() => window.__device.emit('tokenWillExpire'));
  await waitFor(() => page.evaluate(() => window.__device.updates.length === 1), 'token refresh');

  // A call comes in: the offer rings like a phone and shows the caller.
  const { conv } = await fake(base, 'POST', '/_fake/inbound',
    { channel: 'voice', customer: 'Maria Svensson', text: 'Call from +14155550100', agent: 'ana' });
  const offer = page.locator(`.offer[data-conv="${conv}"]`);
  await offer.waitFor();
  assert.match(await offer.getAttribute('class'), /offer-voice/);
  assert.equal(await offer.locator('.offer-label').textContent(), 'Incoming call');
  assert.match(await offer.textContent(), /Maria Svensson/);
  assert.equal(await offer.locator('.offer-caller').textContent(), 'Calling from +14155550100');
  // What she called and wrote about before, on any channel.
  assert.match(await offer.locator('.offer-earlier').textContent(), /Email · .*Invoice sent twice/);
  assert.equal(await page.locator('html').getAttribute('data-ring-kind'), 'voice');
  assert.equal(await page.locator('html').getAttribute('data-ringing'), 'sound');
  await shot(page, 'voice-offer-1280');

  // A message offer rings the other way.
  const { conv: chat } = await fake(base, 'POST', '/_fake/inbound',
    { channel: 'chat', customer: 'Ola Nordmann', text: 'hello', agent: 'ana' });
  await page.locator(`.offer[data-conv="${chat}"]`).waitFor();
  assert.equal(await page.locator(`.offer[data-conv="${chat}"].offer-voice`).count(), 0);

  await offer.getByRole('button', { name: /Accept/ }).click();
  await offer.waitFor({ state: 'detached' });
  await page.locator('#conv-name', { hasText: 'Maria Svensson' }).waitFor();

  // A call for a conversation this console does not hold is refused.
  assert.deepEqual(await page.evaluate(() => window.__ring({ conversation: 'someone-else', caller: '+1999' })), ['reject']);

  // Switchboard dials the softphone: it answers by itself.
  const log = await page.evaluate((c) => window.__ring({ conversation: c, caller: '+14155550100' }), conv);
  assert.deepEqual(log, ['accept']);
  const bar = page.locator('#call-bar[data-state="live"]');
  await bar.waitFor();
  assert.match(await bar.locator('.call-status').textContent(), /On call with \+14155550100/);
  await waitFor(async () => (await page.locator('#call-timer').textContent()) === '0:01', 'the call timer to run', 4000);

  await page.locator('#call-mute').click();
  await page.locator('#call-mute[aria-pressed="true"]', { hasText: 'Unmute' }).waitFor();
  await shot(page, 'voice-call-1280');
  await page.locator('#call-mute').click();
  await page.locator('#call-mute[aria-pressed="false"]').waitFor();

  await page.locator('#call-hangup').click();
  assert.deepEqual(await page.evaluate(() => window.__call.log), ['accept', 'mute', 'unmute', 'disconnect']);
  const wrap = page.locator('#call-bar[data-state="wrapup"] #call-wrapup');
  await wrap.waitFor();
  assert.match(await wrap.textContent(), /^Wrap-up 0:0[5-8]$/);
  await shot(page, 'voice-wrapup-1280');
  await page.locator('#call-bar[data-state="ended"]', { hasText: 'Wrap-up over' }).waitFor({ timeout: 12_000 });

  assert.deepEqual(errors.filter((e) => !/status of 401|favicon/.test(e)), []);
  await context.close();
});
