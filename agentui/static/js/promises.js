// Follow-up promises in the console, over the REST API (docs/api.md):
// the "Promise" button of a conversation opens a form (what, due time, the
// words the customer is told, wait as pending), the sidebar lists the
// agent's open promises with Done and Cancel, reminders and due notices
// arrive as socket frames (promise_reminder, promise_due), and the
// customer panel shows the customer's timeline. The desk decides who may
// do what; this module only asks and shows.

import { $, h, replace, badge, clock, day } from './dom.js';

const P = {
  csrf: () => '',
  toast: () => {},
  current: () => null, // the selected conversation
  list: [],
  timer: null,
  timelineFor: '',
  timelineSeq: 0,
};

const REFRESH_MS = 30000;

async function api(method, path, body) {
  const res = await fetch(`/api/v1${path}`, {
    method,
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': P.csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch { /* empty body */ }
  if (!res.ok) throw new Error((data && data.error) || `HTTP ${res.status}`);
  return data;
}

/** startPromises adds the promise button, form and list to the console. */
export function startPromises({ csrf, toast, current }) {
  stopPromises();
  Object.assign(P, { csrf, toast, current });
  $('open-close').before(h('button', { type: 'button', class: 'btn', id: 'open-promise', onClick: openForm }, 'Promise'));
  document.querySelector('.sidebar .shortcuts').before(
    h('section', { class: 'promises', id: 'promises', 'aria-labelledby': 'promises-title' },
      h('div', { class: 'sidebar-head' }, h('h2', { id: 'promises-title' }, 'Promises'), h('span', { class: 'count', id: 'promise-count' }, '0')),
      h('ul', { class: 'promise-list', id: 'promise-list' })));
  document.body.append(form());
  $('customer-body').append(h('h3', { id: 'timeline-title' }, 'Timeline'), h('ol', { class: 'timeline', id: 'cust-timeline', 'aria-labelledby': 'timeline-title' }));
  refresh();
  P.timer = setInterval(refresh, REFRESH_MS);
}

/** stopPromises removes it all (sign-out). */
export function stopPromises() {
  clearInterval(P.timer);
  for (const id of ['open-promise', 'promises', 'promise-dialog', 'timeline-title', 'cust-timeline']) {
    const el = $(id);
    if (el) el.remove();
  }
  P.list = [];
  P.timelineFor = '';
}

/** onPromiseFrame shows a reminder or due notice and refreshes the list. */
export function onPromiseFrame(f) {
  const p = f.promise;
  if (f.type === 'promise_reminder') {
    P.toast(`Promise due at ${clock(p.due)}: ${p.what}`, 'warn');
  } else if (p.returned === 'queue') {
    P.toast(`Promise due: "${p.what}" went to the queue — you were not available.`, 'warn');
  } else {
    P.toast(`Promise due now: ${p.what}`, 'warn');
  }
  refresh();
}

async function refresh() {
  try {
    const { promises } = await api('GET', '/promises');
    P.list = promises;
  } catch { return; }
  renderList();
}

function renderList() {
  const el = $('promise-list');
  if (!el) return;
  $('promise-count').textContent = String(P.list.length);
  const now = Date.now();
  replace(el, P.list.length ? P.list.map((p) => {
    const late = Date.parse(p.due) < now;
    return h('li', { class: 'promise', 'data-promise': p.id, 'data-late': String(late) },
      h('div', { class: 'promise-what' }, p.what),
      h('div', { class: 'promise-meta' }, badge(p.channel),
        h('span', { class: late ? 'promise-due late' : 'promise-due' }, `${late ? 'Late · was due' : 'Due'} ${day(p.due)} ${clock(p.due)}`),
        p.pending ? h('span', { class: 'promise-pending' }, 'pending') : null),
      h('div', { class: 'promise-actions' },
        h('button', { type: 'button', class: 'btn btn-small', onClick: () => keep(p) }, 'Done'),
        h('button', { type: 'button', class: 'btn btn-ghost btn-small', onClick: () => cancel(p) }, 'Cancel')));
  }) : [h('li', { class: 'promise-none' }, 'No open promises.')]);
}

async function keep(p) {
  const via = p.channel === 'voice' ? 'call' : 'note';
  try {
    const kept = await api('POST', `/conversations/${encodeURIComponent(p.conversation_id)}/promises/${encodeURIComponent(p.id)}/keep`, { via });
    P.toast(kept.state === 'kept' ? 'Promise kept on time.' : 'Promise kept, late.');
  } catch (e) {
    P.toast(`Could not mark it done: ${e.message}`, 'error');
  }
  changed();
}

async function cancel(p) {
  if (!window.confirm(`Cancel the promise "${p.what}"? It counts as broken.`)) return;
  try {
    await api('POST', `/conversations/${encodeURIComponent(p.conversation_id)}/promises/${encodeURIComponent(p.id)}/cancel`);
    P.toast('Promise cancelled (broken).');
  } catch (e) {
    P.toast(`Could not cancel it: ${e.message}`, 'error');
  }
  changed();
}

// changed refreshes the list and the open timeline after the agent acted.
function changed() {
  refresh();
  P.timelineFor = '';
  renderTimeline(P.current());
}

// ---------- the form ----------

function pad(n) { return String(n).padStart(2, '0'); }

// localInput formats d for <input type="datetime-local"> in the agent's zone.
function localInput(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function form() {
  return h('dialog', { class: 'dialog', id: 'promise-dialog', 'aria-labelledby': 'promise-title' },
    h('form', { id: 'promise-form', novalidate: true, onSubmit: submit },
      h('h2', { id: 'promise-title' }, 'Make a promise'),
      h('label', { for: 'promise-what' }, 'What you will do'),
      h('input', { id: 'promise-what', required: true, maxlength: '500', placeholder: 'Call back about the refund', autocomplete: 'off' }),
      h('label', { for: 'promise-due' }, 'By'),
      h('input', { id: 'promise-due', type: 'datetime-local', required: true }),
      h('label', { for: 'promise-message' }, 'Tell the customer ', h('span', { class: 'hint' }, '(optional; {due} becomes the time in their zone)')),
      h('textarea', { id: 'promise-message', rows: '3' }),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'promise-pending', checked: true }),
        ' Wait as pending until then (leaves your list; comes back to you when due or when the customer writes)'),
      h('p', { class: 'form-error', id: 'promise-error', role: 'alert', hidden: true }),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn btn-ghost', onClick: () => $('promise-dialog').close() }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn btn-primary', id: 'promise-submit' }, 'Make promise'))));
}

