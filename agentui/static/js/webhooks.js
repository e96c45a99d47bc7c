// The console's Webhooks page, for admins: list endpoints, add one (its
// signing secret shown once), pause and resume, delete; see an endpoint's
// recent deliveries with their outcome, and replay one. It talks only to
// /api/v1/webhooks (docs/webhooks.md), which refuses anyone but an admin;
// the page hides itself from others to match. Its DOM is built here so the
// page's HTML stays the console's.

import { $, h, replace, clock, day } from './dom.js';

const W = {
  me: null,
  csrf: () => '',
  data: null, // { endpoints, event_types }
  selected: null, // endpoint whose deliveries are shown
  timer: 0,
};

/**
 * setWebhooks shows the Webhooks entry to admins. me is the signed-in
 * account or null after sign-out; csrf returns the session's CSRF token.
 */
export function setWebhooks(me, csrf) {
  W.me = me;
  W.csrf = csrf || (() => '');
  for (const id of ['open-webhooks', 'webhooks', 'webhook-dialog']) document.getElementById(id)?.remove();
  clearInterval(W.timer);
  if (!me || me.role !== 'admin') return;
  const entry = h('button', { type: 'button', class: 'btn btn-ghost btn-small', id: 'open-webhooks', 'aria-controls': 'webhooks', 'aria-pressed': 'false',
    onClick: () => showPage($('webhooks').hidden) }, 'Webhooks');
  $('open-admin').after(entry);
  // The Agents page and this one take turns.
  $('open-admin').addEventListener('click', () => { if (!$('webhooks').hidden) hidePage(); }, true);
  $('console').append(page());
  $('app').append(addDialog());
}

