// The agent console. One module owns the state and renders it into the
// static skeleton of index.html; socket.js carries frames, ring.js rings,
// dom.js builds elements (text only, never HTML). See docs/protocol.md.

import { $, h, replace, badge, channelLabel, initials, hue, clock, day, compareIds, linkify } from './dom.js';
import { Socket } from './socket.js';
import { unlockAudio, setRinging } from './ring.js';
import { CannedPicker } from './canned.js';
import { currentSession, setDisplayName, signIn, signOut, storedCSRF } from './session.js';
import * as voice from './voice.js';
import { EmailView } from './email.js';
import { setAdmin } from './admin.js';
import { startInbox, stopInbox } from './inbox.js';
import { startPromises, stopPromises, onPromiseFrame, renderTimeline } from './promises.js';
import { startOutbound, stopOutbound } from './outbound.js';
import { setWebhooks } from './webhooks.js';

const TYPING_SHOW_MS = 6000; // hide a typing indicator whose "off" got lost
const TYPING_SEND_MS = 3000; // at most one "typing on" per this interval
const TYPING_IDLE_MS = 4000; // send "off" after this long without a key

const S = {
  me: null,
  csrf: storedCSRF(),
  agentState: { state: 'offline' },
  offers: new Map(),
  convs: new Map(),
  selected: null,
  directory: null,
  customers: new Map(),
  mode: 'reply',
  socket: null,
  conn: 'connecting',
  maxText: 16384,
  heartbeat: null,
  customerOpen: window.matchMedia('(min-width: 1100px)').matches,
  skew: 0, // server clock minus ours, from hello.server_time
};

const emailView = new EmailView(() => S.csrf);
const canned = new CannedPicker($('reply-text'), $('canned'), () => S.directory && S.directory.canned);

// ---------- boot and login ----------

async function boot() {
  wireStatic();
  const session = await currentSession();
  if (session) {
    takeSession(session);
    startConsole();
  } else {
    showLogin('');
  }
}

function takeSession(session) {
  S.me = session.me;
  S.csrf = session.csrf;
}

function showLogin(message) {
  $('app').dataset.view = 'login';
  $('console').hidden = true;
  $('login').hidden = false;
  const err = $('login-error');
  err.hidden = !message;
  err.textContent = message;
  $('login-id').focus();
  document.title = 'Sign in — Switchboard';
}

async function login(ev) {
  ev.preventDefault();
  unlockAudio();
  const err = $('login-error');
  const btn = $('login-submit');
  btn.disabled = true;
  btn.textContent = 'Signing in…';
  const { session, error } = await signIn($('login-id').value.trim(), $('login-password').value);
  btn.disabled = false;
  btn.textContent = 'Sign in';
  if (session) {
    takeSession(session);
    $('login-password').value = '';
    startConsole();
    return;
  }
  err.textContent = error;
  err.hidden = false;
}

async function logout() {
  await signOut(S.csrf);
  stopConsole();
  S.csrf = '';
  showLogin('You are signed out.');
}

function startConsole() {
  $('app').dataset.view = 'console';
  $('login').hidden = true;
  $('console').hidden = false;
  S.offers.clear();
  S.convs.clear();
  S.selected = null;
  render();
  setAdmin(S.me, () => S.csrf);
  setWebhooks(S.me, () => S.csrf);
  startInbox(S.me);
  startPromises({ csrf: () => S.csrf, toast, current: () => S.convs.get(S.selected) });
  startOutbound({
    csrf: () => S.csrf,
    queues: () => S.directory?.queues,
    open: (id) => (S.convs.has(id) ? (select(id), true) : false),
  });
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  S.socket = new Socket(`${scheme}://${location.host}/agent/ws`, {
    onFrame,
    onStatus: (st, info) => { S.conn = st; S.connInfo = info; renderConn(); },
    onRefused: async () => {
      try {
        const res = await fetch('/api/v1/me', { credentials: 'same-origin' });
        if (res.status === 401) {
          stopConsole();
          showLogin('Your session ended. Sign in again.');
          return false;
        }
      } catch { /* offline: keep retrying */ }
      return true;
    },
  });
  S.socket.start();
  voice.startSoftphone({ knows: (id) => S.convs.has(id), onChange: () => voice.render(S.convs.get(S.selected)) });
}

function stopConsole() {
  setAdmin(null);
  setWebhooks(null);
  stopInbox();
  stopPromises();
  stopOutbound();
  if (S.socket) S.socket.stop();
  S.socket = null;
  voice.stopSoftphone();
  clearInterval(S.heartbeat);
  setRinging(false);
  S.offers.clear();
  S.convs.clear();
  S.selected = null;
}

// ---------- server frames ----------

