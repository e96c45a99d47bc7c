// The supervisor view. The server pushes a whole "board" over the
// websocket whenever the folded figures change (see docs/protocol.md,
// "Supervisor"); this module renders it, ticks the clocks between pushes,
// and sends the supervisor's actions. Customer names and text go in as text
// nodes only (dom.js), never as HTML.

import { $, h, replace, badge, channelLabel, initials, hue, clock } from '/agent/js/dom.js';
import { Socket } from '/agent/js/socket.js';
import { currentSession, signIn, signOut, storedCSRF } from '/agent/js/session.js';
import { startPromiseBoard, stopPromiseBoard, refreshPromiseBoard } from './promises.js';

const SVG = 'http://www.w3.org/2000/svg';
const SHORT = { chat: 'Chat', sms: 'SMS', email: 'Email', voice: 'Voice' }; // load chips stay on one line

const S = {
  me: null,
  csrf: storedCSRF(),
  socket: null,
  board: null,
  skew: null, // server clock minus ours
  watching: null, // conversation read in the reader
  seen: new Set(), // message ids shown in the reader
  sigs: new Map(), // section signatures, to leave unchanged parts (and open menus) alone
  ticker: null,
};

// ---------- formatting ----------

const now = () => Date.now() + (S.skew || 0);

function dur(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

const pct = (r) => (r === null || r === undefined ? '—' : `${Math.round(r * 100)}%`);
const since = (iso) => (iso ? now() - new Date(iso).getTime() : null);

// ---------- boot and sign-in (the console's flow) ----------

async function boot() {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('reader-close').addEventListener('click', closeReader);
  $('reader').addEventListener('close', () => unwatch());
  $('note-form').addEventListener('submit', addNote);
  const session = await currentSession();
  if (session) {
    takeSession(session);
    start();
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
  $('board-view').hidden = true;
  $('login').hidden = false;
  const err = $('login-error');
  err.hidden = !message;
  err.textContent = message;
  document.title = 'Sign in — Switchboard supervisor';
}

async function login(ev) {
  ev.preventDefault();
  const err = $('login-error');
  const btn = $('login-submit');
  btn.disabled = true;
  const { session, error } = await signIn($('login-id').value.trim(), $('login-password').value);
  btn.disabled = false;
  if (session) {
    takeSession(session);
    $('login-password').value = '';
    start();
    return;
  }
  err.textContent = error;
  err.hidden = false;
}

async function logout() {
  await signOut(S.csrf);
  stop();
  S.csrf = '';
  showLogin('You are signed out.');
}

function isSupervisor(role) {
  return role === 'supervisor' || role === 'admin';
}

function start() {
  if (S.me && S.me.role && !isSupervisor(S.me.role)) {
    showLogin('This page is for supervisors and admins. Sign in with such an account, or open the agent console.');
    return;
  }
  $('app').dataset.view = 'board';
  $('login').hidden = true;
  $('board-view').hidden = false;
  document.title = 'Supervisor — Switchboard';
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  S.socket = new Socket(`${proto}//${location.host}/supervisor/ws`, {
    onFrame,
    onStatus: setConn,
    onRefused: async () => {
      const res = await fetch('/api/v1/me', { credentials: 'same-origin' }).catch(() => null);
      if (res && res.status === 401) {
        stop();
        showLogin('Your session ended. Sign in again.');
        return false;
      }
      if (res && res.ok) {
        const me = await res.json().catch(() => ({}));
        takeSession(me);
        if (!isSupervisor(S.me.role)) {
          stop();
          showLogin('This page is for supervisors and admins.');
          return false;
        }
      }
      return true;
    },
  });
  S.socket.start();
  startPromiseBoard();
  clearInterval(S.ticker);
  // Only the clocks on the page advance here; figures come from the
  // server. A quarter second keeps each displayed second on time.
  S.ticker = setInterval(tick, 250);
}

function stop() {
  if (S.socket) S.socket.stop();
  S.socket = null;
  stopPromiseBoard();
  clearInterval(S.ticker);
}

function setConn(state, info) {
  const el = $('conn');
  el.dataset.state = state;
  el.textContent = state === 'online' ? 'Live'
    : state === 'offline' ? `Offline — retrying in ${Math.ceil((info?.retryIn || 0) / 1000)}s`
    : state === 'reconnecting' ? 'Reconnecting…' : 'Connecting…';
}

function toast(text, error = false) {
  const t = h('div', { class: error ? 'toast toast-error' : 'toast' }, text);
  $('toasts').appendChild(t);
  setTimeout(() => t.remove(), 5000);
}

// ---------- frames ----------

function onFrame(f) {
  switch (f.type) {
    case 'hello':
      if (f.me) {
        S.me = { ...S.me, ...f.me };
        $('me-name').textContent = S.me.name || S.me.id;
        const av = $('me-avatar');
        av.textContent = initials(S.me.name || S.me.id);
        av.style.setProperty('--hue', hue(S.me.name || S.me.id));
      }
      takeClock(f.server_time);
      S.sigs.clear();
      render(f.board);
      if (S.watching) watch(S.watching); // re-read after a reconnect
      break;
    case 'board':
      takeClock(f.server_time);
      render(f.board);
      refreshPromiseBoard();
      break;
    case 'alert':
      if (f.raised && f.alert) toast(`${alertWhere(f.alert)}: ${f.alert.message}`, true);
      if (f.raised && f.alert && f.alert.kind === 'recovery') addRecoveryAlert(f.alert);
      break;
    case 'message':
      if (f.message && f.message.conv === S.watching) addMessage(f.message);
      break;
    default:
      break; // other frames (typing, statuses) do not concern a reader
  }
}

// takeClock follows the server's clock, ignoring jitter under half a
// second so that the ticking clocks never step back.
function takeClock(iso) {
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return;
  const skew = t - Date.now();
  if (S.skew === null || Math.abs(skew - S.skew) > 500) S.skew = skew;
}

// ---------- rendering ----------

function changed(key, value) {
  const sig = JSON.stringify(value);
  if (S.sigs.get(key) === sig) return false;
  S.sigs.set(key, sig);
  return true;
}

function render(board) {
  if (!board) return;
  S.board = board;
  const from = new Date(board.today_from);
  $('today-from').textContent = `Today since ${from.toISOString().slice(11, 16)} UTC`;
  $('today-from-2').textContent = from.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  $('short-s').textContent = String(Math.round(board.short_abandon_ms / 1000));
  $('target-pct').textContent = pct(board.sl_target);
  renderAlerts(board.alerts || []);
  renderSatisfaction(board.satisfaction);
  renderQueues(board);
  renderAgents(board.agents || []);
  tick();
}

// Service recovery alerts are raised once for the workspace (a customer
// rated badly); the page keeps the latest ten until it is reloaded.
const recoveryAlerts = [];

function addRecoveryAlert(a) {
  recoveryAlerts.unshift(a);
  recoveryAlerts.length = Math.min(recoveryAlerts.length, 10);
  const box = $('recovery-alerts');
  box.hidden = false;
  replace(box, recoveryAlerts.map((x) => h('div', { class: 'sv-alert', 'data-kind': 'recovery' },
    h('strong', {}, 'Service recovery'), ' ', x.message, ' ',
    h('span', { class: 'sv-alert-since', 'data-since': x.since, 'data-fmt': 'ago' }))));
  // The rating behind the alert is in today's figures: fetch them now
  // rather than at the next periodic board.
  S.socket?.request('sync').then((b) => { if (b) render(b); }).catch(() => {});
}

const DIM_LABEL = { all: 'All', queue: 'Queue', agent: 'Agent', channel: 'Channel' };

function renderSatisfaction(sat) {
  const rows = sat?.rows || [];
  replace($('csat-rows'), rows.map((r) => h('tr', { 'data-dim': r.dimension, 'data-key': r.key },
    h('td', {}, DIM_LABEL[r.dimension] || r.dimension),
    h('td', {}, r.dimension === 'agent' ? agentName(r.key) : r.dimension === 'channel' ? channelLabel(r.key) : (r.key || 'Everything')),
    h('td', { class: 'num' }, pct(r.csat)),
    h('td', { class: 'num' }, pct(r.response_rate)),
    h('td', { class: 'num' }, String(r.responses)),
    h('td', { class: 'num' }, String(r.sent)))));
  const rec = sat?.recovery;
  $('recovery-rate').textContent = rec && rec.rated
    ? `Recovery rate: ${pct(rec.rate)} of ${rec.rated} customers in recovery rated their next conversation 4 or 5.`
    : 'CSAT is the share of ratings of 4 or 5. Recovery rate appears once a customer in recovery rates again.';
}

function alertWhere(a) {
  if (a.agent) return agentName(a.agent);
  return a.channel ? `${a.queue} · ${channelLabel(a.channel)}` : a.queue;
}

function agentName(id) {
  const a = (S.board?.agents || []).find((x) => x.id === id);
  return a ? (a.name || a.id) : id;
}

function renderAlerts(alerts) {
  const box = $('alerts');
  box.hidden = alerts.length === 0;
  replace(box, alerts.map((a) => h('div', { class: 'sv-alert', 'data-kind': a.kind },
    h('strong', {}, alertWhere(a)), ' ', a.message, ' ',
    h('span', { class: 'sv-alert-since', 'data-since': a.since, 'data-fmt': 'ago' }))));
}

function renderQueues(board) {
  const box = $('queues');
  const ids = board.queues.map((q) => q.queue);
  if (changed('queue-list', ids)) {
    replace(box, board.queues.map((q) => queueCard(q)));
  }
  for (const q of board.queues) updateQueue(q, board);
}

function queueCard(q) {
  return h('article', { class: 'sv-card sv-queue', 'data-queue': q.queue },
    h('header', { class: 'sv-queue-head' },
      h('h3', {}, q.queue),
      h('div', { class: 'sv-kpis' },
        kpi('Waiting now', 'waiting'),
        kpi('Longest wait', 'longest'),
        kpi('Answered today', 'answered'),
        kpi('ASA today', 'asa')),
      h('div', { class: 'sv-gauge', 'data-part': 'gauge' })),
    h('div', { class: 'sv-chart', 'data-part': 'chart' }),
    h('div', { class: 'sv-scroll' }, h('table', { class: 'sv-table sv-figures' },
      h('thead', {}, h('tr', {},
        ['Channel', 'Waiting', 'Longest', 'Answered 15m / today', 'Abandoned 15m / today', `Short ab. <${Math.round((q.short_abandon_ms || 0) / 1000)}s`, 'Closed in queue', 'ASA',
          'SL', 'SL w/ ab.', 'Ab. rate', 'AHT', 'Missed', 'Declined', 'Est. kept'].map((t, i) => h('th', { scope: 'col', class: i ? 'num' : '' }, t)))),
      h('tbody', { 'data-part': 'rows' }))),
    h('div', { class: 'sv-waiting', 'data-part': 'waiting' }));
}

function kpi(label, part) {
  return h('div', { class: 'sv-kpi' }, h('span', { class: 'sv-kpi-label' }, label),
    h('span', { class: 'sv-kpi-value', 'data-kpi': part }, '—'));
}

function part(card, name) {
  return card.querySelector(`[data-part="${name}"]`);
}

function updateQueue(q, board) {
  const card = [...document.querySelectorAll('.sv-queue')].find((c) => c.dataset.queue === q.queue);
  if (!card) return;
  card.querySelector('[data-kpi="waiting"]').textContent = String(q.waiting);
  const longest = card.querySelector('[data-kpi="longest"]');
  longest.dataset.since = q.oldest_since || '';
  longest.dataset.limit = String(q.wait_limit_ms || 0);
  if (!q.oldest_since) longest.textContent = '—';
  card.querySelector('[data-kpi="answered"]').textContent = String(q.today.answered);
  card.querySelector('[data-kpi="asa"]').textContent = q.today.answered ? dur(q.today.asa_ms) : '—';
  const target = q.sl_target || board.sl_target;
  if (changed(`gauge:${q.queue}`, [q.today.service_level, target, q.threshold_ms])) {
    replace(part(card, 'gauge'), gauge(q.today.service_level, target, q.threshold_ms));
  }
  const chartBox = part(card, 'chart');
  if (changed(`chart:${q.queue}`, [q.chart, q.threshold_ms, chartBox.clientWidth])) {
    replace(chartBox, chart(q, chartBox.clientWidth));
  }
  const rows = q.channels.map((c) => h('tr', { 'data-channel': c.channel },
    h('th', { scope: 'row' }, badge(c.channel)),
    h('td', { class: 'num', 'data-cell': 'waiting' }, String(c.waiting)),
    h('td', { class: 'num', 'data-since': c.oldest_since || '', 'data-limit': String(q.wait_limit_ms || 0) }, '—'),
    h('td', { class: 'num' }, `${c.last15.answered} / ${c.today.answered}`),
    h('td', { class: 'num' }, `${c.last15.abandoned} / ${c.today.abandoned}`),
    h('td', { class: 'num' }, String(c.today.short_abandoned)),
    h('td', { class: 'num', 'data-cell': 'closed-in-queue', title: 'Closed by staff before an answer (spam, a duplicate): neither answered nor abandoned' }, String(c.today.closed_in_queue || 0)),
    h('td', { class: 'num' }, c.today.answered ? dur(c.today.asa_ms) : '—'),
    h('td', { class: 'num', 'data-low': low(c.today.service_level, target) }, pct(c.today.service_level)),
    h('td', { class: 'num', 'data-low': low(c.today.service_level_abandons, target) }, pct(c.today.service_level_abandons)),
    h('td', { class: 'num' }, pct(c.today.abandon_rate)),
    h('td', { class: 'num' }, c.today.aht_ms ? dur(c.today.aht_ms) : '—'),
    h('td', { class: 'num' }, String(c.today.missed_offers)),
    h('td', { class: 'num' }, String(c.today.declined_offers || 0)),
    h('td', { class: 'num' }, pct(c.today.estimate_accuracy))));
  if (rows.length === 0) rows.push(h('tr', {}, h('td', { colspan: 15, class: 'sv-empty' }, 'No traffic today.')));
  if (changed(`rows:${q.queue}`, q.channels)) replace(part(card, 'rows'), rows);
  const agents = (board.agents || []).map((a) => [a.id, a.name, a.state]);
  if (changed(`waiting:${q.queue}`, [q.waiting_now, agents])) {
    // A push must not undo what the supervisor is choosing: keep each
    // row's chosen agent and the focus across the rebuild.
    const box = part(card, 'waiting');
    const chosen = new Map([...box.querySelectorAll('.sv-wait')].map((li) => [li.dataset.conv, li.querySelector('select').value]));
    const focused = box.contains(document.activeElement) ? document.activeElement.closest('.sv-wait')?.dataset.conv : null;
    replace(box, waitingList(q, board));
    for (const li of box.querySelectorAll('.sv-wait')) {
      const sel = li.querySelector('select');
      if (chosen.get(li.dataset.conv)) sel.value = chosen.get(li.dataset.conv);
      if (li.dataset.conv === focused) sel.focus();
    }
  }
}

const low = (v, target) => (v !== null && v !== undefined && v < target ? 'true' : undefined);

function waitingList(q, board) {
  if (!q.waiting_now.length) return [];
  const agents = board.agents || [];
  return [
    h('h4', {}, `Waiting in ${q.queue}`),
    h('ul', { class: 'sv-wait-list' }, q.waiting_now.map((w) => {
      const select = h('select', { 'aria-label': `Agent for ${w.conv}` },
        h('option', { value: '' }, 'Choose an agent…'),
        agents.map((a) => h('option', { value: a.id }, `${a.name || a.id} (${a.state})`)));
      const assign = h('button', {
        type: 'button', class: 'btn btn-small btn-primary',
        onclick: async () => {
          if (!select.value) { select.focus(); return; }
          try {
            await S.socket.request('assign', { conv: w.conv, agent: select.value });
            toast(`Offered to ${agentName(select.value)}`);
          } catch (e) { toast(`Could not assign: ${e.message}`, true); }
        },
      }, 'Assign');
      return h('li', { class: 'sv-wait', 'data-conv': w.conv },
        badge(w.channel),
        h('span', { class: 'sv-wait-name' }, w.customer || 'Customer'),
        h('span', { class: 'sv-wait-id' }, w.conv),
        h('span', { class: 'sv-wait-time', 'data-since': w.enqueued_at, 'data-limit': String(q.wait_limit_ms || 0) }),
        w.offered_to ? h('span', { class: 'sv-wait-offer' }, `offered to ${agentName(w.offered_to)}`) : null,
        h('span', { class: 'sv-wait-actions' },
          h('button', { type: 'button', class: 'btn btn-small btn-ghost', onclick: () => openReader(w.conv, w.customer) }, 'Read'),
          select, assign));
    })),
  ];
}

function renderAgents(agents) {
  $('agent-count').textContent = String(agents.length);
  $('agents-empty').hidden = agents.length > 0;
  if (!changed('agents', agents)) return;
  replace($('agent-rows'), agents.map((a) => h('tr', { 'data-agent': a.id },
    h('th', { scope: 'row' }, h('span', { class: 'sv-agent' },
      avatar(a.name || a.id), h('span', {}, a.name || a.id))),
    h('td', {}, h('span', { class: 'sv-state', 'data-state': a.state }, a.state),
      reasonText(a.reason) ? h('span', { class: 'sv-reason' }, reasonText(a.reason)) : null),
    h('td', { 'data-since': a.since, 'data-fmt': 'plain' }),
    h('td', {}, loads(a)),
    h('td', { class: 'num' }, String(a.answered_today)),
    h('td', { class: 'num' }, String(a.handled_today)),
    h('td', { class: 'num' }, a.handled_today ? dur(a.aht_ms) : '—'),
    h('td', { class: 'num' }, String(a.missed_offers_today)),
    h('td', { class: 'num' }, String(a.declined_offers_today || 0)),
    h('td', {}, (a.conversations || []).map((c) => h('button', {
      type: 'button', class: 'btn btn-small btn-ghost sv-conv', title: c,
      onclick: () => openReader(c, (a.customers || {})[c]),
    }, (a.customers || {})[c] || 'Customer'))),
    h('td', { class: 'sv-set' }, ['available', 'away', 'offline'].filter((st) => st !== a.state).map((st) => h('button', {
      type: 'button', class: 'btn btn-small', 'data-set': st,
      onclick: async () => {
        try {
          await S.socket.request('agent_state', { agent: a.id, state: st, reason: st === 'away' ? 'Set by supervisor' : '' });
        } catch (e) { toast(`Could not change ${a.name || a.id}: ${e.message}`, true); }
      },
    }, st === 'available' ? 'Available' : st === 'away' ? 'Away' : 'Offline'))))));
}

// Routing's presence reasons, in words: an agent whose console came back
// is simply in their state again, there is nothing to explain.
const REASONS = { 'heartbeat lost': 'connection lost', 'heartbeat back': '' };
const reasonText = (r) => (r in REASONS ? REASONS[r] : r || '');

function avatar(name) {
  const el = h('span', { class: 'avatar sv-avatar', 'aria-hidden': 'true' }, initials(name));
  el.style.setProperty('--hue', hue(name));
  return el;
}

function loads(a) {
  const cap = a.capacity || {};
  const load = a.load || {};
  const chans = Object.keys(cap).filter((ch) => cap[ch] > 0).sort();
  if (!chans.length) return '—';
  return h('span', { class: 'sv-loads' }, chans.map((ch) => {
    const n = load[ch] || 0;
    return h('span', { class: 'sv-load', 'data-channel': ch, 'data-full': n >= cap[ch] ? 'true' : undefined,
      title: `${channelLabel(ch)}: ${n} of ${cap[ch]}` }, `${SHORT[ch] || channelLabel(ch)} ${n}/${cap[ch]}`);
  }));
}

// tick advances every clock on the page from the times the board carries.
function tick() {
  for (const el of document.querySelectorAll('[data-since]')) {
    const iso = el.dataset.since;
    if (!iso) {
      delete el.dataset.over; // nobody waits: nothing is late
      continue;
    }
    const ms = since(iso);
    el.textContent = el.dataset.fmt === 'ago' ? `since ${clock(iso)}` : dur(ms);
    const limit = Number(el.dataset.limit || 0);
    if (limit) el.dataset.over = ms > limit ? 'true' : ms > limit * 0.75 ? 'near' : 'false';
  }
}

// ---------- SVG ----------

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

// gauge is a half-dial of today's service level with the target marked.
function gauge(level, target, thresholdMs) {
  const r = 40;
  const cx = 50;
  const cy = 48;
  const point = (f) => {
    const a = Math.PI * (1 - f);
    return [cx + r * Math.cos(a), cy - r * Math.sin(a)];
  };
  const arc = (f) => {
    const [x, y] = point(Math.min(Math.max(f, 0), 0.9999));
    return `M ${cx - r} ${cy} A ${r} ${r} 0 0 1 ${x.toFixed(2)} ${y.toFixed(2)}`;
  };
  const [tx1, ty1] = point(target);
  const inner = [cx + (r - 9) * Math.cos(Math.PI * (1 - target)), cy - (r - 9) * Math.sin(Math.PI * (1 - target))];
  const state = level === null || level === undefined ? 'none' : level >= target ? 'ok' : 'low';
  const label = level === null || level === undefined ? 'No answers yet' : `${Math.round(level * 100)}% answered within ${Math.round(thresholdMs / 1000)}s`;
  return svg('svg', { viewBox: '0 0 100 62', class: 'sv-gauge-svg', role: 'img', 'aria-label': `Service level: ${label}; target ${Math.round(target * 100)}%`, 'data-state': state },
    svg('path', { d: arc(1), class: 'sv-gauge-track' }),
    state === 'none' || level < 0.005 ? null : svg('path', { d: arc(level), class: 'sv-gauge-fill' }),
    svg('line', { x1: tx1.toFixed(2), y1: ty1.toFixed(2), x2: inner[0].toFixed(2), y2: inner[1].toFixed(2), class: 'sv-gauge-target' }),
    svg('text', { x: cx, y: cy - 6, class: 'sv-gauge-value' }, state === 'none' ? '—' : `${Math.round(level * 100)}%`),
    svg('text', { x: cx, y: cy + 11, class: 'sv-gauge-label' }, `SL ${Math.round(thresholdMs / 1000)}s · target ${Math.round(target * 100)}%`));
}

// chart draws the last 60 minutes: bars are each minute's longest answer
// wait, the line its average (ASA), the dashed line the SL threshold.
function chart(q, width) {
  // The viewBox follows the box's width, drawn 1:1, so labels keep their
  // size on any screen (a resize redraws).
  const W = Math.max(360, Math.round(width || 1200));
  const H = 140;
  const padB = 22;
  const pts = q.chart || [];
  const maxData = Math.max(0, ...pts.map((p) => p.max_ms));
  const top = Math.max(q.threshold_ms * 1.5, maxData * 1.1, 10000);
  // The y-axis labels ("1m 34s") get the room they need: a fixed margin
  // clipped long ones to ".m 34s".
  const longest = Math.max(...[0, 0.5, 1].map((f) => dur(top * f).length));
  const padL = Math.max(40, 12 + Math.ceil(longest * 6.6));
  const x = (i) => padL + (i * (W - padL - 4)) / Math.max(pts.length, 1);
  const bw = Math.max(2, (W - padL - 4) / Math.max(pts.length, 1) - 2);
  const y = (ms) => (H - padB) - ((H - padB - 6) * ms) / top;
  const kids = [];
  for (const f of [0, 0.5, 1]) {
    const v = top * f;
    kids.push(svg('line', { x1: padL, x2: W, y1: y(v), y2: y(v), class: 'sv-grid' }));
    kids.push(svg('text', { x: padL - 4, y: y(v) + 3, class: 'sv-axis', 'text-anchor': 'end' }, dur(v)));
  }
  pts.forEach((p, i) => {
    if (p.answered || p.abandoned) {
      kids.push(svg('rect', { x: x(i) + 1, y: y(p.max_ms), width: bw, height: Math.max(1, (H - padB) - y(p.max_ms)),
        class: p.max_ms > q.threshold_ms ? 'sv-bar sv-bar-over' : 'sv-bar' }, svg('title', {}, `${clock(p.t)}: ${p.answered} answered, longest ${dur(p.max_ms)}, average ${dur(p.asa_ms)}, ${p.abandoned} abandoned`)));
    }
  });
  // The average exists only in minutes with answers: the line breaks
  // where there were none instead of dropping to zero or bridging them, and
  // a lone minute is a dot.
  const runs = [];
  let run = [];
  pts.forEach((p, i) => {
    if (p.answered) run.push(`${(x(i) + 1 + bw / 2).toFixed(1)},${y(p.asa_ms).toFixed(1)}`);
    else if (run.length) { runs.push(run); run = []; }
  });
  if (run.length) runs.push(run);
  for (const r of runs) {
    if (r.length > 1) {
      kids.push(svg('polyline', { points: r.join(' '), class: 'sv-asa' }));
      continue;
    }
    const [cx, cy] = r[0].split(',');
    kids.push(svg('circle', { cx, cy, r: 2.5, class: 'sv-asa-dot' }));
  }
  kids.push(svg('line', { x1: padL, x2: W, y1: y(q.threshold_ms), y2: y(q.threshold_ms), class: 'sv-threshold' }));
  kids.push(svg('text', { x: padL, y: H - 4, class: 'sv-axis' }, '60 min ago'));
  kids.push(svg('text', { x: (padL + W) / 2, y: H - 4, class: 'sv-axis', 'text-anchor': 'middle' }, '30 min ago'));
  kids.push(svg('text', { x: W, y: H - 4, class: 'sv-axis', 'text-anchor': 'end' }, 'now'));
  return [
    h('div', { class: 'sv-chart-head' }, h('span', {}, 'Answer waits, last 60 minutes'),
      h('span', { class: 'sv-legend' }, h('i', { class: 'sv-key-bar' }), 'longest', h('i', { class: 'sv-key-asa' }), 'average',
        h('i', { class: 'sv-key-th' }), `SL ${Math.round(q.threshold_ms / 1000)}s`)),
    svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'sv-chart-svg', role: 'img',
      'aria-label': `Answer waits in ${q.queue} over the last 60 minutes` }, ...kids),
  ];
}

