// The whole product in a real browser, run twice: two switchboard gateways
// on one real redis-server, then two gateways on a real 3-master Redis
// Cluster (configured with `addr=` as production configures one). The
// visitor is on gateway A, the agent on gateway B, the supervisor on A, so
// every step crosses gateways. A visitor chats from the demo page; the agent
// signs in at /agent/, goes available, gets the offer, accepts; they write
// to each other; the agent closes; the visitor sees the close and the
// supervisor board shows the chat answered and handled. Visitor text with a
// script in it stays text on both sides. Neither gateway logs a Redis
// Cluster error (CROSSSLOT, MOVED, ASK, ...).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  withServerAndBrowser, shot, agentSignsIn, agentGoesAvailable, supervisorSignsIn, waitFor,
  openPage, visitorStartsChat, offerRings, acceptOffer, agentClosesConversation,
} from './lib/harness.mjs';
import { startGateway } from './lib/gateway.mjs';

const XSS = '<img src=x onerror=window.__xss=1>';

// What a gateway would log had a command or script crossed slots or missed
// its node: go-redis follows MOVED and ASK itself, so none of these should
// ever reach the log.
const CLUSTER_ERRORS = /CROSSSLOT|\bMOVED\b|\bASK\b|TRYAGAIN|CLUSTERDOWN|non local key|hash to the same slot/;

for (const redis of ['server', 'cluster']) {
  describe(redis === 'cluster' ? 'two gateways on a 3-master Redis Cluster' : 'two gateways on one redis-server', () => {
    const suite = withServerAndBrowser(() => startGateway({
      gateways: 2,
      redis,
      agents: [
        { id: 'ana', name: 'Ana Lima', password: 'ana-password' },
        { id: 'sam', name: 'Sam Okafor', password: 'sam-password', role: 'supervisor' },
      ],
    }));

    test('a visitor chats on gateway A, an agent on gateway B answers and closes, the supervisor sees it', async () => {
      const { server: gw, browser } = suite;
      const [gwA, gwB] = gw.urls;
      const name = (s) => `gateway-${redis}-${s}`;
      if (redis === 'cluster') {
        assert.match(gw.redisURL, /^redis:\/\/127\.0\.0\.1:\d+\/0\?addr=127\.0\.0\.1:\d+&addr=127\.0\.0\.1:\d+$/);
        const port = /^redis:\/\/127\.0\.0\.1:(\d+)/.exec(gw.redisURL)[1];
        const info = spawnSync('redis-cli', ['-p', port, 'cluster', 'info'], { encoding: 'utf8' }).stdout;
        assert.match(info, /cluster_state:ok/);
        assert.match(info, /cluster_size:3/);
      }

      // The supervisor watches the board on gateway A.
      const sup = await openPage(browser);
      await supervisorSignsIn(sup.page, gwA, { user: 'sam' });
      const kpi = (k) => sup.page.locator(`.sv-queue[data-queue="support"] [data-kpi="${k}"]`).textContent();
      await sup.page.locator('.sv-queue[data-queue="support"]').waitFor();
      assert.equal(await kpi('answered'), '0');

      // The agent signs in on gateway B and goes available.
      const agent = await openPage(browser);
      await agentSignsIn(agent.page, gwB, { user: 'ana' });
      assert.equal(await agent.page.locator('#me-name').textContent(), 'Ana Lima');
      await agentGoesAvailable(agent.page);
      const row = sup.page.locator('#agent-rows tr[data-agent="ana"]');
      await waitFor(async () => /available/.test(await row.locator('.sv-state').textContent().catch(() => '')),
        'ana available on the board', 10_000);

      // The visitor opens the demo page on gateway A and writes, with a
      // script in the text.
      const visitor = await openPage(browser);
      await visitorStartsChat(visitor.page, gwA, { name: 'Maria Svensson', text: `My parcel never arrived ${XSS}` });
      await visitor.page.locator('.msg.customer:not(.pending) .bubble', { hasText: 'My parcel never arrived' }).waitFor();

      // The offer rings on the console.
      const offer = await offerRings(agent.page);
      assert.match(await offer.textContent(), /Maria Svensson/);
      await shot(agent.page, name('offer'));
      await acceptOffer(offer);
      await offer.waitFor({ state: 'detached' });

      // The whole message, as text.
      const first = agent.page.locator('.msg-customer .bubble').first();
      await first.waitFor();
      assert.equal(await first.textContent(), `My parcel never arrived ${XSS}`);
      assert.equal(await agent.page.locator('#transcript img').count(), 0);
      assert.equal(await agent.page.evaluate(() => window.__xss), undefined);

      // The visitor learns who joined; the board shows the chat answered
      // and carried by Ana.
      await visitor.page.getByText('Ana has joined').waitFor();
      await waitFor(async () => (await kpi('answered')) === '1', 'answered = 1 on the board', 10_000);
      await waitFor(async () => /Chat 1\/3/.test(await row.textContent()), 'ana carries one chat', 10_000);
      assert.equal(await row.locator('.sv-conv').textContent(), 'Maria Svensson');

      // The agent replies; the visitor sees it and the console shows it sent.
      const box = agent.page.locator('#reply-text');
      await box.focus();
      await box.pressSequentially('Hi Maria, I am sorry. Let me look that up for you.');
      await agent.page.keyboard.press('Enter');
      await visitor.page.locator('.msg .bubble', { hasText: 'Let me look that up for you.' }).waitFor();
      await agent.page.locator('.msg-agent .status[data-status="sent"], .msg-agent .status[data-status="delivered"]').first().waitFor();
      assert.equal(await visitor.page.locator('.msg .bubble img').count(), 0);
      assert.equal(await visitor.page.evaluate(() => window.__xss), undefined);

      // The visitor answers; the agent reads it.
      const input = visitor.page.locator('.composer textarea');
      await input.fill('Thank you! Order 4417.');
      await input.press('Enter');
      await agent.page.locator('.msg-customer .bubble', { hasText: 'Thank you! Order 4417.' }).waitFor();
      await shot(agent.page, name('console-1280'));
      await shot(visitor.page, name('widget'));

      // The console works on a tablet too.
      await agent.page.setViewportSize({ width: 768, height: 1024 });
      await shot(agent.page, name('console-768'));
      await agent.page.setViewportSize({ width: 1280, height: 800 });

      // The agent closes; the visitor's widget says the chat ended.
      await agentClosesConversation(agent.page, 'resolved');
      await visitor.page.locator('.ended:not([hidden])').waitFor({ timeout: 10_000 });
      assert.match(await visitor.page.locator('.ended-text').textContent(), /This chat has ended/);
      await shot(visitor.page, name('widget-closed'));

      // The board: Ana carries nothing, has handled one chat with a handle
      // time, and the queue still counts one answered.
      await waitFor(async () => /Chat 0\/3/.test(await row.textContent()), 'ana carries no chat', 10_000);
      const cells = await row.locator('td').allTextContents();
      assert.equal(cells[3], '1', `answered by ana: ${cells}`);
      assert.equal(cells[4], '1', `handled by ana: ${cells}`);
      assert.notEqual(cells[5], '—', `ana's handle time: ${cells}`);
      assert.equal(await row.locator('.sv-conv').count(), 0);
      assert.equal(await kpi('answered'), '1');
      assert.equal(await kpi('waiting'), '0');
      await shot(sup.page, name('supervisor'));

      assert.doesNotMatch(gw.logs(), CLUSTER_ERRORS);
      assert.deepEqual(sup.errors, []);
      assert.deepEqual(agent.errors, []);
      assert.deepEqual(visitor.errors, []);
    });
  });
}
