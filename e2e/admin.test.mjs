// The console's Agents page on the embedded store, as `make run` starts it:
// no shell, no Redis tooling. An admin signs in, adds a second agent in the
// page (with skills, capacity and a generated password shown once); that
// agent signs in in a second browser context and goes available, and the
// admin's transfer dialog, opened after the console had loaded, lists them
// so a conversation can be handed over. Agents get no Agents page and a 403
// from the API; a disabled agent can no longer sign in.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withServerAndBrowser, shot, agentSignsIn, agentGoesAvailable, openPage, waitFor,
  visitorStartsChat, offerRings, acceptOffer,
} from './lib/harness.mjs';
import { startGateway } from './lib/gateway.mjs';

const suite = withServerAndBrowser(() => startGateway({ embedded: true }));

test('an admin adds an agent in the console, who signs in and takes a transfer', async () => {
  const { server: gw, browser } = suite;
  const admin = await openPage(browser, { width: 1280, height: 800 });
  await agentSignsIn(admin.page, gw.url, { user: 'admin', password: 'e2e-admin-password' });
  await agentGoesAvailable(admin.page);

  // A customer chats; the admin, the only agent so far, accepts.
  const customer = await openPage(browser, { width: 1280, height: 800 });
  await visitorStartsChat(customer.page, gw.url, { name: 'Lena Ortiz', text: '¿Hablan español? My invoice is wrong.' });
  await acceptOffer(await offerRings(admin.page));
  await admin.page.locator('.msg-customer .bubble', { hasText: 'My invoice is wrong' }).waitFor();

  // The Agents page lists the admin alone.
  const entry = admin.page.locator('#open-admin');
  await entry.click();
  await admin.page.locator('#admin:not([hidden])').waitFor();
  await admin.page.locator('#admin-rows tr[data-agent="admin"]').waitFor();
  assert.equal(await admin.page.locator('#admin-rows tr').count(), 1);
  assert.equal(await admin.page.locator('.workspace').isHidden(), true);

  // Add Bo: Spanish, two chats at once, a generated password.
  await admin.page.locator('#admin-add').click();
  await admin.page.locator('#agent-id').fill('bo');
  await admin.page.locator('#agent-name').fill('Bo Berg');
  await admin.page.locator('#agent-skills').fill('es, billing');
  await admin.page.locator('#agent-cap-chat').fill('2');
  await admin.page.locator('#agent-cap-voice').fill('0');
  await shot(admin.page, 'admin-add-agent');
  await admin.page.locator('#agent-submit').click();
  await admin.page.locator('#secret-dialog[open]').waitFor();
  const password = (await admin.page.locator('#secret-value').textContent()).trim();
  assert.ok(password.length >= 8, `generated password ${password}`);
  await shot(admin.page, 'admin-password-once');
  await admin.page.locator('#secret-done').click();
  const row = admin.page.locator('#admin-rows tr[data-agent="bo"]');
  await row.waitFor();
  const rowText = await row.textContent();
  assert.match(rowText, /Bo Berg/);
  assert.match(rowText, /Web chat 2/);
  assert.match(rowText, /Voice 0/);
  assert.match(rowText, /billing/);
  assert.match(rowText, /Offline/);

  // A wrong id shows the server's reason in the form and adds nothing.
  await admin.page.locator('#admin-add').click();
  await admin.page.locator('#agent-id').fill('bo');
  await admin.page.locator('#agent-submit').click();
  await admin.page.locator('#agent-error:not([hidden])').waitFor();
  assert.match(await admin.page.locator('#agent-error').textContent(), /exists/);
  await admin.page.locator('#agent-dialog [data-cancel]').click();

  // Bo signs in in a second browser context and goes available.
  const bo = await openPage(browser, { width: 1280, height: 800 });
  await agentSignsIn(bo.page, gw.url, { user: 'bo', password });
  assert.equal(await bo.page.locator('#me-name').textContent(), 'Bo Berg');
  assert.equal(await bo.page.locator('#open-admin').isHidden(), true, 'an agent sees no Agents page');
  const status = await bo.page.evaluate(async () => (await fetch('/api/v1/agents')).status);
  assert.equal(status, 403);
  await agentGoesAvailable(bo.page);

  // The admin's list shows Bo available.
  await admin.page.locator('#admin-back').click();
  await entry.click();
  await waitFor(async () => /Available/.test(await row.textContent()), 'Bo available in the list');
  await shot(admin.page, 'admin-agents-page');

  // The transfer dialog, in a console loaded before Bo existed, lists Bo.
  await admin.page.locator('#admin-back').click();
  await admin.page.locator('.workspace').waitFor();
  await admin.page.locator('#open-transfer').click();
  await admin.page.locator('input[name="target"][value="agent"]').check();
  const option = admin.page.locator('#transfer-agent option[value="bo"]');
  await option.waitFor({ state: 'attached' });
  assert.match(await option.textContent(), /Bo Berg \(available\)/);
  await shot(admin.page, 'admin-transfer-dialog');
  await admin.page.locator('#transfer-agent').selectOption('bo');
  await admin.page.locator('#transfer-form button[type="submit"]').click();

  // Routing offers it to Bo, who has the capacity.
  const boOffer = await offerRings(bo.page);
  assert.match(await boOffer.textContent(), /Lena Ortiz/);
  await acceptOffer(boOffer);
  await bo.page.locator('.msg-customer .bubble', { hasText: 'My invoice is wrong' }).waitFor();
  await shot(bo.page, 'admin-second-agent-console');

  // Disabled, Bo cannot sign in again.
  await entry.click();
  await row.getByRole('button', { name: 'Disable' }).click();
  await waitFor(async () => /Disabled/.test(await row.textContent()), 'Bo disabled');
  assert.equal(await admin.page.locator('#admin-rows tr[data-agent="admin"] button', { hasText: 'Disable' }).isDisabled(), true,
    'an admin cannot disable themselves');
  const again = await openPage(browser, { width: 1280, height: 800 });
  await again.page.goto(`${gw.url}/agent/`);
  await again.page.locator('#login-id').fill('bo');
  await again.page.locator('#login-password').fill(password);
  await again.page.locator('#login-submit').click();
  await again.page.locator('#login-error:not([hidden])').waitFor();
  assert.match(await again.page.locator('#login-error').textContent(), /Wrong account or password/);

  // The page works on a tablet too.
  await admin.page.setViewportSize({ width: 768, height: 1024 });
  await shot(admin.page, 'admin-agents-768');

  assert.deepEqual(admin.errors, []);
  assert.deepEqual(bo.errors, []);
});