function onFrame(f) {
  switch (f.type) {
    case 'hello': return onHello(f);
    case 'offer': {
      const o = f.offer;
      S.offers.set(o.conv, o);
      renderOffers();
      announce(`Incoming ${channelLabel(o.channel)} conversation from ${o.customer.name || 'a customer'}. `
        + 'Press A to accept or D to decline.');
      return;
    }
    case 'offer_revoked': {
      const o = S.offers.get(f.conv);
      if (o) {
        S.offers.delete(f.conv);
        renderOffers();
        const why = f.reason === 'timeout' ? 'timed out' : f.reason === 'taken' ? 'went to someone else' : 'was withdrawn';
        toast(`The offer from ${o.customer.name || 'a customer'} ${why}.`);
      }
      return;
    }
    case 'assigned': {
      const c = upsertConv(f.conversation);
      S.offers.delete(c.id);
      resume(c);
      if (!S.selected) select(c.id);
      renderOffers();
      renderList();
      return;
    }
    case 'unassigned': {
      const c = S.convs.get(f.conv);
      if (c) {
        removeConv(c.id);
        S.socket.request('leave', { conv: c.id }).catch(() => {});
        toast(f.reason === 'pending'
          ? `${c.customer.name || 'The conversation'} waits for your promise; it comes back when due or when they write.`
          : `${c.customer.name || 'A conversation'} was moved away from you.`);
      }
      return;
    }
    case 'state': {
      S.agentState = { state: f.state, reason: f.reason, since: f.since };
      renderAvailability();
      return;
    }
    case 'message': {
      const c = S.convs.get(f.message.conv);
      if (c) addMessages(c, [f.message], true);
      return;
    }
    case 'message_status': {
      const c = S.convs.get(f.conv);
      const m = c && c.byId.get(f.message_id);
      if (m) {
        m.status = f.status;
        m.error = f.error || '';
        if (S.selected === c.id) renderTranscript(false);
      }
      return;
    }
    case 'typing': {
      const c = S.convs.get(f.conv);
      if (!c || (S.me && f.who === S.me.id)) return;
      c.typing = f.on ? { name: f.name || c.customer.name || 'The customer', until: Date.now() + TYPING_SHOW_MS } : null;
      if (S.selected === c.id) renderTyping();
      return;
    }
    case 'promise_reminder':
    case 'promise_due':
      return onPromiseFrame(f);
    case 'conversation_closed': {
      const c = S.convs.get(f.conv);
      if (!c) return;
      if (S.me && f.by === S.me.id) {
        removeConv(c.id);
        return;
      }
      c.state = 'closed';
      c.typing = null;
      c.closedBy = f.by;
      renderList();
      if (S.selected === c.id) renderConversation();
      return;
    }
    case 'error':
      toast(`The server refused a message: ${f.error || f.code}`, 'error');
      return;
    default:
      // Unknown frames are ignored so that the server can add new ones.
  }
}

function onHello(f) {
  const snap = f.snapshot;
  S.maxText = f.max_text_bytes || S.maxText;
  if (f.attach_accept) $('attach').accept = f.attach_accept;
  const serverNow = Date.parse(f.server_time);
  S.skew = Number.isNaN(serverNow) ? 0 : serverNow - Date.now();
  if (snap.agent && snap.agent.id) S.me = { ...S.me, ...snap.agent };
  S.agentState = snap.state || { state: 'offline' };
  S.offers = new Map(snap.offers.map((o) => [o.conv, o]));
  const keep = new Set(snap.conversations.map((c) => c.id));
  for (const id of [...S.convs.keys()]) if (!keep.has(id)) S.convs.delete(id);
  for (const sc of snap.conversations) resume(upsertConv(sc, true));
  if (S.selected && !S.convs.has(S.selected)) S.selected = null;
  if (!S.selected && S.convs.size) select(S.convs.keys().next().value);
  clearInterval(S.heartbeat);
  S.heartbeat = setInterval(() => {
    if (S.socket) S.socket.request('heartbeat').catch(() => {});
  }, f.heartbeat_ms || 20000);
  if (!S.directory) {
    S.socket.request('directory').then((d) => { S.directory = d; }).catch(() => {});
  }
  render();
}

function upsertConv(sc, fromSnapshot = false) {
  let c = S.convs.get(sc.id);
  if (!c) {
    c = {
      id: sc.id, messages: [], byId: new Map(), lastId: '', cursor: '', loaded: false, typing: null,
      draft: { reply: '', note: '' }, unread: sc.unread || 0,
    };
    S.convs.set(sc.id, c);
  } else if (fromSnapshot && !c.loaded) {
    c.unread = sc.unread || 0;
  }
  Object.assign(c, {
    channel: sc.channel, queue: sc.queue, customer: sc.customer || { name: '' },
    state: sc.state || 'active', lastText: sc.last_text || c.lastText || '',
    updatedAt: sc.updated_at || c.updatedAt,
    recovery: sc.recovery || c.recovery || null,
  });
  return c;
}

function removeConv(id) {
  const ids = [...S.convs.keys()];
  const i = ids.indexOf(id);
  S.convs.delete(id);
  if (S.selected === id) {
    const rest = [...S.convs.keys()];
    S.selected = null;
    if (rest.length) select(rest[Math.min(i, rest.length - 1)]);
  }
  render();
}

/**
 * resume fetches what we have not seen of a conversation, page by page
 * (the server bounds each answer; "more" means ask again from "next"), and
 * the last page subscribes to it. c.cursor is where the server's last page
 * ended, so a reconnect or an "assigned" frame asks only for what came
 * after, never for the whole transcript again. An accept and its
 * "assigned" frame both ask; one request is enough.
 */