async function api(method, path, body) {
  const res = await fetch(`/api/v1${path}`, {
    method,
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': W.csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // 204 and some 202s have no body.
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error((data && data.error) || `The server answered ${res.status}.`);
  return data;
}

function page() {
  return h('section', { class: 'admin webhooks', id: 'webhooks', 'aria-labelledby': 'webhooks-title', hidden: true },
    h('header', { class: 'admin-head' },
      h('h2', { id: 'webhooks-title' }, 'Webhooks'),
      h('span', { class: 'count', id: 'webhooks-count' }, '0'),
      h('button', { type: 'button', class: 'btn btn-primary', id: 'webhook-add', onClick: openAdd }, 'Add endpoint'),
      h('button', { type: 'button', class: 'btn btn-ghost', onClick: hidePage }, 'Back to conversations')),
    h('p', { class: 'admin-status', id: 'webhooks-status', role: 'status', hidden: true }),
    h('div', { class: 'admin-scroll webhooks-endpoints' },
      h('table', { class: 'admin-table' },
        h('thead', {}, h('tr', {}, ['Endpoint', 'Events', 'Status', ''].map((t) => h('th', { scope: 'col' }, t ? t : h('span', { class: 'visually-hidden' }, 'Actions'))))),
        h('tbody', { id: 'webhook-rows' }))),
    h('p', { class: 'sidebar-empty', id: 'webhooks-empty', hidden: true }, 'No endpoints yet. Add one to send conversation events to your CRM.'),
    h('section', { class: 'webhook-deliveries', id: 'webhook-deliveries', 'aria-labelledby': 'deliveries-title', hidden: true },
      h('header', { class: 'admin-head' },
        h('h3', { id: 'deliveries-title' }, 'Recent deliveries'),
        h('button', { type: 'button', class: 'btn btn-small', id: 'deliveries-refresh', onClick: () => loadDeliveries() }, 'Refresh')),
      h('div', { class: 'admin-scroll' },
        h('table', { class: 'admin-table' },
          h('thead', {}, h('tr', {}, ['Event', 'Status', 'Response', 'Latency', 'Attempts', 'When', ''].map((t) => h('th', { scope: 'col' }, t ? t : h('span', { class: 'visually-hidden' }, 'Actions'))))),
          h('tbody', { id: 'delivery-rows' })))));
}

function showPage(on) {
  if (!on) return hidePage();
  $('admin').hidden = true;
  $('open-admin').setAttribute('aria-pressed', 'false');
  $('webhooks').hidden = false;
  document.querySelector('.workspace').hidden = true;
  $('open-webhooks').setAttribute('aria-pressed', 'true');
  $('app').dataset.page = 'webhooks';
  load();
  clearInterval(W.timer);
  W.timer = setInterval(() => { if (W.selected) loadDeliveries(true); }, 5000);
}

function hidePage() {
  clearInterval(W.timer);
  $('webhooks').hidden = true;
  $('open-webhooks').setAttribute('aria-pressed', 'false');
  document.querySelector('.workspace').hidden = false;
  $('app').dataset.page = 'conversations';
}

function status(text, error = false) {
  const el = $('webhooks-status');
  el.textContent = text;
  el.dataset.kind = error ? 'error' : 'info';
  el.hidden = !text;
}

async function load() {
  try {
    W.data = await api('GET', '/webhooks');
  } catch (e) {
    status(`Could not load the endpoints: ${e.message}`, true);
    return;
  }
  const eps = W.data.endpoints || [];
  $('webhooks-count').textContent = String(eps.length);
  $('webhooks-empty').hidden = eps.length > 0;
  replace($('webhook-rows'), eps.map(row));
  if (W.selected && !eps.some((e) => e.id === W.selected.id)) {
    W.selected = null;
    $('webhook-deliveries').hidden = true;
  }
}

function row(ep) {
  const paused = !ep.active;
  return h('tr', { 'data-endpoint': ep.id, 'aria-current': W.selected && W.selected.id === ep.id ? 'true' : null },
    h('td', {}, h('div', { class: 'webhook-url' }, ep.url), ep.description ? h('div', { class: 'admin-id' }, ep.description) : null),
    h('td', {}, ep.events && ep.events.length ? ep.events.map((t) => h('span', { class: 'tag' }, t)) : h('span', { class: 'admin-none' }, 'All events')),
    h('td', {}, h('span', { class: 'admin-state', 'data-state': paused ? 'away' : 'available' }, paused ? 'Paused' : 'Active'),
      ep.paused_reason ? h('div', { class: 'admin-id' }, ep.paused_reason) : null),
    h('td', { class: 'admin-actions' }, h('div', { class: 'admin-buttons' },
      h('button', { type: 'button', class: 'btn btn-small', onClick: () => showDeliveries(ep) }, 'Deliveries'),
      h('button', { type: 'button', class: 'btn btn-small', onClick: () => ping(ep) }, 'Send test event'),
      h('button', { type: 'button', class: 'btn btn-small', onClick: () => setActive(ep, paused) }, paused ? 'Resume' : 'Pause'),
      h('button', { type: 'button', class: 'btn btn-small btn-danger', onClick: () => remove(ep) }, 'Delete'))));
}

async function setActive(ep, active) {
  try {
    await api('PATCH', `/webhooks/${encodeURIComponent(ep.id)}`, { active });
    status(active ? `${ep.url} receives events again.` : `${ep.url} is paused; its events wait and are sent on resume.`);
  } catch (e) {
    status(`Could not change ${ep.url}: ${e.message}`, true);
  }
  await load();
}

async function remove(ep) {
  if (!window.confirm(`Delete the endpoint ${ep.url}? It will receive nothing more.`)) return;
  try {
    await api('DELETE', `/webhooks/${encodeURIComponent(ep.id)}`);
    status(`Deleted ${ep.url}.`);
  } catch (e) {
    status(`Could not delete ${ep.url}: ${e.message}`, true);
  }
  await load();
}

async function ping(ep) {
  try {
    const r = await api('POST', `/webhooks/${encodeURIComponent(ep.id)}/ping`);
    status(`A test event (${r.event_id}) is on its way to ${ep.url}.`);
  } catch (e) {
    status(`Could not send a test event: ${e.message}`, true);
  }
  showDeliveries(ep);
  setTimeout(() => loadDeliveries(true), 800);
}

// ---------- deliveries ----------

function showDeliveries(ep) {
  W.selected = ep;
  $('deliveries-title').textContent = `Recent deliveries to ${ep.url}`;
  $('webhook-deliveries').hidden = false;
  for (const tr of document.querySelectorAll('#webhook-rows tr')) {
    tr.setAttribute('aria-current', String(tr.dataset.endpoint === ep.id));
  }
  loadDeliveries();
}

const STATUS = { delivered: 'Delivered', retrying: 'Retrying', failed: 'Failed', dead: 'Gave up' };

async function loadDeliveries(quiet = false) {
  const ep = W.selected;
  if (!ep) return;
  let data;
  try {
    data = await api('GET', `/webhooks/${encodeURIComponent(ep.id)}/deliveries?limit=50`);
  } catch (e) {
    if (!quiet) status(`Could not load the deliveries: ${e.message}`, true);
    return;
  }
  const ds = data.deliveries || [];
  replace($('delivery-rows'), ds.length ? ds.map((d) => h('tr', { 'data-event': d.event_id, 'data-status': d.status },
    h('td', {}, h('div', {}, d.type), h('div', { class: 'admin-id' }, d.event_id)),
    h('td', {}, h('span', { class: 'delivery-status', 'data-status': d.status }, STATUS[d.status] || d.status),
      d.error ? h('div', { class: 'admin-id delivery-error' }, d.error) : null),
    h('td', {}, d.response_code ? String(d.response_code) : '—'),
    h('td', {}, `${d.latency_ms} ms`),
    h('td', {}, String(d.attempts)),
    h('td', { title: d.at }, `${day(d.at)} ${clock(d.at)}`),
    h('td', { class: 'admin-actions' }, h('button', { type: 'button', class: 'btn btn-small', onClick: () => replay(ep, d) }, 'Replay'))))
    : h('tr', {}, h('td', { colspan: '7', class: 'admin-none' }, 'No deliveries yet.')));
}

async function replay(ep, d) {
  try {
    await api('POST', `/webhooks/${encodeURIComponent(ep.id)}/deliveries/${encodeURIComponent(d.event_id)}/replay`);
    status(`${d.type} (${d.event_id}) is queued to be sent again.`);
  } catch (e) {
    status(`Could not replay ${d.event_id}: ${e.message}`, true);
  }
  setTimeout(() => loadDeliveries(true), 700);
}

// ---------- adding ----------

function addDialog() {
  return h('dialog', { class: 'dialog dialog-wide', id: 'webhook-dialog', 'aria-labelledby': 'webhook-title' },
    h('form', { id: 'webhook-form', novalidate: true, onSubmit: submitAdd },
      h('h2', { id: 'webhook-title' }, 'Add endpoint'),
      h('label', { for: 'webhook-url' }, 'URL'),
      h('input', { id: 'webhook-url', type: 'url', autocomplete: 'off', required: true, placeholder: 'https://crm.example.com/hooks/switchboard' }),
      h('label', { for: 'webhook-description' }, 'Description'),
      h('input', { id: 'webhook-description', autocomplete: 'off', placeholder: 'CRM sync' }),
      h('fieldset', { class: 'plain' },
        h('legend', {}, 'Events ', h('span', { class: 'hint' }, 'none ticked: every event')),
        h('div', { class: 'checks', id: 'webhook-events' })),
      h('label', { class: 'check webhook-private' }, h('input', { type: 'checkbox', id: 'webhook-private' }),
        'Allow a private or loopback address (a receiver inside your own network)'),
      h('p', { class: 'form-error', id: 'webhook-error', role: 'alert', hidden: true }),
      h('div', { class: 'webhook-secret', id: 'webhook-secret-block', hidden: true },
        h('p', { class: 'secret-note' }, 'The signing secret, shown this once: your receiver checks each request’s signature with it.'),
        h('code', { class: 'secret', id: 'webhook-secret' })),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn btn-ghost', id: 'webhook-cancel', onClick: closeAdd }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn btn-primary', id: 'webhook-submit' }, 'Add endpoint'))));
}

