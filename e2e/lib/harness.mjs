// Test harness: starts the console on a fake backend (a Go test that
// serves until stopped), launches headless Chromium, and plays customers
// through the fake's control API; and the steps the browser tests share,
// done as a person does them in the pages: an agent signs in and goes
// available, a visitor starts a chat in the widget, the agent accepts the
// offer.

import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { before, after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const shotsDir = path.resolve(here, '..', 'screenshots');

/**
 * serveGoTest runs `go test -run '^name$' pkg`, a Go test that serves until
 * stopped, with env added, and resolves with { match, stop, logs } once its
 * standard output matches pattern (match is the RegExp match; logs() is all
 * it wrote so far). It runs in its own
 * process group, so stop() ends go, the test binary and whatever that
 * started together. Compiling can take a while on a busy machine, hence the
 * long wait.
 */
export function serveGoTest(pkg, name, env, pattern) {
  return new Promise((resolve, reject) => {
    const child = spawn('go', ['test', '-v', '-count=1', '-run', `^${name}$`, pkg], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const stop = () => {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`${name} did not start in time\n${out}\n${err}`));
    }, 240_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve({ match: m, stop, logs: () => out + err });
      }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code})\n${out}\n${err}`));
    });
  });
}

/**
 * startFakeConsole runs `go test -run TestServeFakeConsole ./agentui/` and
 * resolves with its base URL once it listens.
 */
export async function startFakeConsole({ offerSeconds = 30, voice = false } = {}) {
  const { match, stop } = await serveGoTest('./agentui/', 'TestServeFakeConsole', {
    AGENTUI_DEMO_ADDR: '127.0.0.1:0',
    AGENTUI_DEMO_SECONDS: '900',
    AGENTUI_DEMO_OFFER_SECONDS: String(offerSeconds),
    // Softphone tokens only for the voice test, which stubs the SDK's
    // Device: elsewhere a real Device would try to reach Twilio.
    AGENTUI_DEMO_VOICE: voice ? '1' : '',
  }, /LISTENING (http:\/\/\S+)/);
  return { url: match[1], stop };
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
      '--autoplay-policy=no-user-gesture-required'],
  });
}

/**
 * withServerAndBrowser registers the test file's (or describe block's)
 * before and after hooks: before, it awaits start(), which resolves with a
 * server that has stop() and maybe logs(), and launches Chromium; after, it
 * closes the browser and stops the server, printing its logs first when
 * SB_SHOW_LOGS is set. It returns the object the before hook fills in:
 * { server, browser }.
 */
export function withServerAndBrowser(start) {
  const suite = { server: undefined, browser: undefined };
  before(async () => {
    suite.server = await start();
    suite.browser = await launch();
  });
  after(async () => {
    if (process.env.SB_SHOW_LOGS && suite.server?.logs) console.log(suite.server.logs());
    await suite.browser?.close();
    suite.server?.stop();
  });
  return suite;
}

/** fake calls the fake backend's control API as a customer would act. */
export async function fake(base, method, pathname, body) {
  const res = await fetch(base + pathname, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${pathname}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

export async function shot(page, name) {
  mkdirSync(shotsDir, { recursive: true });
  await page.screenshot({ path: path.join(shotsDir, `${name}.png`) });
}

/**
 * signIn fills the sign-in form of the page at url, as a person does, and
 * waits for the live connection.
 */
async function signIn(page, url, user, password) {
  await page.goto(url);
  await page.locator('#login-id').fill(user);
  await page.locator('#login-password').fill(password);
  await page.locator('#login-submit').click();
  await page.locator('#conn[data-state="online"]').waitFor();
}

/**
 * agentSignsIn signs in to the console at base/agent/ and waits until it is
 * live. The password defaults to `${user}-password`, as the fake console's
 * accounts and the tests' agents have it.
 */
export async function agentSignsIn(page, base, { user = 'ana', password = `${user}-password` } = {}) {
  await signIn(page, `${base}/agent/`, user, password);
}

/** supervisorSignsIn signs in to the supervisor view at base/supervisor/ (see agentSignsIn). */
export async function supervisorSignsIn(page, base, { user = 'sam', password = `${user}-password` } = {}) {
  await signIn(page, `${base}/supervisor/`, user, password);
}

/**
 * agentGoesAvailable presses Available in the console and waits until the
 * button shows pressed.
 */
export async function agentGoesAvailable(page) {
  await page.locator('#state-available').click();
  await page.locator('#state-available[aria-pressed="true"]').waitFor();
}

/**
 * visitorFillsPrechat opens the demo page at base/demo, opens the chat
 * widget with its launcher and fills the pre-chat form: the name (when
 * given) and the first message.
 */
export async function visitorFillsPrechat(page, base, { name, text }) {
  await page.goto(`${base}/demo`);
  await page.locator('.launcher').click();
  if (name !== undefined) await page.locator('.prechat input[name="name"]').fill(name);
  await page.locator('.prechat textarea').fill(text);
}

/** visitorStartsChat fills the widget's pre-chat form (see visitorFillsPrechat) and presses Start chat. */
export async function visitorStartsChat(page, base, { name, text }) {
  await visitorFillsPrechat(page, base, { name, text });
  await page.getByRole('button', { name: 'Start chat' }).click();
}

/**
 * offerRings waits until an offer shows in the console (routing can take a
 * while on a busy machine, hence the default) and returns the first.
 */
export async function offerRings(page, { timeout = 15_000 } = {}) {
  const offer = page.locator('.offer').first();
  await offer.waitFor({ timeout });
  return offer;
}

/** acceptOffer presses the offer's Accept button, as the agent does. */
export async function acceptOffer(offer) {
  await offer.getByRole('button', { name: /accept/i }).click();
}

/**
 * agentClosesConversation closes the conversation open in the console
 * through its Close dialog, with the disposition picked.
 */
export async function agentClosesConversation(page, disposition) {
  await page.locator('#open-close').click();
  await page.locator('#close-disposition').selectOption(disposition);
  await page.locator('#close-form button[type="submit"]').click();
}

/** waitFor polls fn until it returns a truthy value. */
export async function waitFor(fn, what, timeout = 10_000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(last)}`);
}

/**
 * openPage opens a page in a fresh context and collects its script errors.
 * With consoleErrors, console.error lines count as errors too; with
 * keepSockets, the page's websockets are kept in window.__sockets so a test
 * can cut the line.
 */
export async function openPage(browser, viewport = { width: 1280, height: 800 },
  { consoleErrors = false, keepSockets = false } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  if (consoleErrors) page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  if (keepSockets) {
    await page.addInitScript(() => {
      const Native = window.WebSocket;
      window.__sockets = [];
      window.WebSocket = class extends Native {
        constructor(...args) { super(...args); window.__sockets.push(this); }
      };
    });
  }
  return { context, page, errors };
}
