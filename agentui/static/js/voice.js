// Voice in the agent console. A voice offer rings like a phone and shows
// the caller; once the agent accepts, Switchboard dials the agent's
// browser softphone (the Twilio Voice JS SDK, served from our own assets
// at vendor/twilio.min.js), which answers by itself because the agent
// already said yes; the call bar shows a timer, mute and hang-up, then a
// wrap-up countdown. main.js calls the hooks exported here and nothing
// else of this module.

import { $, h, replace, channelLabel } from './dom.js';

const SDK_URL = 'vendor/twilio.min.js';
const TOKEN_URL = '/agent/voice/token';

const V = {
  device: null,
  knows: () => false, // does the console hold this conversation?
  onChange: () => {},
  wrapUpSeconds: 0,
  // The one call at a time (voice is exclusive): its conversation, the
  // SDK's Call, when it was answered, whether muted, when wrap-up ends.
  call: null,
  conv: '',
  caller: '',
  answeredAt: 0,
  muted: false,
  endedAt: 0,
  wrapUntil: 0,
  tick: null,
};

/** isVoice tells voice offers from the others. */
export const isVoice = (o) => o && o.channel === 'voice';

/**
 * decorateOffer makes a voice offer card look and read like a call: the
 * caller's number under their name (the core's first line of a call is
 * "Call from <number>").
 */
export function decorateOffer(card, o) {
  if (!isVoice(o)) return;
  card.classList.add('offer-voice');
  card.setAttribute('aria-label', 'Incoming call');
  const label = card.querySelector('.offer-label');
  if (label) label.textContent = 'Incoming call';
  const number = (o.preview || '').replace(/^Call from\s+/, '').trim();
  const preview = card.querySelector('.offer-preview');
  if (preview) replace(preview, h('span', { class: 'offer-caller' }, number ? `Calling from ${number}` : 'Number withheld'));
  // What the caller came about before, on any channel: a call has no
  // message to preview.
  if (preview && o.earlier && o.earlier.length) {
    const day = (t) => new Date(t).toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
    preview.after(h('ul', { class: 'offer-earlier', 'aria-label': 'Earlier conversations' },
      ...o.earlier.map((c) => h('li', {},
        h('span', { class: 'offer-earlier-when' }, `${channelLabel(c.channel)} · ${day(c.started_at)}`),
        ` ${c.summary || '(no message)'}`))));
  }
}

async function fetchToken() {
  try {
    const res = await fetch(TOKEN_URL, { credentials: 'same-origin', cache: 'no-store' });
    if (!res.ok) return null; // 503: no softphone on this gateway; 401: signed out
    return await res.json();
  } catch {
    return null;
  }
}

function loadSDK() {
  if (window.Twilio && window.Twilio.Device) return Promise.resolve(true);
  return new Promise((resolve) => {
    const s = document.createElement('script');
    s.src = SDK_URL;
    s.onload = () => resolve(!!(window.Twilio && window.Twilio.Device));
    s.onerror = () => resolve(false);
    document.head.appendChild(s);
  });
}

/**
 * startSoftphone registers the browser as the agent's phone when the
 * gateway offers a token; without one (no API key configured, or calls
 * ring the agent's own phone) the console works as before.
 * knows(conv) says whether a call's conversation is the agent's;
 * onChange() re-renders.
 */
export async function startSoftphone({ knows, onChange }) {
  V.knows = knows;
  V.onChange = onChange;
  const tok = await fetchToken();
  if (!tok || !(await loadSDK())) return;
  V.wrapUpSeconds = tok.wrap_up_seconds || 0;
  const device = new window.Twilio.Device(tok.token, { closeProtection: true, codecPreferences: ['opus', 'pcmu'] });
  V.device = device;
  device.on('incoming', onIncoming);
  // Tokens live an hour: fetch a fresh one before this one runs out.
  device.on('tokenWillExpire', async () => {
    const t = await fetchToken();
    if (t && V.device === device) device.updateToken(t.token);
  });
  device.on('error', (e) => console.warn('softphone:', e && (e.message || e.code)));
  document.documentElement.dataset.softphone = 'registering';
  try {
    await device.register();
    document.documentElement.dataset.softphone = 'ready';
  } catch (e) {
    document.documentElement.dataset.softphone = 'failed';
    console.warn('softphone: not registered', e && e.message);
  }
}