function openAdd() {
  const types = (W.data && W.data.event_types) || [];
  replace($('webhook-events'), types.map((t) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'event', value: t }), t)));
  for (const id of ['webhook-url', 'webhook-description']) $(id).value = '';
  $('webhook-private').checked = false;
  $('webhook-error').hidden = true;
  $('webhook-secret-block').hidden = true;
  $('webhook-secret').textContent = '';
  $('webhook-submit').hidden = false;
  $('webhook-cancel').textContent = 'Cancel';
  $('webhook-dialog').showModal();
  $('webhook-url').focus();
}

function closeAdd() {
  $('webhook-secret').textContent = '';
  $('webhook-dialog').close();
}

async function submitAdd(ev) {
  ev.preventDefault();
  if (!$('webhook-secret-block').hidden) return; // added already: Enter must not add it twice
  const body = {
    url: $('webhook-url').value.trim(),
    description: $('webhook-description').value.trim(),
    events: [...document.querySelectorAll('#webhook-events input:checked')].map((i) => i.value),
    active: true,
    allow_private: $('webhook-private').checked,
  };
  const btn = $('webhook-submit');
  btn.disabled = true;
  try {
    const ep = await api('POST', '/webhooks', body);
    $('webhook-error').hidden = true;
    $('webhook-secret').textContent = ep.secret;
    $('webhook-secret-block').hidden = false;
    btn.hidden = true;
    $('webhook-cancel').textContent = 'Done';
    status(`Added ${ep.url}.`);
    await load();
  } catch (e) {
    $('webhook-error').textContent = e.message;
    $('webhook-error').hidden = false;
  } finally {
    btn.disabled = false;
  }
}