// ---------- reading a conversation ----------

async function openReader(conv, customer) {
  $('reader-title').textContent = customer || conv;
  $('reader-sub').textContent = customer ? `${conv} · read only · live` : 'Read only · live';
  replace($('reader-transcript'));
  S.seen.clear();
  if (!$('reader').open) $('reader').showModal();
  await watch(conv);
}

async function watch(conv) {
  S.watching = conv;
  try {
    // A long transcript comes in pages; ask for the next while there is one.
    let after = '';
    for (;;) {
      const data = await S.socket.request('watch', { conv, after_id: after });
      if (S.watching !== conv) return;
      for (const m of data.messages || []) addMessage(m);
      if (!data.more) break;
      after = data.next;
    }
  } catch (e) {
    $('reader-sub').textContent = `Cannot read: ${e.message}`;
  }
}

function unwatch() {
  if (!S.watching) return;
  S.watching = null;
  if (S.socket && S.socket.open) S.socket.request('unwatch').catch(() => {});
}

function closeReader() {
  $('reader').close();
}

function addMessage(m) {
  if (S.seen.has(m.id)) return;
  S.seen.add(m.id);
  const kind = m.kind || 'system';
  const el = kind === 'system'
    ? h('li', { class: 'msg msg-system' }, m.text)
    : h('li', { class: `msg msg-${kind}` },
      h('div', { class: 'msg-meta' }, h('span', { class: 'msg-author' }, m.author || (kind === 'customer' ? 'Customer' : '')),
        h('time', { datetime: m.at }, clock(m.at)), kind === 'note' ? h('span', {}, 'internal note') : null),
      h('div', { class: 'bubble' }, m.text));
  const list = $('reader-transcript');
  list.appendChild(el);
  list.scrollTop = list.scrollHeight;
}

async function addNote(ev) {
  ev.preventDefault();
  const text = $('note-text').value.trim();
  if (!text || !S.watching) return;
  try {
    const m = await S.socket.request('note', { conv: S.watching, text });
    if (m) addMessage(m);
    $('note-text').value = '';
  } catch (e) {
    toast(`Note not added: ${e.message}`, true);
  }
}

let resizeTimer = null;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => render(S.board), 150);
});

boot();
