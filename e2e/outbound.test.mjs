// Reaching out and telling a CRM, on the real gateway with a real
// redis-server and SMS through the fake Twilio (go test -run
// TestServeTwilioFake ./internal/twilioapi/twiliotest/):
// - an agent starts an SMS conversation from the console's "New" dialog:
//   a number that texted STOP is refused with the reason shown, the
//   started conversation opens at once, its text reaches Twilio from our
//   number, and the customer's (signed) answer shows in it;
// - an admin adds a webhook endpoint on the Webhooks page (its secret shown
//   once), sends a test event that the receiver refuses, sees the failed
//   delivery with its response code, and replays it once the receiver is
//   fixed; pauses the endpoint and deletes it.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  withServerAndBrowser, shot, agentSignsIn, openPage, waitFor, serveGoTest,
} from './lib/harness.mjs';
import { startGateway } from './lib/gateway.mjs';

const OURS = '+15550001111';
const SID = `AC${'0123456789abcdef'.repeat(2)}`;
const TOKEN = 'fedcba9876543210'.repeat(2);

let twilio;

async function startTwilioFake() {
  const { match, stop } = await serveGoTest('./internal/twilioapi/twiliotest/', 'TestServeTwilioFake',
    { TWILIO_FAKE_ADDR: '127.0.0.1:0', TWILIO_FAKE_SECONDS: '900', TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: TOKEN },
    /LISTENING (http:\/\/\S+)/);
  return { url: match[1], stop };
}

/** inbound has the fake Twilio post a signed inbound SMS to the gateway. */
async function inbound(from, body) {
  const res = await fetch(`${twilio.url}/_fake/inbound`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ url: `${suite.server.url}/twilio/sms`, from, to: OURS, body }),
  });
  assert.equal(res.status, 200, `inbound SMS from ${from}`);
}

async function sent() {
  return (await fetch(`${twilio.url}/_fake/messages`)).json();
}

// The fake Twilio starts first, in the same before hook, because the
// gateway is configured with its URL (node 20 starts a file's next
// top-level before hook without waiting for the one before it).
const suite = withServerAndBrowser(async () => {
  twilio = await startTwilioFake();
  return startGateway({
    agents: [{ id: 'ana', name: 'Ana Lima', password: 'ana-password' }],
    env: { TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: TOKEN, TWILIO_API_BASE_URL: twilio.url },
    config: `channels:\n  sms:\n    numbers:\n      "${OURS}": support\n`,
    publicURL: true,
  });
});
after(() => twilio?.stop());

test('an agent starts an SMS conversation; an opted-out number is refused', async () => {
  const { server: gw, browser } = suite;
  const { page, errors } = await openPage(browser, { width: 1280, height: 800 });
  await agentSignsIn(page, gw.url, { user: 'ana' });

  // Someone texted STOP: starting a conversation to them says why not.
  await inbound('+46709999999', 'STOP');
  await page.locator('#open-outbound').click();
  await page.locator('#outbound-dialog[open]').waitFor();
  await page.locator('#outbound-address').fill('+46 70 999 99 99');
  await page.locator('#outbound-text').fill('We have a cheaper plan for you');
  await page.locator('#outbound-submit').click();
  await page.locator('#outbound-error:not([hidden])').waitFor();
  assert.match(await page.locator('#outbound-error').textContent(), /opted out/);
  await shot(page, 'outbound-opted-out');

  // Ana texts Maria instead: the conversation opens at once, as hers.
  await page.locator('#outbound-address').fill('+46 70 123 45 67');
  await page.locator('#outbound-text').fill('Hi Maria, your refund of 40 € is on its way.');
  await shot(page, 'outbound-new-conversation');
  await page.locator('#outbound-submit').click();
  await page.locator('#outbound-dialog').waitFor({ state: 'hidden' });
  await page.locator('.conv-item').first().waitFor();
  await page.locator('.msg-agent .bubble', { hasText: 'your refund of 40 €' }).waitFor();
  assert.match(await page.locator('#conv-channel').textContent(), /SMS/);
  const msgs = await waitFor(async () => {
    const m = await sent();
    return m.find((x) => x.To === '+46701234567') ? m : null;
  }, 'the text at the fake Twilio');
  const text = msgs.find((x) => x.To === '+46701234567');
  assert.equal(text.From, OURS);
  assert.equal(text.Body, 'Hi Maria, your refund of 40 € is on its way.');
  assert.ok(!msgs.some((x) => x.To === '+46709999999'), 'nothing went to the opted-out number');

  // Maria answers; her text lands in the same conversation, no offer rings.
  await inbound('+46701234567', 'Oh great, thank you!');
  await page.locator('.msg-customer .bubble', { hasText: 'Oh great, thank you!' }).waitFor();
  assert.equal(await page.locator('.offer').count(), 0);
  assert.equal(await page.locator('.conv-item').count(), 1);
  await shot(page, 'outbound-started-and-answered');
  assert.deepEqual(errors, []);
});

