// "New conversation": an agent texts or emails a customer first, through
// POST /api/v1/conversations (docs/api.md, "Starting a conversation"). The
// desk decides who may and whether the customer may be contacted; this
// module only asks and shows the answer. The started conversation reaches
// the console as an "assigned" frame like any other; once it is there it
// is selected. The dialog is built here so the page's HTML stays the
// console's.

import { $, h, replace } from './dom.js';

const O = {
  csrf: () => '',
  queues: () => [],
  open: () => false, // selects a conversation the console holds; false when it does not (yet)
};

/**
 * startOutbound adds the "New conversation" button and dialog. opts:
 * csrf() the session's token, queues() the queue names known to the
 * console, open(id) selects a conversation when the console holds it.
 */
export function startOutbound(opts) {
  stopOutbound();
  Object.assign(O, opts);
  const head = document.querySelector('.sidebar .sidebar-head');
  head.append(h('button', { type: 'button', class: 'btn btn-small btn-primary new-conv', id: 'open-outbound', onClick: openDialog }, 'New'));
  document.getElementById('app').append(dialog());
}

/** stopOutbound removes them (sign-out). */
export function stopOutbound() {
  for (const id of ['open-outbound', 'outbound-dialog']) document.getElementById(id)?.remove();
}

function dialog() {
  const channel = h('select', { id: 'outbound-channel', onChange: syncChannel },
    h('option', { value: 'sms' }, 'SMS'), h('option', { value: 'email' }, 'Email'));
  return h('dialog', { class: 'dialog dialog-wide', id: 'outbound-dialog', 'aria-labelledby': 'outbound-title' },
    h('form', { id: 'outbound-form', novalidate: true, onSubmit: submit },
      h('h2', { id: 'outbound-title' }, 'New conversation'),
      h('p', { class: 'outbound-note' }, 'Write to a customer first. The conversation is yours at once, and their answer comes back to it.'),
      h('div', { class: 'form-grid' },
        h('div', {}, h('label', { for: 'outbound-channel' }, 'Channel'), channel),
        h('div', {}, h('label', { for: 'outbound-queue' }, 'Queue'), h('select', { id: 'outbound-queue' }))),
      h('label', { for: 'outbound-address', id: 'outbound-address-label' }, 'Phone number'),
      h('input', { id: 'outbound-address', autocomplete: 'off', required: true, placeholder: '+46 70 123 45 67' }),
      h('div', { id: 'outbound-subject-block', hidden: true },
        h('label', { for: 'outbound-subject' }, 'Subject'),
        h('input', { id: 'outbound-subject', autocomplete: 'off', maxlength: '200' })),
      h('label', { for: 'outbound-text' }, 'Message'),
      h('textarea', { id: 'outbound-text', rows: '4', required: true }),
      h('p', { class: 'form-error', id: 'outbound-error', role: 'alert', hidden: true }),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn btn-ghost', onClick: () => $('outbound-dialog').close() }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn btn-primary', id: 'outbound-submit' }, 'Send'))));
}

function syncChannel() {
  const email = $('outbound-channel').value === 'email';
  $('outbound-address-label').textContent = email ? 'Email address' : 'Phone number';
  $('outbound-address').placeholder = email ? 'name@example.com' : '+46 70 123 45 67';
  $('outbound-address').type = email ? 'email' : 'tel';
  $('outbound-subject-block').hidden = !email;
}

function openDialog() {
  const queues = O.queues() || [];
  replace($('outbound-queue'), h('option', { value: '' }, 'Default'), queues.map((q) => h('option', { value: q }, q)));
  $('outbound-address').value = '';
  $('outbound-subject').value = '';
  $('outbound-text').value = '';
  error('');
  syncChannel();
  $('outbound-dialog').showModal();
  $('outbound-address').focus();
}

function error(text, action) {
  const el = $('outbound-error');
  replace(el, text, action || null);
  el.hidden = !text;
}

async function submit(ev) {
  ev.preventDefault();
  const body = {
    channel: $('outbound-channel').value,
    address: $('outbound-address').value.trim(),
    text: $('outbound-text').value,
  };
  if ($('outbound-queue').value) body.queue = $('outbound-queue').value;
  if (body.channel === 'email' && $('outbound-subject').value.trim()) body.subject = $('outbound-subject').value.trim();
  if (!body.address) return error(body.channel === 'email' ? 'Enter the customer’s email address.' : 'Enter the customer’s phone number.');
  if (!body.text.trim()) return error('Write the first message.');
  const btn = $('outbound-submit');
  btn.disabled = true;
  try {
    const res = await fetch('/api/v1/conversations', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': O.csrf() },
      body: JSON.stringify(body),
    });
    const data = await res.json().catch(() => ({}));
    if (res.status === 409 && data.conversation_id) {
      const id = data.conversation_id;
      return error('This customer already has an open conversation on this channel. ',
        h('button', { type: 'button', class: 'btn btn-small', onClick: () => { if (O.open(id)) $('outbound-dialog').close(); } }, 'Open it'));
    }
    if (!res.ok) return error(data.error || `The server answered ${res.status}.`);
    $('outbound-dialog').close();
    select(data.id);
  } catch {
    error('The server cannot be reached. Check your connection.');
  } finally {
    btn.disabled = false;
  }
}

// select opens the started conversation once its "assigned" frame has
// arrived (usually before the answer to the request).
function select(id, tries = 50) {
  if (O.open(id) || tries <= 0) return;
  setTimeout(() => select(id, tries - 1), 100);
}
