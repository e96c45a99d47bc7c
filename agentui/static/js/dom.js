// DOM helpers. Everything a customer or agent wrote goes into the page as a
// text node: h() turns string children into text nodes and never touches
// innerHTML, so a message like <img onerror=...> shows as those characters.

/**
 * h builds an element. props: class, text, on{Event}, data-*, aria-*,
 * and any other attribute (set with setAttribute, so as a string).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** replace empties el and appends children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

export const $ = (id) => document.getElementById(id);

const CHANNELS = {
  chat: 'Web chat', sms: 'SMS', email: 'Email', voice: 'Voice', whatsapp: 'WhatsApp',
};

/** channelLabel names a channel for people; unknown ones pass through. */
export function channelLabel(ch) {
  return CHANNELS[ch] || ch || 'Unknown';
}

/** badge is the colored channel pill; the color comes from data-channel. */
export function badge(ch) {
  return h('span', { class: 'badge', 'data-channel': ch }, channelLabel(ch));
}

/** initials for an avatar: first letters of the first two words. */
export function initials(name) {
  const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
  return (words.slice(0, 2).map((w) => [...w][0]).join('') || '?').toUpperCase();
}

/** hue derives a stable avatar color from a name. */
export function hue(name) {
  let x = 0;
  for (const ch of String(name || '')) x = (x * 31 + ch.codePointAt(0)) % 360;
  return x;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });

export function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : timeFmt.format(d);
}

export function day(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : dateFmt.format(d);
}

/** compareIds orders transcript stream ids "ms-seq" numerically. */
export function compareIds(a, b) {
  const [a1, a2] = String(a).split('-').map(Number);
  const [b1, b2] = String(b).split('-').map(Number);
  return a1 - b1 || (a2 || 0) - (b2 || 0);
}

const URL_RE = /\bhttps?:\/\/[^\s<>"]+/gi;

/**
 * linkify returns text as text nodes with its http(s) URLs as links. Each
 * link is an element whose href the URL parser checked (http and https
 * only), opening in a new tab without access to this one; nothing is parsed
 * as HTML, so customer text cannot inject markup or a javascript: link.
 */
export function linkify(text) {
  const out = [];
  const s = String(text ?? '');
  let last = 0;
  for (const m of s.matchAll(URL_RE)) {
    // Sentence punctuation after a URL is not part of it.
    const raw = m[0].replace(/[.,;:!?'")\]]+$/, '');
    let href = null;
    try {
      const u = new URL(raw);
      if (u.protocol === 'http:' || u.protocol === 'https:') href = u.href;
    } catch { /* not a URL after all */ }
    if (!href) continue;
    out.push(s.slice(last, m.index), h('a', { href, target: '_blank', rel: 'noopener noreferrer nofollow ugc' }, raw));
    last = m.index + raw.length;
  }
  out.push(s.slice(last));
  return out;
}
