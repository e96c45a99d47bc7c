// The inbox views over GET /api/v1/conversations: Mine (the live list the
// socket keeps), Closed 7 days (the agent's own, opened read-only) and, for
// supervisors and admins, All open. The desk decides what each caller sees;
// this module only asks. A closed email conversation reopens when the
// customer writes in its thread and then comes back under Mine as an
// offer; on the other channels a new message starts a new conversation.

import { $, h, replace, badge, clock, day } from './dom.js';

const WEEK_MS = 7 * 24 * 3600 * 1000;
const PAGE = 100;

const VIEWS = [
  { id: 'mine', label: 'Mine' },
  { id: 'closed', label: 'Closed 7 days', query: () => `state=closed&updated_since=${encodeURIComponent(new Date(Date.now() - WEEK_MS).toISOString())}` },
  { id: 'all', label: 'All open', query: () => 'state=open', supervisors: true },
];

let current = 'mine';
let loadSeq = 0;

const supervises = (me) => me && (me.role === 'supervisor' || me.role === 'admin');

/** startInbox adds the view switcher for the signed-in account. */
export function startInbox(me) {
  stopInbox();
  const head = document.querySelector('.sidebar .sidebar-head');
  const tabs = h('div', { class: 'inbox-views', id: 'inbox-views', role: 'tablist', 'aria-label': 'Views' },
    ...VIEWS.filter((v) => !v.supervisors || supervises(me)).map((v) =>
      h('button', { type: 'button', role: 'tab', class: 'inbox-tab', 'data-view': v.id, 'aria-selected': String(v.id === 'mine'), onClick: () => show(v.id) }, v.label)));
  head.after(tabs,
    h('ul', { class: 'conv-list inbox-list', id: 'inbox-list', 'aria-label': 'Listed conversations' }),
    h('p', { class: 'sidebar-empty inbox-empty', id: 'inbox-empty', hidden: true }));
  $('conversation').append(h('section', { class: 'inbox-read', id: 'inbox-read', 'aria-label': 'Read-only conversation', hidden: true }));
  show('mine');
}

/** stopInbox removes it (sign-out). */
export function stopInbox() {
  for (const id of ['inbox-views', 'inbox-list', 'inbox-empty', 'inbox-read']) {
    const el = document.getElementById(id);
    if (el) el.remove();
  }
  document.querySelector('.workspace').dataset.inbox = 'mine';
  current = 'mine';
}

function show(view) {
  current = view;
  document.querySelector('.workspace').dataset.inbox = view;
  for (const t of document.querySelectorAll('.inbox-tab')) t.setAttribute('aria-selected', String(t.dataset.view === view));
  $('inbox-read').hidden = true;
  if (view !== 'mine') load(view);
}

async function getJSON(path) {
  const res = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`${res.status}`);
  return res.json();
}

async function load(view) {
  const seq = ++loadSeq;
  const list = $('inbox-list');
  const empty = $('inbox-empty');
  replace(list);
  empty.hidden = false;
  replace(empty, 'Loading…');
  const spec = VIEWS.find((v) => v.id === view);
  const convs = [];
  try {
    // A page may be short and still have a next; follow a few.
    let cursor = '';
    for (let i = 0; i < 5 && convs.length < PAGE; i++) {
      const page = await getJSON(`/api/v1/conversations?${spec.query()}&limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      convs.push(...page.conversations);
      if (!(cursor = page.next)) break;
    }
  } catch (e) {
    if (seq === loadSeq) replace(empty, `Could not load this view (${e.message}).`);
    return;
  }
  if (seq !== loadSeq) return;
  replace(list, convs.map((c) => h('li', {},
    h('button', { type: 'button', class: 'conv-item', 'data-conv': c.id, 'data-state': c.state, onClick: () => open(c) },
      h('span', { class: 'conv-item-main' },
        h('span', { class: 'conv-item-top' },
          h('span', { class: 'conv-item-name' }, c.customer_address || c.customer_id),
          h('span', { class: 'conv-item-time' }, clock(c.updated_at || c.created_at)),
        ),
        h('span', { class: 'conv-item-bottom' },
          badge(c.channel),
          h('span', { class: 'conv-item-text' }, c.state === 'closed' ? (c.disposition || 'closed') : `${c.state} · ${c.queue}${c.agent_id ? ` · ${c.agent_id}` : ''}`),
        ),
      )))));
  empty.hidden = convs.length > 0;
  replace(empty, view === 'closed' ? 'Nothing you closed in the last 7 days.' : 'No open conversations.');
}

const KIND = { customer: 'msg-customer', agent: 'msg-agent', note: 'msg-note' };

// open shows a listed conversation read-only: its transcript, no composer.
async function open(c) {
  for (const b of document.querySelectorAll('#inbox-list .conv-item')) b.setAttribute('aria-current', String(b.dataset.conv === c.id));
  const pane = $('inbox-read');
  pane.hidden = false;
  replace(pane, h('p', { class: 'msg msg-system' }, 'Loading the conversation…'));
  let entries = [];
  try {
    entries = (await getJSON(`/api/v1/conversations/${encodeURIComponent(c.id)}/messages?limit=500`)).entries;
  } catch (e) {
    replace(pane, h('p', { class: 'msg msg-system' }, `Could not load it (${e.message}).`));
    return;
  }
  const note = c.state === 'closed'
    ? (c.channel === 'email' ? 'Closed. Read-only; it reopens if the customer writes in this thread.' : 'Closed. Read-only; a new message from the customer starts a new conversation.')
    : 'Read-only here; it is answered from its holder\'s console.';
  replace(pane,
    h('header', { class: 'conv-head' },
      h('div', { class: 'conv-title' },
        h('h2', {}, c.customer_address || c.customer_id),
        h('div', { class: 'conv-meta' }, badge(c.channel), h('span', {}, `Queue: ${c.queue}`), h('span', { class: 'closed-tag' }, c.state))),
    ),
    h('p', { class: 'inbox-readonly', role: 'note' }, note),
    h('ol', { class: 'transcript', 'aria-label': 'Transcript', tabindex: '0' },
      ...entries.filter((e) => KIND[e.type] || e.type === 'system').map((e) => (KIND[e.type]
        ? h('li', { class: `msg ${KIND[e.type]}` },
          h('div', { class: 'msg-meta' },
            h('span', { class: 'msg-author' }, e.type === 'note' ? `Internal note · ${e.author || ''}` : e.type === 'customer' ? 'Customer' : (e.author || '')),
            h('time', { datetime: e.at }, `${day(e.at)} ${clock(e.at)}`)),
          h('div', { class: 'bubble' }, e.text || ''))
        : h('li', { class: 'msg msg-system' }, h('span', {}, e.text || e.event || ''), ' · ', clock(e.at))))),
  );
}
