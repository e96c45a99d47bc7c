// The supervisors' promise board (GET /api/v1/promises/board): promises
// due within the hour, at risk (owner away or offline), late and broken.
// It is read when the page starts, every few seconds, and whenever the
// live board changes (an agent's state change puts a promise at risk).

import { $, h, replace, badge, clock } from '/agent/js/dom.js';

const POLL_MS = 5000;
const MIN_GAP_MS = 1000;

const B = { timer: null, last: 0, pending: null, seq: 0 };

const LISTS = [
  { key: 'due_soon', title: 'Due within the hour', empty: 'None due within the hour.' },
  { key: 'at_risk', title: 'At risk — owner away or offline', empty: 'None at risk.' },
  { key: 'late', title: 'Late', empty: 'None late.' },
  { key: 'broken', title: 'Broken (last 24 h)', empty: 'None broken.' },
];

/** startPromiseBoard adds the section and starts reading the board. */
export function startPromiseBoard() {
  stopPromiseBoard();
  const main = document.querySelector('.sv-main');
  main.append(h('section', { id: 'promises', 'aria-labelledby': 'promises-title' },
    h('h2', { class: 'sv-h', id: 'promises-title' }, 'Promises'),
    h('div', { class: 'sv-promises', id: 'promise-board' },
      ...LISTS.map((l) => h('div', { class: 'sv-card sv-plist', 'data-list': l.key },
        h('h3', {}, l.title, ' ', h('span', { class: 'count', id: `pcount-${l.key}` }, '0')),
        h('ul', { id: `plist-${l.key}` }))))));
  refreshPromiseBoard();
  B.timer = setInterval(refreshPromiseBoard, POLL_MS);
}

/** stopPromiseBoard removes it (sign-out). */
export function stopPromiseBoard() {
  clearInterval(B.timer);
  clearTimeout(B.pending);
  B.pending = null;
  const el = $('promises');
  if (el) el.remove();
}

/** refreshPromiseBoard reads the board again, at most once a second. */
export function refreshPromiseBoard() {
  const wait = B.last + MIN_GAP_MS - Date.now();
  if (wait > 0) {
    if (!B.pending) B.pending = setTimeout(() => { B.pending = null; refreshPromiseBoard(); }, wait);
    return;
  }
  B.last = Date.now();
  load();
}

async function load() {
  const seq = ++B.seq;
  let board;
  try {
    const res = await fetch('/api/v1/promises/board', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (!res.ok) return;
    board = await res.json();
  } catch { return; }
  if (seq !== B.seq || !$('promise-board')) return;
  for (const l of LISTS) {
    const items = board[l.key] || [];
    $(`pcount-${l.key}`).textContent = String(items.length);
    replace($(`plist-${l.key}`), items.length ? items.map(row) : [h('li', { class: 'sv-empty' }, l.empty)]);
  }
}

function row(p) {
  const when = p.state === 'open'
    ? `due ${clock(p.due)}`
    : p.state === 'late' ? `kept ${Math.round(p.lateness_seconds / 60)} min late` : `broken ${clock(p.resolved_at)}`;
  return h('li', { class: 'sv-promise', 'data-promise': p.id, 'data-outcome': p.outcome },
    badge(p.channel),
    h('span', { class: 'sv-promise-what' }, p.what),
    h('span', { class: 'sv-promise-who' }, p.agent_id, p.owner_state ? h('span', { class: 'sv-state', 'data-state': p.owner_state }, ` (${p.owner_state})`) : null),
    h('span', { class: 'sv-promise-when' }, when));
}
