// The console's Agents page, for admins: list agents, add one, change
// skills, queues, role and capacity, disable and re-enable, reset a
// password. It talks only to /api/v1/agents (docs/api.md), which refuses
// anyone but an admin; the page hides itself from others to match.
// main.js calls setAdmin() when a session starts or ends; the rest is here.

import { $, h, replace, initials, hue } from './dom.js';

const CHANNEL_NAMES = { voice: 'Voice', chat: 'Web chat', sms: 'SMS', email: 'Email' };
const ROLES = ['agent', 'supervisor', 'admin'];

const A = {
  me: null,
  csrf: () => '',
  data: null, // { agents, queues, channels } from GET /agents
  editing: null, // the agent being edited; null while adding
  wired: false,
};

/**
 * setAdmin shows the Agents entry to admins. me is the signed-in account
 * ({id, name, role}) or null after sign-out; csrf returns the session's
 * CSRF token.
 */
export function setAdmin(me, csrf) {
  A.me = me;
  A.csrf = csrf || (() => '');
  if (!A.wired) wire();
  const isAdmin = !!(me && me.role === 'admin');
  $('open-admin').hidden = !isAdmin;
  if (!isAdmin) showPage(false);
}

async function api(method, path, body) {
  const res = await fetch(`/api/v1${path}`, {
    method,
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': A.csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = res.status === 204 ? null : await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = new Error((data && data.error) || `The server answered ${res.status}.`);
    e.status = res.status;
    throw e;
  }
  return data;
}

function showPage(on) {
  $('admin').hidden = !on;
  document.querySelector('.workspace').hidden = on;
  $('open-admin').setAttribute('aria-pressed', String(on));
  $('app').dataset.page = on ? 'admin' : 'conversations';
  if (on) load();
}

async function load() {
  try {
    A.data = await api('GET', '/agents');
    status('');
  } catch (e) {
    status(`Could not load the agents: ${e.message}`, true);
  }
  render();
}

function status(text, error = false) {
  const el = $('admin-status');
  el.textContent = text;
  el.dataset.kind = error ? 'error' : 'info';
  el.hidden = !text;
}

// ---------- the list ----------

function render() {
  const agents = (A.data && A.data.agents) || [];
  $('admin-count').textContent = String(agents.length);
  replace($('admin-rows'), agents.map(row));
}

function capacityText(cap) {
  return Object.keys(CHANNEL_NAMES).filter((ch) => cap && ch in cap)
    .map((ch) => `${CHANNEL_NAMES[ch]} ${cap[ch]}`).join(' · ');
}

function row(a) {
  const self = A.me && a.id === A.me.id;
  const av = h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(a.name || a.id));
  av.style.setProperty('--hue', hue(a.id));
  const allQueues = (A.data.queues || []).every((q) => a.queues.includes(q));
  return h('tr', { 'data-agent': a.id, 'data-disabled': a.disabled ? 'true' : null },
    h('td', {}, h('div', { class: 'admin-who' }, av,
      h('div', {}, h('strong', {}, a.name || a.id), h('div', { class: 'admin-id' }, a.id)))),
    h('td', { class: 'admin-role' }, a.role),
    h('td', {}, allQueues ? 'All queues' : a.queues.join(', ')),
    h('td', {}, a.skills.length ? a.skills.map((s) => h('span', { class: 'tag' }, s)) : h('span', { class: 'admin-none' }, 'None')),
    h('td', { class: 'admin-cap' }, capacityText(a.capacity)),
    h('td', {}, h('span', { class: 'admin-state', 'data-state': a.disabled ? 'disabled' : (a.state || 'offline') },
      a.disabled ? 'Disabled' : stateLabel(a.state))),
    h('td', { class: 'admin-actions' }, h('div', { class: 'admin-buttons' },
      h('button', { type: 'button', class: 'btn btn-small', onClick: () => openEdit(a) }, 'Edit'),
      h('button', { type: 'button', class: 'btn btn-small', onClick: () => openReset(a) }, 'Reset password'),
      a.disabled
        ? h('button', { type: 'button', class: 'btn btn-small', onClick: () => setDisabled(a, false) }, 'Enable')
        : h('button', {
          type: 'button', class: 'btn btn-small btn-danger', disabled: self,
          title: self ? 'You cannot disable your own account' : null, onClick: () => setDisabled(a, true),
        }, 'Disable'))),
  );
}

function stateLabel(s) {
  return { available: 'Available', away: 'Away', offline: 'Offline' }[s] || 'Never signed in';
}

async function setDisabled(a, disabled) {
  try {
    await api('PATCH', `/agents/${encodeURIComponent(a.id)}`, { disabled });
    status(disabled ? `${a.name || a.id} is disabled and can no longer sign in.` : `${a.name || a.id} can sign in again.`);
    await load();
  } catch (e) {
    status(`Could not change ${a.name || a.id}: ${e.message}`, true);
  }
}

// ---------- add and edit ----------

function openAdd() {
  A.editing = null;
  fillForm({ id: '', name: '', role: 'agent', skills: [], queues: [], capacity: {} });
  openDialog('agent-dialog');
  $('agent-id').focus();
}

function openEdit(a) {
  A.editing = a;
  fillForm(a);
  openDialog('agent-dialog');
  $('agent-name').focus();
}