function openForm() {
  const c = P.current();
  if (!c) return;
  const due = new Date(Date.now() + 3600 * 1000);
  due.setMinutes(0, 0, 0);
  $('promise-what').value = '';
  $('promise-due').value = localInput(due);
  $('promise-message').value = "I'll get back to you about this by {due}.";
  $('promise-pending').checked = true;
  $('promise-error').hidden = true;
  $('promise-dialog').showModal();
  $('promise-what').focus();
}

async function submit(ev) {
  ev.preventDefault();
  const c = P.current();
  const err = $('promise-error');
  const due = new Date($('promise-due').value);
  const what = $('promise-what').value.trim();
  if (!c || !what || Number.isNaN(due.getTime())) {
    err.textContent = 'Say what you will do, and by when.';
    err.hidden = false;
    return;
  }
  const btn = $('promise-submit');
  btn.disabled = true;
  try {
    await api('POST', `/conversations/${encodeURIComponent(c.id)}/promises`, {
      what, due: due.toISOString(), pending: $('promise-pending').checked, message: $('promise-message').value.trim(),
    });
    $('promise-dialog').close();
    P.toast(`Promise recorded: due ${day(due.toISOString())} ${clock(due.toISOString())}.`);
    changed();
  } catch (e) {
    err.textContent = e.message;
    err.hidden = false;
  } finally {
    btn.disabled = false;
  }
}

// ---------- the customer's timeline ----------

const OUTCOME = { open: 'open', kept: 'kept', late: 'late', broken: 'broken' };

/** renderTimeline shows the timeline of conversation c's customer. */
export async function renderTimeline(c) {
  const el = $('cust-timeline');
  if (!el || !c || !c.customer || !c.customer.id) return;
  if (P.timelineFor === c.customer.id) return;
  P.timelineFor = c.customer.id;
  const seq = ++P.timelineSeq;
  let items = [];
  try {
    ({ items } = await api('GET', `/customers/${encodeURIComponent(c.customer.id)}/timeline`));
  } catch {
    P.timelineFor = '';
    return;
  }
  if (seq !== P.timelineSeq) return;
  replace(el, items.slice().reverse().map((it) => h('li', { class: `tl tl-${it.kind}`, 'data-kind': it.kind, 'data-state': it.state || '' },
    h('div', { class: 'tl-top' }, it.channel ? badge(it.channel) : null, h('span', { class: 'tl-date' }, `${day(it.at)} ${clock(it.at)}`)),
    it.kind === 'promise'
      ? h('p', { class: 'tl-text' }, `Promise: ${it.text} `, h('span', { class: `tl-outcome tl-${OUTCOME[it.state] || 'open'}` }, it.state))
      : h('p', { class: 'tl-text' }, it.kind === 'conversation'
        ? [it.state === 'closed' || it.state === 'abandoned' ? (it.text || it.state).replace(/_/g, ' ') : 'open', it.agent_id ? ` · ${it.agent_id}` : '']
        : it.text || it.kind))));
}