export function stopSoftphone() {
  if (V.call) V.call.disconnect();
  if (V.device) V.device.destroy();
  V.device = null;
  V.call = null;
  clearInterval(V.tick);
  V.tick = null;
  delete document.documentElement.dataset.softphone;
}

function param(call, name) {
  const p = call.customParameters;
  return p && typeof p.get === 'function' ? p.get(name) || '' : '';
}

// A call reaches the softphone only after the agent accepted its offer,
// so it is answered at once; a call for a conversation this console does
// not hold is refused (it rings the agent's other tabs).
function onIncoming(call) {
  const conv = param(call, 'conversation');
  if (!conv || !V.knows(conv) || V.call) {
    call.reject();
    return;
  }
  V.call = call;
  V.conv = conv;
  V.caller = param(call, 'caller');
  V.answeredAt = 0;
  V.endedAt = 0;
  V.wrapUntil = 0;
  V.muted = false;
  call.on('accept', () => { V.answeredAt = Date.now(); changed(); });
  call.on('mute', (m) => { V.muted = !!m; changed(); });
  const ended = () => {
    if (V.call !== call) return;
    V.call = null;
    V.endedAt = Date.now();
    V.wrapUntil = V.wrapUpSeconds ? V.endedAt + V.wrapUpSeconds * 1000 : 0;
    changed();
  };
  call.on('disconnect', ended);
  call.on('cancel', ended);
  call.on('error', (e) => console.warn('softphone call:', e && e.message));
  call.accept();
  changed();
}

function changed() {
  if (!V.tick && (V.call || V.wrapUntil > Date.now())) V.tick = setInterval(changed, 500);
  if (V.tick && !V.call && V.wrapUntil <= Date.now()) {
    clearInterval(V.tick);
    V.tick = null;
  }
  V.onChange();
}

const mmss = (ms) => {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/**
 * render fills the call bar of the conversation in view: hidden unless it
 * is the conversation of the call (live, or in wrap-up). The bar is built
 * once per state and then only its texts change, so a button is never
 * replaced under the agent's pointer by the ticking timer.
 */
export function render(conv) {
  const bar = $('call-bar');
  if (!bar) return;
  const now = Date.now();
  const mine = conv && conv.id === V.conv && (V.call || V.endedAt);
  bar.hidden = !mine;
  if (!mine) {
    bar.dataset.state = 'none';
    return;
  }
  let state = 'ended';
  if (V.call) state = V.answeredAt > 0 ? 'live' : 'connecting';
  else if (V.wrapUntil > now) state = 'wrapup';
  if (bar.dataset.state !== state || bar.dataset.conv !== V.conv) {
    bar.dataset.state = state;
    bar.dataset.conv = V.conv;
    build(bar, state);
  }
  const text = (id, t) => { const el = bar.querySelector(id); if (el && el.textContent !== t) el.textContent = t; };
  if (state === 'live') text('#call-timer', mmss(now - V.answeredAt));
  if (state === 'live' || state === 'connecting') {
    const mute = bar.querySelector('#call-mute');
    mute.setAttribute('aria-pressed', String(V.muted));
    text('#call-mute', V.muted ? 'Unmute' : 'Mute');
  }
  if (state === 'wrapup') text('#call-wrapup', `Wrap-up ${mmss(V.wrapUntil - now + 999)}`);
}

function build(bar, state) {
  if (state === 'live' || state === 'connecting') {
    const live = state === 'live';
    replace(bar,
      h('span', { class: 'call-dot', 'aria-hidden': 'true' }),
      h('span', { class: 'call-status' }, live ? `On call${V.caller ? ` with ${V.caller}` : ''}` : 'Connecting…'),
      h('span', { class: 'call-timer', id: 'call-timer', 'aria-label': 'Call time' }, '0:00'),
      h('button', { type: 'button', class: 'btn btn-small', id: 'call-mute', 'aria-pressed': 'false',
        onClick: () => V.call && V.call.mute(!V.muted) }, 'Mute'),
      h('button', { type: 'button', class: 'btn btn-small btn-danger', id: 'call-hangup',
        onClick: () => V.call && V.call.disconnect() }, 'Hang up'),
    );
    return;
  }
  replace(bar,
    h('span', { class: 'call-status' }, `Call ended · ${mmss(V.endedAt - (V.answeredAt || V.endedAt))}`),
    h('span', { class: 'call-wrapup', id: 'call-wrapup' }, state === 'wrapup' ? '' : 'Wrap-up over: you get calls again'),
  );
}