function fillForm(a) {
  const adding = !A.editing;
  $('agent-title').textContent = adding ? 'Add agent' : `Edit ${a.name || a.id}`;
  $('agent-submit').textContent = adding ? 'Add agent' : 'Save';
  $('agent-id').value = a.id;
  $('agent-id').disabled = !adding;
  $('agent-name').value = a.name;
  // The roster answers the name customers see, the first name when none
  // was set: show only one that was chosen.
  $('agent-display').value = a.display_name && a.display_name !== (a.name || '').trim().split(' ')[0] ? a.display_name : '';
  $('agent-role').value = a.role;
  $('agent-skills').value = a.skills.join(', ');
  const queues = (A.data && A.data.queues) || [];
  const all = queues.every((q) => a.queues.includes(q));
  replace($('agent-queues'), queues.map((q) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'queue', value: q, checked: !adding && !all && a.queues.includes(q) }), q)));
  for (const ch of Object.keys(CHANNEL_NAMES)) {
    const input = $(`agent-cap-${ch}`);
    input.value = a.capacity && ch in a.capacity ? String(a.capacity[ch]) : '';
    input.placeholder = adding ? 'default' : '';
  }
  $('agent-password-block').hidden = !adding;
  document.querySelector('input[name="agent-pw"][value="generate"]').checked = true;
  $('agent-password').value = '';
  $('agent-password').hidden = true;
  formError('');
}

function formError(text) {
  const el = $('agent-error');
  el.textContent = text;
  el.hidden = !text;
}

function readForm() {
  const body = {
    name: $('agent-name').value.trim(),
    display_name: $('agent-display').value.trim(),
    role: $('agent-role').value,
    skills: $('agent-skills').value.split(',').map((s) => s.trim()).filter(Boolean),
    queues: [...document.querySelectorAll('#agent-queues input:checked')].map((i) => i.value),
    capacity: {},
  };
  for (const ch of Object.keys(CHANNEL_NAMES)) {
    const v = $(`agent-cap-${ch}`).value.trim();
    if (v !== '') body.capacity[ch] = Number(v);
  }
  return body;
}

async function submitAgent(ev) {
  ev.preventDefault();
  const body = readForm();
  const btn = $('agent-submit');
  btn.disabled = true;
  try {
    if (A.editing) {
      const a = await api('PATCH', `/agents/${encodeURIComponent(A.editing.id)}`, body);
      $('agent-dialog').close();
      status(`Saved ${a.name || a.id}.`);
    } else {
      body.id = $('agent-id').value.trim();
      if (document.querySelector('input[name="agent-pw"]:checked').value === 'set') {
        body.password = $('agent-password').value;
      }
      const res = await api('POST', '/agents', body);
      $('agent-dialog').close();
      status(`Added ${res.agent.name || res.agent.id}. They can sign in now.`);
      if (res.password) showSecret(res.agent, res.password);
    }
    await load();
  } catch (e) {
    formError(e.message);
  } finally {
    btn.disabled = false;
  }
}

// ---------- passwords ----------

function openReset(a) {
  A.editing = a;
  $('reset-title').textContent = `Reset the password of ${a.name || a.id}`;
  document.querySelector('input[name="reset-pw"][value="generate"]').checked = true;
  $('reset-password').value = '';
  $('reset-password').hidden = true;
  $('reset-error').hidden = true;
  openDialog('reset-dialog');
}

async function submitReset(ev) {
  ev.preventDefault();
  const a = A.editing;
  const set = document.querySelector('input[name="reset-pw"]:checked').value === 'set';
  try {
    const res = await api('POST', `/agents/${encodeURIComponent(a.id)}/password`, set ? { password: $('reset-password').value } : {});
    $('reset-dialog').close();
    if (res && res.password) showSecret(a, res.password);
    else status(`The password of ${a.name || a.id} is changed.`);
  } catch (e) {
    $('reset-error').textContent = e.message;
    $('reset-error').hidden = false;
  }
}

/** showSecret shows a generated password once; it is not kept anywhere. */
function showSecret(a, password) {
  $('secret-title').textContent = `Password for ${a.name || a.id}`;
  $('secret-value').textContent = password;
  $('secret-copied').hidden = true;
  openDialog('secret-dialog');
}

// ---------- wiring ----------

function openDialog(id) {
  const d = $(id);
  if (!d.open) d.showModal();
}

function togglePassword(name, inputId) {
  for (const r of document.querySelectorAll(`input[name="${name}"]`)) {
    r.addEventListener('change', () => {
      const set = document.querySelector(`input[name="${name}"]:checked`).value === 'set';
      $(inputId).hidden = !set;
      if (set) $(inputId).focus();
    });
  }
}

function wire() {
  A.wired = true;
  $('open-admin').addEventListener('click', () => showPage($('admin').hidden));
  $('admin-back').addEventListener('click', () => showPage(false));
  $('admin-add').addEventListener('click', openAdd);
  $('agent-form').addEventListener('submit', submitAgent);
  $('reset-form').addEventListener('submit', submitReset);
  togglePassword('agent-pw', 'agent-password');
  togglePassword('reset-pw', 'reset-password');
  $('secret-copy').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('secret-value').textContent);
      $('secret-copied').hidden = false;
    } catch { /* the password stays on screen to copy by hand */ }
  });
  $('secret-done').addEventListener('click', () => {
    $('secret-value').textContent = '';
    $('secret-dialog').close();
  });
  const cap = $('agent-capacity');
  replace(cap, Object.entries(CHANNEL_NAMES).map(([ch, label]) => h('label', { class: 'cap' },
    label, h('input', { id: `agent-cap-${ch}`, type: 'number', min: '0', max: '50', inputmode: 'numeric' }))));
  for (const r of ROLES) $('agent-role').appendChild(h('option', { value: r }, r[0].toUpperCase() + r.slice(1)));
}