async function resume(c) {
  if (c.resuming) return;
  c.resuming = true;
  try {
    for (;;) {
      let data;
      try {
        data = await S.socket.request('resume', { conv: c.id, after_id: c.cursor || '' });
      } catch (e) {
        if (e.code !== 'rate_limited') throw e;
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      const wasLoaded = c.loaded;
      addMessages(c, data.messages, wasLoaded);
      if (data.next) c.cursor = data.next;
      if (!data.more) {
        c.loaded = true;
        if (!wasLoaded && S.selected === c.id) renderTranscript(true);
        break;
      }
      if (S.selected === c.id) renderTranscript(!wasLoaded);
    }
  } catch (e) {
    if (e.code === 'forbidden' || e.code === 'not_found') removeConv(c.id);
  } finally {
    c.resuming = false;
  }
}

/**
 * addMessages merges messages by id (a live frame and a resume may carry
 * the same one). countUnread: these are new to the agent, so customer
 * messages in a conversation not in view raise its unread count.
 */
function addMessages(c, msgs, countUnread) {
  let changed = false;
  for (const m of msgs) {
    const old = c.byId.get(m.id);
    if (old) {
      // Keep the newer delivery status if a status frame came first.
      if (m.status && statusRank(m.status) > statusRank(old.status)) Object.assign(old, m);
      continue;
    }
    const copy = { ...m };
    c.byId.set(m.id, copy);
    if (c.lastId && compareIds(m.id, c.lastId) < 0) {
      c.messages.push(copy);
      c.messages.sort((a, b) => compareIds(a.id, b.id));
    } else {
      c.messages.push(copy);
      c.lastId = m.id;
    }
    // The list shows the last words exchanged, not notes or system lines.
    if (m.kind === 'customer' || m.kind === 'agent') {
      c.lastText = m.text;
      c.updatedAt = m.at;
    }
    if (m.kind === 'customer') {
      c.typing = null;
      if (countUnread && (S.selected !== c.id || document.hidden)) c.unread++;
      if (countUnread) announce(`${m.author || c.customer.name}: ${m.text}`);
    }
    changed = true;
  }
  if (!changed) return;
  renderList();
  if (S.selected === c.id) {
    renderTranscript(false);
    renderTyping();
  }
  updateTitle();
}

function statusRank(s) {
  return { queued: 1, sent: 2, delivered: 3, failed: 3 }[s] || 0;
}

// ---------- actions ----------

async function setState(state, reason = '') {
  try {
    await S.socket.request('state', { state, reason });
    S.agentState = { state, reason, since: new Date().toISOString() };
    renderAvailability();
  } catch (e) {
    toast(`Could not change your state: ${e.message}`, 'error');
  }
}

function firstOffer() {
  return S.offers.values().next().value;
}

async function accept(convId) {
  const o = S.offers.get(convId);
  if (!o) return;
  try {
    await S.socket.request('accept', { conv: convId });
    S.offers.delete(convId);
    const c = S.convs.get(convId) || upsertConv({
      id: convId, channel: o.channel, queue: o.queue, customer: o.customer, state: 'active', unread: 0,
    });
    select(c.id);
    resume(c);
    $('reply-text').focus();
  } catch (e) {
    if (e.code === 'offer_gone') {
      S.offers.delete(convId);
      toast('That offer is no longer open.');
    } else {
      toast(`Could not accept: ${e.message}`, 'error');
    }
  }
  renderOffers();
}

async function decline(convId) {
  if (!S.offers.has(convId)) return;
  try {
    await S.socket.request('decline', { conv: convId });
  } catch (e) {
    if (e.code !== 'offer_gone') {
      toast(`Could not decline: ${e.message}`, 'error');
      return;
    }
  }
  S.offers.delete(convId);
  renderOffers();
}

async function send() {
  const c = S.convs.get(S.selected);
  const box = $('reply-text');
  const text = box.value;
  if (c && S.mode === 'reply' && c.files && c.files.length) {
    await sendWithFiles(c, text);
    return;
  }
  if (!c || !text.trim()) return;
  if (new TextEncoder().encode(text).length > S.maxText) {
    toast('The message is too long to send.', 'error');
    return;
  }
  const mode = S.mode;
  box.value = '';
  c.draft[mode] = '';
  canned.hide();
  stopTyping(c);
  try {
    if (mode === 'reply' && c.channel === 'email') await emailView.saveCc();
    const m = await S.socket.request(mode, { conv: c.id, text });
    addMessages(c, [m], false);
    c.unread = 0;
  } catch (e) {
    // Give the text back so nothing typed is lost.
    if (S.selected === c.id && S.mode === mode && !box.value) box.value = text;
    else c.draft[mode] = text;
    toast(`Not sent: ${e.message}`, 'error');
  }
}

// ---------- files ----------

/** attachmentURL is where a signed-in person fetches a stored file. */
function attachmentURL(path) {
  return `/api/v1/attachments/${path.split('/').map(encodeURIComponent).join('/')}`;
}

function fileSize(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`;
  if (n >= 1 << 10) return `${Math.round(n / (1 << 10))} KB`;
  return `${n} B`;
}

/** previewable: images the server serves inline (its allow-list's raster types). */
const previewable = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

function renderFiles(m) {
  if (!m.attachments || !m.attachments.length) return null;
  return h('ul', { class: 'msg-files' }, m.attachments.map((f) => h('li', {},
    f.path && previewable.has(f.content_type)
      ? h('a', { href: attachmentURL(f.path), target: '_blank', rel: 'noopener', class: 'file-preview' },
        h('img', { src: attachmentURL(f.path), alt: f.name, loading: 'lazy' }))
      : null,
    f.path ? h('a', { href: attachmentURL(f.path), download: f.name, rel: 'noopener' }, f.name) : h('span', {}, f.name),
    h('span', { class: 'hint' }, ` · ${fileSize(f.size)}`))));
}

/**
 * attach uploads the chosen files to the attachment store at once (REST,
 * with the store's size limit and the session's CSRF token); they go out
 * with the next reply.
 */
async function attach(ev) {
  const c = S.convs.get(S.selected);
  const input = ev.target;
  const chosen = [...input.files];
  input.value = '';
  if (!c) return;
  c.files = c.files || [];
  for (const file of chosen) {
    const form = new FormData();
    form.append('file', file, file.name);
    try {
      const res = await fetch(`/api/v1/conversations/${encodeURIComponent(c.id)}/attachments`, {
        method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': S.csrf }, body: form,
      });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(res.status === 413 ? 'the file is larger than the attachment limit' : body.error || `status ${res.status}`);
      c.files.push(body);
    } catch (e) {
      toast(`Could not attach ${file.name}: ${e.message}`, 'error');
    }
  }
  renderAttachList();
}

function renderAttachList() {
  const c = S.convs.get(S.selected);
  const files = (c && c.files) || [];
  replace($('attach-list'), files.map((f, i) => h('li', { class: 'attach-chip' },
    h('span', {}, `${f.name} · ${fileSize(f.size)}`),
    h('button', { type: 'button', class: 'btn btn-ghost btn-small', 'aria-label': `Remove ${f.name}`,
      onclick: () => { c.files.splice(i, 1); renderAttachList(); } }, '×'))));
}

/** sendWithFiles sends a reply with the uploaded files through REST. */
async function sendWithFiles(c, text) {
  const files = c.files;
  c.files = [];
  renderAttachList();
  $('reply-text').value = '';
  c.draft.reply = '';
  stopTyping(c);
  try {
    const res = await fetch(`/api/v1/conversations/${encodeURIComponent(c.id)}/messages`, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': S.csrf },
      body: JSON.stringify({ text, attachments: files }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || `status ${res.status}`);
    // The message itself arrives on the socket, like every transcript line.
    c.unread = 0;
  } catch (e) {
    c.files = files;
    renderAttachList();
    if (!$('reply-text').value) $('reply-text').value = text;
    toast(`Not sent: ${e.message}`, 'error');
  }
}

async function closeConv(disposition) {
  const c = S.convs.get(S.selected);
  if (!c) return;
  try {
    await S.socket.request('close', { conv: c.id, disposition });
    removeConv(c.id);
    toast(`Closed the conversation with ${c.customer.name || 'the customer'}.`);
  } catch (e) {
    toast(`Could not close: ${e.message}`, 'error');
  }
}

async function transfer(queue, agent) {
  const c = S.convs.get(S.selected);
  if (!c) return;
  try {
    await S.socket.request('transfer', { conv: c.id, queue, agent });
    removeConv(c.id);
    const who = agent ? (S.directory?.agents.find((a) => a.id === agent)?.name || agent) : `the ${queue} queue`;
    toast(`Transferred to ${who}.`);
  } catch (e) {
    toast(`Could not transfer: ${e.message}`, 'error');
  }
}

// Typing: "on" at most every TYPING_SEND_MS while keys come, "off" after
// TYPING_IDLE_MS without one or when the message is sent.
let typingSentAt = 0;
let typingIdle = null;

function noteTyping(c) {
  if (S.mode !== 'reply' || !S.socket) return;
  const now = Date.now();
  if (now - typingSentAt > TYPING_SEND_MS) {
    typingSentAt = now;
    S.socket.request('typing', { conv: c.id, on: true }).catch(() => {});
  }
  clearTimeout(typingIdle);
  typingIdle = setTimeout(() => stopTyping(c), TYPING_IDLE_MS);
}

function stopTyping(c) {
  clearTimeout(typingIdle);
  if (!typingSentAt || !S.socket) return;
  typingSentAt = 0;
  S.socket.request('typing', { conv: c.id, on: false }).catch(() => {});
}

function select(id) {
  const prev = S.convs.get(S.selected);
  if (prev) prev.draft[S.mode] = $('reply-text').value;
  S.selected = id;
  const c = S.convs.get(id);
  if (c) {
    c.unread = 0;
    $('reply-text').value = c.draft[S.mode] || '';
    loadCustomer(c);
  }
  canned.hide();
  renderAttachList();
  renderList();
  renderConversation(true);
  updateTitle();
}

function step(delta) {
  const ids = [...S.convs.keys()];
  if (!ids.length) return;
  const i = ids.indexOf(S.selected);
  const next = i < 0 ? 0 : (i + delta + ids.length) % ids.length;
  select(ids[next]);
  const item = document.querySelector(`[data-conv-index="${next}"]`);
  if (item && !$('reply-text').matches(':focus')) item.focus();
}

async function loadCustomer(c) {
  if (S.customers.has(c.id)) {
    renderCustomer();
    return;
  }
  renderCustomer();
  try {
    const v = await S.socket.request('customer', { conv: c.id });
    S.customers.set(c.id, v);
  } catch { /* the panel stays with the name we know */ }
  if (S.selected === c.id) renderCustomer();
}

// ---------- rendering ----------

function render() {
  renderConn();
  renderAvailability();
  renderOffers();
  renderList();
  renderConversation(true);
  updateTitle();
}

function renderConn() {
  const el = $('conn');
  el.dataset.state = S.conn;
  el.textContent = {
    connecting: 'Connecting…', reconnecting: 'Reconnecting…', online: 'Connected',
    offline: 'Offline — retrying',
  }[S.conn] || S.conn;
}

function renderAvailability() {
  renderList();
  for (const b of document.querySelectorAll('.availability .seg')) {
    const on = b.dataset.state === S.agentState.state;
    b.setAttribute('aria-pressed', String(on));
    if (b.dataset.state === 'away') {
      b.textContent = on && S.agentState.reason ? `Away · ${S.agentState.reason}` : 'Away';
    }
  }
  const me = S.me || {};
  $('me-name').textContent = me.name || me.id || '';
  $('me-shown-name').textContent = me.displayName || firstWord(me.name || me.id || '');
  const av = $('me-avatar');
  av.textContent = initials(me.name || me.id);
  av.style.setProperty('--hue', hue(me.id));
  $('app').dataset.agentState = S.agentState.state;
}

function renderOffers() {
  const box = $('offers');
  const items = [...S.offers.values()].map((o) => {
    const left = h('span', { class: 'offer-left' });
    const bar = h('span', { class: 'offer-bar' });
    const card = h('div', { class: 'offer', 'data-conv': o.conv, role: 'group', 'aria-label': `Incoming ${channelLabel(o.channel)} conversation` },
      h('div', { class: 'offer-pulse', 'aria-hidden': 'true' }),
      h('div', { class: 'offer-main' },
        h('div', { class: 'offer-top' },
          h('span', { class: 'offer-label' }, 'Incoming'),
          badge(o.channel),
          h('strong', { class: 'offer-name' }, o.customer.name || 'Unknown customer'),
          h('span', { class: 'offer-queue' }, o.queue ? `· ${o.queue}` : ''),
        ),
        h('p', { class: 'offer-preview' }, o.preview || ''),
        o.recovery ? h('p', { class: 'offer-recovery' }, `Service recovery: ${o.recovery.text}`) : '',
      ),
      // Hidden from screen readers: a number changing every second would
      // be read out every second.
      h('div', { class: 'offer-timer', 'aria-hidden': 'true' }, left, h('span', { class: 'offer-track' }, bar)),
      h('div', { class: 'offer-actions' },
        h('button', { type: 'button', class: 'btn btn-accept', onClick: () => accept(o.conv) }, 'Accept ', h('kbd', {}, 'A')),
        h('button', { type: 'button', class: 'btn btn-ghost', onClick: () => decline(o.conv) }, 'Decline ', h('kbd', {}, 'D')),
      ),
    );
    card._offer = o;
    voice.decorateOffer(card, o);
    return card;
  });
  replace(box, items);
  box.hidden = items.length === 0;
  setRinging(items.length > 0, [...S.offers.values()].some(voice.isVoice) ? 'voice' : 'message');
  tickOffers();
  updateTitle();
}

function tickOffers() {
  const now = Date.now() + S.skew;
  for (const card of document.querySelectorAll('.offer')) {
    const o = card._offer;
    const total = Math.max(1, Date.parse(o.deadline) - Date.parse(o.offered_at));
    const ms = Math.max(0, Date.parse(o.deadline) - now);
    const secs = Math.ceil(ms / 1000);
    card.querySelector('.offer-left').textContent = ms > 0 ? `${secs}s` : 'Expired';
    card.querySelector('.offer-bar').style.width = `${(100 * ms) / total}%`;
    card.classList.toggle('offer-urgent', ms < 10000);
  }
}

function renderList() {
  const list = $('conv-list');
  let i = 0;
  const items = [...S.convs.values()].map((c) => {
    const idx = i++;
    const name = c.customer.name || 'Unknown customer';
    return h('li', {},
      h('button', {
        type: 'button', class: 'conv-item', 'data-conv': c.id, 'data-conv-index': idx,
        'aria-current': S.selected === c.id ? 'true' : null, 'data-state': c.state,
        onClick: () => select(c.id),
      },
      avatar(name, c.customer.id || name),
      h('span', { class: 'conv-item-main' },
        h('span', { class: 'conv-item-top' },
          h('span', { class: 'conv-item-name' }, name),
          h('span', { class: 'conv-item-time' }, c.updatedAt ? clock(c.updatedAt) : ''),
        ),
        h('span', { class: 'conv-item-bottom' },
          badge(c.channel),
          h('span', { class: 'conv-item-text' }, c.state === 'closed' ? 'Customer left' : (c.lastText || '')),
          c.unread > 0 ? h('span', { class: 'unread', 'aria-label': `${c.unread} unread` }, String(c.unread)) : null,
        ),
      )),
    );
  });
  replace(list, items);
  $('conv-count').textContent = String(S.convs.size);
  const empty = $('conv-empty');
  empty.hidden = S.convs.size > 0;
  if (S.agentState.state === 'available') replace(empty, 'No conversations yet. New offers appear at the top.');
  else replace(empty, 'No conversations yet. Go ', h('strong', {}, 'Available'), ' to receive offers.');
}

function avatar(name, key, cls = 'avatar') {
  const el = h('span', { class: cls, 'aria-hidden': 'true' }, initials(name));
  el.style.setProperty('--hue', hue(key));
  return el;
}

function renderConversation(jump = false) {
  const c = S.convs.get(S.selected);
  $('empty-state').hidden = !!c;
  $('conv-pane').hidden = !c;
  emailView.render(c);
  if (!c) {
    renderCustomer();
    return;
  }
  $('conv-name').textContent = c.customer.name || 'Unknown customer';
  const b = $('conv-channel');
  b.dataset.channel = c.channel;
  b.textContent = channelLabel(c.channel);
  $('conv-queue').textContent = c.queue ? `Queue: ${c.queue}` : '';
  $('conv-closed').hidden = c.state !== 'closed';
  $('open-transfer').disabled = c.state === 'closed';
  renderComposer();
  renderRecovery(c);
  renderTranscript(jump);
  renderTyping();
  renderCustomer();
  voice.render(c);
}

// The recovery banner: why this customer needs care, and what was done.
function renderRecovery(c) {
  const r = c.recovery;
  $('recovery-banner').hidden = !r;
  if (!r) return;
  $('recovery-text').textContent = r.text;
  const done = $('recovery-done');
  done.hidden = !r.note;
  done.textContent = r.note ? `Recorded${r.noted_by ? ` by ${r.noted_by}` : ''}: ${r.note}` : '';
}

async function recordRecovery(e) {
  e.preventDefault();
  const c = S.convs.get(S.selected);
  const input = $('recovery-note');
  const text = input.value.trim();
  if (!c || !text) return;
  try {
    c.recovery = await S.socket.request('recovery_note', { conv: c.id, text });
    input.value = '';
    renderRecovery(c);
    toast('Recorded. Thank you for putting it right.');
  } catch (err) {
    toast(`Could not record it: ${err.message || err}`);
  }
}

function renderComposer() {
  const c = S.convs.get(S.selected);
  if (!c) return;
  const closed = c.state === 'closed';
  const form = $('composer');
  form.dataset.mode = S.mode;
  for (const t of form.querySelectorAll('.tab')) t.setAttribute('aria-selected', String(t.dataset.mode === S.mode));
  const box = $('reply-text');
  const replyBlocked = closed && S.mode === 'reply';
  box.disabled = replyBlocked;
  const who = c.customer.name || 'the customer';
  box.placeholder = S.mode === 'note' ? 'Write an internal note — the customer never sees it'
    : closed ? 'The customer has left; add a note or close the conversation'
    : `Reply to ${who} by ${channelPhrase(c.channel)}…`;
  $('send').textContent = S.mode === 'note' ? 'Add note' : SEND_LABEL[c.channel] || 'Send';
  $('send').disabled = replyBlocked;
}

// The send button names the channel the reply leaves on.
const SEND_LABEL = { sms: 'Send SMS', email: 'Send email', chat: 'Send message', whatsapp: 'Send WhatsApp' };
const PHRASE = { sms: 'SMS', email: 'email', chat: 'web chat', voice: 'voice', whatsapp: 'WhatsApp' };
const channelPhrase = (ch) => PHRASE[ch] || channelLabel(ch);

const STATUS_TEXT = { queued: 'Queued', sent: 'Sent', delivered: 'Delivered', failed: 'Failed' };

function renderTranscript(jump) {
  const c = S.convs.get(S.selected);
  const list = $('transcript');
  if (!c) return;
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
  let lastDay = '';
  const items = [];
  for (const m of c.messages) {
    const d = day(m.at);
    if (d && d !== lastDay) {
      lastDay = d;
      items.push(h('li', { class: 'day' }, h('span', {}, d)));
    }
    if (m.kind === 'system') {
      items.push(h('li', { class: 'msg msg-system', 'data-id': m.id }, h('span', {}, m.text), ' · ', clock(m.at)));
      continue;
    }
    const meta = h('div', { class: 'msg-meta' },
      h('span', { class: 'msg-author' }, m.kind === 'note' ? `Internal note · ${m.author}` : m.author),
      h('time', { datetime: m.at }, clock(m.at)),
      m.kind === 'agent' && m.status
        ? h('span', { class: 'status', 'data-status': m.status, title: m.error || STATUS_TEXT[m.status] || m.status },
          STATUS_TEXT[m.status] || m.status)
        : null,
    );
    items.push(h('li', { class: `msg msg-${m.kind}`, 'data-id': m.id, 'data-status': m.status || null },
      meta,
      m.text ? h('div', { class: 'bubble' }, linkify(m.text)) : null,
      renderFiles(m),
      m.status === 'failed' && m.error ? h('div', { class: 'msg-error', role: 'note' }, m.error) : null,
    ));
  }
  if (!c.loaded) items.push(h('li', { class: 'msg msg-system' }, 'Loading the conversation…'));
  replace(list, items);
  if (jump || nearBottom) list.scrollTop = list.scrollHeight;
}

function renderTyping() {
  const c = S.convs.get(S.selected);
  const el = $('typing');
  const t = c && c.typing;
  if (t && t.until > Date.now()) {
    replace(el, h('span', { class: 'dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')), `${t.name} is typing…`);
  } else {
    replace(el);
  }
}

function renderCustomer() {
  const app = $('app');
  app.dataset.customer = S.customerOpen ? 'open' : 'closed';
  $('toggle-customer').setAttribute('aria-expanded', String(S.customerOpen));
  const c = S.convs.get(S.selected);
  $('customer-empty').hidden = !!c;
  $('customer-body').hidden = !c;
  if (!c) return;
  const v = S.customers.get(c.id) || { name: c.customer.name, tags: [], fields: [], addresses: [], history: [] };
  const name = v.name || c.customer.name || 'Unknown customer';
  $('cust-name').textContent = name;
  const av = $('cust-avatar');
  av.textContent = initials(name);
  av.style.setProperty('--hue', hue(c.customer.id || name));
  replace($('cust-tags'), (v.tags || []).map((t) => h('li', { class: 'tag', 'data-tag': t }, t)));
  const rows = [];
  for (const a of v.addresses || []) rows.push(h('dt', {}, channelLabel(a.channel)), h('dd', {}, a.value));
  for (const f of v.fields || []) rows.push(h('dt', {}, f.label), h('dd', {}, f.value));
  replace($('cust-fields'), rows);
  const hist = (v.history || []).map((p) => h('li', { class: 'past' },
    h('div', { class: 'past-top' }, badge(p.channel), h('span', { class: 'past-date' }, day(p.started_at))),
    h('p', { class: 'past-summary' }, p.summary || 'No summary'),
    h('div', { class: 'past-meta' }, [p.agent, p.disposition && p.disposition.replace(/_/g, ' ')].filter(Boolean).join(' · ')),
  ));
  replace($('cust-history'), hist.length ? hist : [h('li', { class: 'past-none' }, 'This is their first conversation.')]);
  renderTimeline(c);
}

function updateTitle() {
  const n = S.offers.size;
  let unread = 0;
  for (const c of S.convs.values()) unread += c.unread;
  document.title = n ? `(${n}) Incoming offer — Switchboard`
    : unread ? `(${unread}) Switchboard — Agent console` : 'Switchboard — Agent console';
}

/** announce tells screen readers about an event outside the focus. */
function announce(text) {
  const el = $('announce');
  el.textContent = '';
  // A fresh text node after a tick makes repeated texts be read again.
  setTimeout(() => { el.textContent = text; }, 50);
}

let toastSeq = 0;
function toast(text, kind = 'info') {
  const id = ++toastSeq;
  const el = h('div', { class: `toast toast-${kind}`, 'data-toast': id }, text);
  $('toasts').appendChild(el);
  setTimeout(() => el.remove(), kind === 'error' ? 7000 : 4500);
}

// ---------- the name customers see ----------

function firstWord(name) {
  return name.trim().split(/\s+/)[0] || '';
}

async function saveShownName(ev) {
  ev.preventDefault();
  try {
    const shown = await setDisplayName($('shown-name').value.trim(), S.csrf);
    S.me = { ...S.me, displayName: shown };
    $('shown-dialog').close();
    renderAvailability();
    toast(`Customers now see you as ${shown || firstWord(S.me.name || S.me.id || '')}.`);
  } catch (e) {
    $('shown-error').textContent = `Could not save: ${e.message}`;
    $('shown-error').hidden = false;
  }
}

// ---------- wiring ----------

function openDialog(id) {
  const d = $(id);
  if (!d.open) d.showModal();
}

function wireStatic() {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  // Any first gesture unlocks audio so that the first offer can ring.
  for (const ev of ['pointerdown', 'keydown']) document.addEventListener(ev, unlockAudio, { capture: true });

  $('state-available').addEventListener('click', () => setState('available'));
  $('state-offline').addEventListener('click', () => setState('offline'));
  $('state-away').addEventListener('click', () => openDialog('away-dialog'));
  $('away-form').addEventListener('submit', () => setState('away', $('away-reason').value));
  $('attach').addEventListener('change', attach);
  $('me-shown').addEventListener('click', () => {
    const me = S.me || {};
    $('shown-name').value = me.displayName || '';
    $('shown-error').hidden = true;
    openDialog('shown-dialog');
    $('shown-name').select();
  });
  $('shown-form').addEventListener('submit', saveShownName);

  for (const t of document.querySelectorAll('.composer .tab')) {
    t.addEventListener('click', () => {
      const c = S.convs.get(S.selected);
      if (c) c.draft[S.mode] = $('reply-text').value;
      S.mode = t.dataset.mode;
      if (c) $('reply-text').value = c.draft[S.mode] || '';
      renderComposer();
      $('reply-text').focus();
      canned.update(); // the box's text changed without an input event
    });
  }
  $('composer').addEventListener('submit', (ev) => { ev.preventDefault(); send(); });
  $('recovery-form').addEventListener('submit', recordRecovery);
  const box = $('reply-text');
  box.addEventListener('input', () => {
    canned.update();
    const c = S.convs.get(S.selected);
    if (c && box.value) noteTyping(c);
  });
  box.addEventListener('keydown', (ev) => {
    if (canned.onKey(ev)) {
      ev.preventDefault();
      return;
    }
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && !ev.altKey) {
      ev.preventDefault();
      send();
    }
  });

  $('open-close').addEventListener('click', () => openDialog('close-dialog'));
  $('close-form').addEventListener('submit', () => closeConv($('close-disposition').value));
  const renderTransferTargets = () => {
    const d = S.directory || { queues: [], agents: [] };
    const keep = [$('transfer-queue').value, $('transfer-agent').value];
    replace($('transfer-queue'), d.queues.map((q) => h('option', { value: q }, q)));
    replace($('transfer-agent'), d.agents.map((a) => h('option', { value: a.id },
      `${a.name} (${a.state || 'unknown'})`)));
    if (keep[0] && d.queues.includes(keep[0])) $('transfer-queue').value = keep[0];
    if (keep[1] && d.agents.some((a) => a.id === keep[1])) $('transfer-agent').value = keep[1];
  };
  $('open-transfer').addEventListener('click', () => {
    renderTransferTargets();
    openDialog('transfer-dialog');
    // Agents sign in and change state after the console loaded: ask again
    // each time the dialog opens.
    S.socket.request('directory').then((d) => { S.directory = d; renderTransferTargets(); }).catch(() => {});
  });
  for (const r of document.querySelectorAll('input[name="target"]')) {
    r.addEventListener('change', () => {
      const agent = document.querySelector('input[name="target"]:checked').value === 'agent';
      $('transfer-agent').hidden = !agent;
      $('transfer-agent-label').hidden = !agent;
      $('transfer-queue').hidden = agent;
      $('transfer-queue-label').hidden = agent;
    });
  }
  $('transfer-form').addEventListener('submit', () => {
    const agent = document.querySelector('input[name="target"]:checked').value === 'agent';
    if (agent) transfer('', $('transfer-agent').value);
    else transfer($('transfer-queue').value, '');
  });
  for (const b of document.querySelectorAll('dialog [data-cancel]')) {
    b.addEventListener('click', () => b.closest('dialog').close());
  }

  const toggleCustomer = (open) => {
    S.customerOpen = open;
    renderCustomer();
  };
  $('toggle-customer').addEventListener('click', () => toggleCustomer(!S.customerOpen));
  $('close-customer').addEventListener('click', () => toggleCustomer(false));

  document.addEventListener('keydown', onKey);
  document.addEventListener('visibilitychange', () => {
    const c = S.convs.get(S.selected);
    if (!document.hidden && c && c.unread) {
      c.unread = 0;
      renderList();
      updateTitle();
    }
  });
  setInterval(() => {
    tickOffers();
    const c = S.convs.get(S.selected);
    if (c && c.typing && c.typing.until <= Date.now()) {
      c.typing = null;
      renderTyping();
    }
  }, 250);
}

function onKey(ev) {
  if (ev.defaultPrevented || document.querySelector('dialog[open]') || $('console').hidden) return;
  if (ev.altKey && (ev.key === 'ArrowDown' || ev.key === 'ArrowUp')) {
    ev.preventDefault();
    step(ev.key === 'ArrowDown' ? 1 : -1);
    return;
  }
  const t = ev.target;
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (t instanceof HTMLElement && (t.isContentEditable || t.matches('input, textarea, select'))) {
    if (ev.key === 'Escape') t.blur();
    return;
  }
  const o = firstOffer();
  switch (ev.key) {
    case 'Escape':
      if (S.customerOpen && !window.matchMedia('(min-width: 1100px)').matches) {
        S.customerOpen = false;
        renderCustomer();
        $('toggle-customer').focus();
      }
      break;
    case 'a': case 'A':
      if (o) { ev.preventDefault(); accept(o.conv); }
      break;
    case 'd': case 'D':
      if (o) { ev.preventDefault(); decline(o.conv); }
      break;
    case 'j': case 'J':
      ev.preventDefault(); step(1);
      break;
    case 'k': case 'K':
      ev.preventDefault(); step(-1);
      break;
    case 'r': case 'R':
      if (S.selected) { ev.preventDefault(); $('reply-text').focus(); }
      break;
    default:
  }
}

boot();