test('an admin adds a webhook endpoint, sees a failed delivery and replays it', async () => {
  const { server: gw, browser } = suite;
  let answer = 400;
  const got = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      got.push({ status: answer, id: req.headers['webhook-id'], body });
      res.writeHead(answer, { 'Content-Type': 'text/plain' });
      res.end(answer === 200 ? 'ok' : 'no such tenant');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${receiver.address().port}/hooks/switchboard`;
  try {
    const { page, errors } = await openPage(browser, { width: 1280, height: 800 });
    await agentSignsIn(page, gw.url, { user: 'admin', password: 'e2e-admin-password' });
    await page.locator('#open-webhooks').click();
    await page.locator('#webhooks:not([hidden])').waitFor();
    assert.equal(await page.locator('.workspace').isHidden(), true);

    // A loopback URL is refused unless the admin allows it explicitly.
    await page.locator('#webhook-add').click();
    await page.locator('#webhook-url').fill(hook);
    await page.locator('#webhook-description').fill('CRM sync');
    await page.locator('#webhook-submit').click();
    await page.locator('#webhook-error:not([hidden])').waitFor();
    await page.locator('#webhook-private').check();
    await page.locator('#webhook-events input[value="conversation.created"]').check();
    await page.locator('#webhook-submit').click();
    await page.locator('#webhook-secret-block:not([hidden])').waitFor();
    const secret = (await page.locator('#webhook-secret').textContent()).trim();
    assert.ok(secret.length >= 16, `secret ${secret}`);
    await shot(page, 'webhooks-secret-once');
    await page.locator('#webhook-cancel').click();
    const row = page.locator('#webhook-rows tr').first();
    await row.waitFor();
    assert.match(await row.textContent(), /CRM sync/);
    assert.match(await row.textContent(), /Active/);

    // A test event: the receiver refuses it (400 is final), and the page
    // shows the failure with the response code.
    await row.getByRole('button', { name: 'Send test event' }).click();
    const failed = page.locator('#delivery-rows tr[data-status="failed"]').first();
    await failed.waitFor({ timeout: 15_000 });
    assert.match(await failed.textContent(), /ping/);
    assert.match(await failed.textContent(), /400/);
    await shot(page, 'webhooks-failed-delivery');

    // The receiver is fixed; replaying delivers the same event (same id).
    answer = 200;
    await failed.getByRole('button', { name: 'Replay' }).click();
    await page.locator('#delivery-rows tr[data-status="delivered"]').first().waitFor({ timeout: 15_000 });
    const ids = got.map((g) => g.id);
    assert.equal(got.length, 2, `deliveries ${JSON.stringify(got)}`);
    assert.equal(ids[0], ids[1], 'a replay carries the same event id');
    assert.equal(got[1].status, 200);
    await shot(page, 'webhooks-replayed');

    // Pause, then delete.
    await row.getByRole('button', { name: 'Pause' }).click();
    await waitFor(async () => /Paused/.test(await page.locator('#webhook-rows tr').first().textContent()), 'paused');
    page.once('dialog', (d) => d.accept());
    await page.locator('#webhook-rows tr').first().getByRole('button', { name: 'Delete' }).click();
    await page.locator('#webhooks-empty:not([hidden])').waitFor();
    assert.deepEqual(errors, []);
  } finally {
    receiver.close();
  }
});
