// Switchboard chat widget. Embed with
//   <script src="https://HOST/chat/widget.js" data-queue="support" async></script>
// It adds a launcher button and a chat panel inside a shadow root, so the
// host page's styles cannot break it and its styles cannot leak out. Every
// piece of text is set with textContent: customer and agent text is never
// parsed as HTML. The protocol is described in docs/protocol.md ("Web chat").
(() => {
  'use strict';

  // Written by the server when it serves this file: site name, message
  // limit, default queue and the stylesheet.
  const CONFIG = /*SWITCHBOARD_CONFIG*/null;

  const script = document.currentScript;
  if (!script || !CONFIG) return;
  const src = new URL(script.src, location.href);
  // One widget per gateway per page, even if the snippet is pasted twice.
  const instanceKey = '__switchboardChat:' + src.host;
  if (window[instanceKey]) return;
  window[instanceKey] = true;

  const WS_URL = (src.protocol === 'https:' ? 'wss://' : 'ws://') + src.host + '/chat/ws';
  const QUEUE = script.dataset.queue || CONFIG.queue;
  const MAX = CONFIG.maxLength;
  // Attachments: the server's per-file limit and allow-list (0 and '' when
  // this chat takes no files).
  const MAX_FILE = CONFIG.maxFile || 0;
  const ACCEPT = (CONFIG.accept || '').split(',').filter(Boolean);
  const FILES_URL = src.origin + '/chat/files';
  const STORE_KEY = 'switchboard-chat:' + src.host;
  // Whether the panel was open lives per tab: a reload mid-conversation
  // opens it again, another tab is left alone.
  const OPEN_KEY = 'switchboard-chat-open:' + src.host;
  const AVAIL_URL = src.origin + '/chat/availability?queue=' + encodeURIComponent(QUEUE);

  // ---- persistent state (localStorage, or memory when storage is blocked)

  let memoryStore = null;
  function load() {
    try {
      const raw = localStorage.getItem(STORE_KEY);
      if (raw) return JSON.parse(raw);
    } catch (_) {
      if (memoryStore) return memoryStore;
    }
    return memoryStore || {};
  }
  const state = Object.assign({
    token: '',      // signed visitor token
    conv: '',       // current conversation id
    session: '',    // chat session (thread hint), new for every chat
    name: '', email: '',
    agent: '',      // agent who joined conv
    closed: false,  // conv is over
    pending: [],    // [{id, text, files, names}] sent but not yet acknowledged
    left: false,    // conv is a message left while nobody was available
    asked: '',      // closed conv whose survey question is unanswered
  }, load());
  // The resume cursor lives only as long as the page: a new page has
  // nothing on screen and asks for the whole conversation.
  let cursor = '';
  function save() {
    memoryStore = state;
    try { localStorage.setItem(STORE_KEY, JSON.stringify(state)); } catch (_) { /* storage blocked */ }
  }

  function randomID(prefix) {
    const b = new Uint8Array(12);
    crypto.getRandomValues(b);
    return prefix + Array.from(b, (x) => x.toString(36).padStart(2, '0')).join('');
  }

  // ---- DOM helpers: elements are built, never parsed from strings

  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (v === true) e.setAttribute(k, '');
      else if (v !== false && v != null) e.setAttribute(k, v);
    }
    for (const c of children) if (c) e.append(c);
    return e;
  }

  // linkify turns text into text nodes and links for the http(s) URLs in
  // it. Links are built as elements with the URL checked by the URL parser;
  // nothing is parsed as HTML, so a message cannot smuggle markup or a
  // javascript: link in.
  const URL_RE = /\bhttps?:\/\/[^\s<>"]+/gi;
  function linkify(text) {
    const frag = document.createDocumentFragment();
    let last = 0;
    for (const m of text.matchAll(URL_RE)) {
      // Sentence punctuation after a URL is not part of it.
      let raw = m[0].replace(/[.,;:!?'")\]]+$/, '');
      if (!raw) continue;
      let href = null;
      try {
        const u = new URL(raw);
        if (u.protocol === 'http:' || u.protocol === 'https:') href = u.href;
      } catch (_) { /* not a URL after all */ }
      if (!href) continue;
      frag.append(document.createTextNode(text.slice(last, m.index)));
      frag.append(el('a', { href, target: '_blank', rel: 'noopener noreferrer nofollow ugc', text: raw }));
      last = m.index + raw.length;
    }
    frag.append(document.createTextNode(text.slice(last)));
    return frag;
  }

  // icon draws one 24×24 SVG path (the page has no icon font to rely on).
  function icon(d) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    svg.append(p);
    return svg;
  }

  function chatIcon() {
    return icon('M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z');
  }

  function clipIcon() {
    return icon('M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z');
  }

  function docIcon() {
    return icon('M6 2h8l6 6v12a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2zm7 1.5V9h5.5L13 3.5zM8 13v1.5h8V13H8zm0 3.5V18h8v-1.5H8z');
  }

  const fmtSize = (n) => (n >= 1048576 ? (n / 1048576).toFixed(1) + ' MB' : n >= 1024 ? Math.round(n / 1024) + ' KB' : n + ' B');

  const ordinal = (n) => {
    const s = ['th', 'st', 'nd', 'rd'], v = n % 100;
    return n + (s[(v - 20) % 10] || s[v] || s[0]);
  };
  const fmtTime = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const chars = (s) => Array.from(s).length; // code points, as the server counts
  const num = (n) => n.toLocaleString();

  // "about 3–5 min", "less than a minute", or null with no estimate.
  function waitText(est) {
    if (!est) return null;
    if (est.high < 60) return 'less than a minute';
    const lo = Math.max(1, Math.floor(est.low / 60)), hi = Math.max(1, Math.ceil(est.high / 60));
    if (lo >= hi) return 'about ' + hi + ' min';
    return 'about ' + lo + '\u2013' + hi + ' min';
  }

  // ---- build the UI

  const host = el('div', { id: 'switchboard-chat' });
  const root = host.attachShadow({ mode: 'open' });
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CONFIG.css);
    root.adoptedStyleSheets = [sheet];
  } catch (_) {
    root.append(el('style', { text: CONFIG.css }));
  }

  const badge = el('span', { class: 'badge', hidden: true, 'aria-hidden': 'true' });
  // Unread agent messages while the panel is closed: a count on the
  // launcher and a preview of the newest beside it.
  let unread = 0;
  const previewWho = el('span', { class: 'preview-who' });
  const previewText = el('span', { class: 'preview-text' });
  const preview = el('button', { type: 'button', class: 'preview', hidden: true, onclick: () => openPanel() },
    previewWho, previewText);
  const launcher = el('button', {
    class: 'launcher', type: 'button', 'aria-label': 'Chat with us', 'aria-expanded': 'false',
    onclick: () => (panel.hidden ? openPanel() : closePanel()),
  }, chatIcon(), badge);

  // What the header promises depends on who is there (see availability).
  const statusLine = el('div', { class: 'status', text: '' });
  const endBtn = el('button', { type: 'button', class: 'end', text: 'End chat', hidden: true, onclick: () => { confirmBar.hidden = false; } });
  const header = el('div', { class: 'header' },
    el('div', { class: 'titles' }, el('div', { class: 'title', text: CONFIG.site }), statusLine),
    endBtn,
    el('button', { type: 'button', class: 'minimize', 'aria-label': 'Minimize chat', text: '\u2013', onclick: () => closePanel() }));

  const confirmBar = el('div', { class: 'confirm', hidden: true },
    el('span', { text: 'End this chat?' }),
    el('button', { type: 'button', class: 'secondary', text: 'Cancel', onclick: () => { confirmBar.hidden = true; } }),
    el('button', { type: 'button', class: 'primary', text: 'End chat', onclick: () => { confirmBar.hidden = true; endChat(); } }));

  const bannerMain = el('span');
  const bannerSub = el('span', { class: 'sub' });
  const banner = el('div', { class: 'banner', role: 'status', hidden: true }, bannerMain, bannerSub);

  // Pre-chat form: name and email are optional, the first message is not.
  const nameIn = el('input', { type: 'text', name: 'name', autocomplete: 'name', maxlength: '100' });
  const emailIn = el('input', { type: 'email', name: 'email', autocomplete: 'email', maxlength: '254' });
  const firstIn = el('textarea', { name: 'message', rows: '4', required: true, placeholder: 'How can we help?' });
  const preNotice = el('div', { class: 'notice error', role: 'alert' });
  const preIntro = el('p', { class: 'intro', text: 'Hi! Ask us anything \u2014 a person will answer.' });
  const emailLabel = el('span', { text: 'Email (optional)' });
  const startBtn = el('button', { type: 'submit', class: 'primary', text: 'Start chat' });
  const prechat = el('form', { class: 'prechat', novalidate: true, onsubmit: (e) => { e.preventDefault(); startChat(); } },
    preIntro,
    el('label', {}, 'Name (optional)', nameIn),
    el('label', {}, emailLabel, emailIn),
    el('label', {}, 'Message', firstIn),
    preNotice,
    startBtn);

  const log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite' });
  const typingLine = el('div', { class: 'typing', 'aria-live': 'polite' });
  const input = el('textarea', { rows: '1', placeholder: 'Write a message\u2026', 'aria-label': 'Message' });
  const sendBtn = el('button', { type: 'button', class: 'primary', text: 'Send', onclick: () => sendFromComposer() });
  const notice = el('div', { class: 'notice', 'aria-live': 'polite' });
  // Files: a paperclip opens the picker (offering only what the server
  // takes); dropping on the panel or pasting into the message works too.
  const fileIn = el('input', { type: 'file', multiple: true, hidden: true, accept: ACCEPT.join(','), 'aria-hidden': 'true', tabindex: '-1',
    onchange: () => { const fs = [...fileIn.files]; fileIn.value = ''; attachFiles(fs); } });
  const attachBtn = el('button', { type: 'button', class: 'attach', 'aria-label': 'Attach a file', title: 'Attach a file',
    hidden: !MAX_FILE, onclick: () => fileIn.click() }, clipIcon());
  const composer = el('div', { class: 'composer' }, el('div', { class: 'row' }, attachBtn, fileIn, input, sendBtn), notice);
  const endedText = el('p', { class: 'ended-text', text: 'This chat has ended.' });
  // The one question after a resolved chat: five buttons, an optional
  // comment, then thanks (survey and rated frames).
  let surveyConv = '';
  let surveyScore = 0;
  const surveyQ = el('p', { class: 'survey-q' });
  const scoreBtns = [1, 2, 3, 4, 5].map((n) => el('button', {
    type: 'button', class: 'score', text: String(n), 'aria-pressed': 'false', 'aria-label': n + ' out of 5',
    onclick: () => pickScore(n),
  }));
  const surveyComment = el('textarea', { rows: '2', maxlength: '2000', placeholder: 'Anything to add? (optional)', 'aria-label': 'Comment (optional)' });
  const surveySend = el('button', { type: 'button', class: 'primary', text: 'Send rating', disabled: true, onclick: () => sendRating() });
  const surveyThanks = el('p', { class: 'survey-thanks', role: 'status', hidden: true });
  const surveyForm = el('div', { class: 'survey-form' },
    el('div', { class: 'scores', role: 'group', 'aria-label': 'Rating from 1 (poor) to 5 (great)' }, ...scoreBtns),
    el('div', { class: 'scale', 'aria-hidden': 'true' }, el('span', { text: 'Poor' }), el('span', { text: 'Great' })),
    surveyComment, surveySend);
  const surveyBox = el('div', { class: 'survey', hidden: true }, surveyQ, surveyForm, surveyThanks);
  const ended = el('div', { class: 'ended', hidden: true },
    endedText,
    surveyBox,
    el('button', { type: 'button', class: 'primary', text: 'Start a new chat', onclick: () => newChat() }));

  function pickScore(n) {
    surveyScore = n;
    scoreBtns.forEach((b, i) => b.setAttribute('aria-pressed', String(i + 1 === n)));
    surveySend.disabled = false;
  }

  function sendRating() {
    if (!surveyScore || !surveyConv) return;
    surveySend.disabled = true;
    send({ type: 'rate', conversation: surveyConv, score: surveyScore, comment: surveyComment.value.trim() });
  }

  function showSurvey(f) {
    surveyConv = f.conversation;
    // A reload comes back to the closed chat for this question; the
    // gateway asks again only while an answer still counts.
    if (state.asked !== f.conversation) { state.asked = f.conversation; save(); }
    surveyQ.textContent = f.text;
    surveyForm.hidden = false;
    surveyThanks.hidden = true;
    surveyBox.hidden = false;
  }

  function showRated(f) {
    if (state.asked) { state.asked = ''; save(); }
    surveyForm.hidden = true;
    surveyThanks.textContent = 'Thank you — you rated us ' + f.score + ' out of 5.';
    surveyThanks.hidden = false;
    surveyBox.hidden = false;
  }
  const chatView = el('div', { style: 'display:contents' }, log, typingLine, composer, ended);

  const panel = el('div', { class: 'panel', role: 'dialog', 'aria-label': CONFIG.site + ' chat', hidden: true },
    header, confirmBar, banner, prechat, chatView, el('div', { class: 'powered', text: 'Chat by Switchboard' }));

  root.append(preview, launcher, panel);

  // ---- view state

  const shown = new Set();       // message ids on screen
  const byFrame = new Map();     // frame id -> element of our own message
  let typingTimer = null;
  let returnedIn = '';           // conversation whose offer lapsed

  function showView() {
    const inChat = Boolean(state.conv) || state.pending.length > 0;
    prechat.hidden = inChat;
    chatView.hidden = !inChat;
    chatView.style.display = inChat ? 'contents' : 'none';
    endBtn.hidden = !inChat || state.closed;
    composer.hidden = state.closed;
    ended.hidden = !state.closed;
    if (state.closed) banner.hidden = true;
    // The log's height just changed: keep the newest line in view.
    log.scrollTop = log.scrollHeight;
  }

  function setUnread(n, m) {
    unread = n;
    badge.hidden = n === 0;
    badge.textContent = n > 9 ? '9+' : String(n);
    launcher.setAttribute('aria-label', n ? 'Chat with us \u2014 ' + n + ' unread' : 'Chat with us');
    preview.hidden = n === 0;
    if (m) {
      previewWho.textContent = (m.name || state.agent || 'Agent') + (n > 1 ? ' \u00b7 ' + n + ' new' : '');
      const text = m.text || (m.files && m.files.length ? '\ud83d\udcce ' + m.files.map((f) => f.name).join(', ') : '');
      const t = Array.from(text);
      previewText.textContent = t.length > 90 ? t.slice(0, 90).join('') + '\u2026' : text;
    }
  }

  function openPanel() {
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    launcher.classList.add('open');
    setUnread(0);
    try { sessionStorage.setItem(OPEN_KEY, '1'); } catch (_) { /* storage blocked */ }
    if (!state.conv && !state.pending.length) checkAvailability();
    showView();
    (chatView.hidden ? (nameIn.value ? firstIn : nameIn) : input).focus();
    log.scrollTop = log.scrollHeight;
  }
  function closePanel() {
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.classList.remove('open');
    try { sessionStorage.removeItem(OPEN_KEY); } catch (_) { /* storage blocked */ }
  }

  // ---- who answers: live agents, nobody online, or closed

  let avail = { chat: 'open' };
  // applyAvailability words the header and the form for what is true now:
  // never "we answer in minutes" with nobody there.
  function applyAvailability(a) {
    avail = a;
    const offline = a.chat === 'away' || a.chat === 'closed';
    if (!state.conv || state.closed) {
      statusLine.textContent = a.chat === 'closed' ? (a.opens ? 'Closed \u2014 we open ' + a.opens : 'Closed right now')
        : a.chat === 'away' ? 'Nobody is available right now' : 'We\u2019re online';
    }
    preIntro.textContent = a.chat === 'closed'
      ? 'We\u2019re closed right now' + (a.opens ? ' and open ' + a.opens : '') + '. Leave a message and your email address, and a person will answer then.'
      : a.chat === 'away'
        ? 'Nobody is available to chat right now. Leave a message and your email address, and a person will answer as soon as someone is back.'
        : 'Hi! Ask us anything \u2014 a person will answer.';
    emailLabel.textContent = offline ? 'Email (so we can answer you)' : 'Email (optional)';
    emailIn.required = offline;
    startBtn.textContent = offline ? 'Leave a message' : 'Start chat';
  }

  // fetchAvailability asks the gateway; null when it cannot be reached
  // (the chat is then offered as usual and the socket retries).
  async function fetchAvailability() {
    try {
      const res = await fetch(AVAIL_URL, { mode: 'cors', credentials: 'omit', cache: 'no-store' });
      return await res.json();
    } catch (_) {
      return null;
    }
  }

  async function checkAvailability() {
    const a = await fetchAvailability();
    if (a && a.chat !== 'refused') applyAvailability(a);
  }

  function setBanner(main, sub) {
    bannerMain.textContent = main;
    bannerSub.textContent = sub || '';
    bannerSub.hidden = !sub;
    banner.hidden = false;
  }

  // fileList shows a message's files: images as a preview that opens the
  // file, others as a download link with their size. Links come from the
  // server, signed for this conversation; a file without one (not sent
  // yet, or held elsewhere) is shown by name.
  function fileList(files) {
    if (!files || !files.length) return null;
    return el('ul', { class: 'files' }, ...files.map((f) => {
      let href = null;
      if (f.url && f.url.startsWith('/chat/files?')) href = src.origin + f.url;
      const label = el('span', { class: 'fname', text: f.name }), size = el('span', { class: 'fsize', text: fmtSize(f.size || 0) });
      if (!href) return el('li', { class: 'file' }, label, size);
      if (f.image) {
        return el('li', { class: 'file image' },
          el('a', { href, target: '_blank', rel: 'noopener noreferrer', title: 'Open ' + f.name },
            el('img', { src: href, alt: f.name, loading: 'lazy' })),
          el('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'flink' }, label, size));
      }
      return el('li', { class: 'file' }, el('a', { href, download: f.name, rel: 'noopener noreferrer', class: 'flink' }, docIcon(), label, size));
    }));
  }

  function messageNode(m, pending) {
    const mine = m.from === 'customer';
    const who = mine ? 'You' : (m.name || state.agent || 'Agent');
    const meta = el('div', { class: 'meta', text: who + ' \u00b7 ' + fmtTime(m.at || Date.now()) });
    return el('div', { class: 'msg ' + (mine ? 'customer' : 'agent') + (pending ? ' pending' : '') },
      m.text ? el('div', { class: 'bubble' }, linkify(m.text)) : null, fileList(m.files), meta);
  }

  function renderMessage(m, pending) {
    const node = messageNode(m, pending);
    // Messages not yet acknowledged are the newest we know of: what the
    // server sends goes above them.
    const firstPending = pending ? null : log.querySelector('.msg.pending');
    if (firstPending) log.insertBefore(node, firstPending);
    else log.append(node);
    log.scrollTop = log.scrollHeight;
    return node;
  }

  // A message of ours shown before the server has it.
  function renderPending(p) {
    const node = renderMessage({ from: 'customer', text: p.text, files: p.names, at: p.at }, true);
    node.querySelector('.meta').textContent = 'Sending\u2026';
    byFrame.set(p.id, node);
    return node;
  }

  function markFailed(frameID, reason) {
    state.pending = state.pending.filter((p) => p.id !== frameID);
    save();
    const node = byFrame.get(frameID);
    if (!node) return;
    node.classList.remove('pending');
    node.classList.add('failed');
    node.querySelector('.meta').textContent = 'Not sent: ' + reason;
  }

  // ---- connection

  let ws = null;
  let ready = false;     // welcome received on this socket
  let attempt = 0;
  let retryTimer = null;
  let wantOnline = false;

  function connect() {
    wantOnline = true;
    if (ws || retryTimer) return;
    let sock;
    try {
      sock = new WebSocket(WS_URL);
    } catch (_) {
      scheduleReconnect();
      return;
    }
    ws = sock;
    sock.onopen = () => hello(sock);
    sock.onmessage = (ev) => {
      let f;
      try { f = JSON.parse(ev.data); } catch (_) { return; }
      if (f && typeof f.type === 'string') handle(f, sock);
    };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      ready = false;
      if (ev.code === 4401) {
        // The token was refused (forged, expired or from another
        // secret): start over as a new visitor rather than retry forever.
        state.token = '';
        state.conv = '';
        cursor = '';
        state.closed = false;
        save();
      }
      if (wantOnline) {
        statusLine.textContent = 'Reconnecting\u2026';
        scheduleReconnect();
      }
    };
  }

  function scheduleReconnect() {
    // Exponential backoff with jitter, so a gateway restart is not met by
    // every visitor at the same instant.
    const base = Math.min(15000, 500 * 2 ** attempt);
    attempt++;
    const delay = base / 2 + Math.random() * base / 2;
    retryTimer = setTimeout(() => { retryTimer = null; connect(); }, delay);
  }

  function send(f) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(f));
    return true;
  }

  function hello(sock) {
    const f = {
      type: state.token ? 'resume' : 'hello', queue: QUEUE,
      name: state.name || undefined, email: state.email || undefined,
      session: state.session || undefined,
    };
    if (state.token) {
      f.token = state.token;
      if (state.conv) { f.conversation = state.conv; if (cursor) f.after = cursor; }
    }
    sock.send(JSON.stringify(f));
  }

  // Cursors are stream ids "<ms>-<seq>"; compare them as numbers.
  function later(a, b) {
    if (!b) return true;
    const [am, as] = a.split('-').map(Number), [bm, bs] = b.split('-').map(Number);
    return am > bm || (am === bm && as > bs);
  }

  function switchConversation(id) {
    if (state.conv === id) return;
    if (state.conv) {
      // Another chat: clear what belongs to the old one.
      log.replaceChildren();
      shown.clear();
      byFrame.clear();
      for (const p of state.pending) renderPending(p);
    }
    state.conv = id;
    cursor = '';
    state.agent = '';
    state.closed = false;
    state.asked = '';
    save();
  }

  function handle(f, sock) {
    switch (f.type) {
      case 'welcome': {
        attempt = 0;
        ready = true;
        state.token = f.visitor_token;
        if (f.conversation) {
          switchConversation(f.conversation.id);
          state.closed = f.conversation.state === 'closed';
        } else if (state.conv) {
          // Our chat is no longer the visitor's current one: it ended.
          state.closed = true;
        }
        save();
        if (state.agent) statusLine.textContent = 'Chatting with ' + state.agent;
        else if (state.left && state.conv && !state.closed) leftBanner();
        else if (!state.conv || state.closed) applyAvailability(avail);
        else statusLine.textContent = 'Waiting for an agent';
        showView();
        // Anything not acknowledged is sent again with its own id; the
        // server stores each id once.
        for (const p of state.pending) sock.send(JSON.stringify(messageFrame(p)));
        break;
      }
      case 'message': {
        if (f.conversation && f.conversation !== state.conv) {
          if (f.from !== 'customer' || !byFrame.has(f.frame_id)) {
            // A chat started in another tab: catch up with it.
            switchConversation(f.conversation);
            send({ type: 'resume', token: state.token, conversation: f.conversation });
            break;
          }
          switchConversation(f.conversation);
          showView();
        }
        if (f.cursor && later(f.cursor, cursor)) cursor = f.cursor;
        if (f.from === 'customer' && f.frame_id && byFrame.has(f.frame_id)) {
          let node = byFrame.get(f.frame_id);
          byFrame.delete(f.frame_id);
          node.classList.remove('pending', 'failed');
          if (f.files && f.files.length) {
            // Stored: its files now have links.
            const fresh = messageNode(f);
            node.replaceWith(fresh);
            node = fresh;
          }
          // Stored now: it takes its place after what the server sent before it.
          const firstPending = log.querySelector('.msg.pending');
          if (firstPending) log.insertBefore(node, firstPending);
          else log.append(node);
          node.querySelector('.meta').textContent = 'You \u00b7 ' + fmtTime(f.at);
          shown.add(f.id);
          state.pending = state.pending.filter((p) => p.id !== f.frame_id);
          save();
          break;
        }
        if (shown.has(f.id)) break;
        shown.add(f.id);
        if (f.from === 'agent') {
          typingLine.textContent = '';
          if (panel.hidden && !f.resumed) setUnread(unread + 1, f);
        }
        renderMessage(f);
        break;
      }
      case 'queue': {
        if (f.conversation !== state.conv || state.agent || state.closed) break;
        if (state.left) {
          leftBanner();
          break;
        }
        const place = f.position <= 1 ? "You're next in line" : "You're " + ordinal(f.position) + ' in line';
        // An offer that lapsed is explained, and stays explained while the
        // customer waits on: silence after "connecting you" reads as broken.
        if (f.returned) returnedIn = state.conv;
        const returned = returnedIn === state.conv;
        let main, sub;
        if (f.nobody_online) {
          main = place + (returned ? ' \u2014 nobody else is available right now' : ' \u2014 nobody is available right now');
          sub = 'You keep your place and we\u2019ll answer as soon as someone is back. You can leave this page; we\u2019ll answer here.';
        } else {
          const wait = waitText(f.estimate);
          main = wait ? place + ' \u2014 ' + wait : place;
          sub = wait ? '' : "We can't estimate the wait right now; you'll be answered as soon as someone is free.";
        }
        if (returned) {
          sub = 'The person who was about to answer couldn\u2019t take your chat. ' + (sub || 'You keep your place; the next free person will answer.');
        }
        setBanner(main, sub);
        statusLine.textContent = 'Waiting for an agent';
        break;
      }
      case 'agent_joined': {
        if (f.conversation !== state.conv) break;
        banner.hidden = true;
        if (state.agent !== f.name || !log.querySelector('.system.joined')) {
          const line = el('div', { class: 'system joined', text: f.name + ' has joined' });
          // On resume the agent's replies are already on screen: the line
          // belongs before the first of them, not after the last.
          const first = f.conversation === state.conv && !log.querySelector('.system.joined') && log.querySelector('.msg.agent');
          if (first) log.insertBefore(line, first);
          else log.append(line);
          log.scrollTop = log.scrollHeight;
        }
        state.agent = f.name;
        state.left = false;
        save();
        statusLine.textContent = 'Chatting with ' + f.name;
        break;
      }
      case 'typing': {
        if (f.conversation !== state.conv) break;
        clearTimeout(typingTimer);
        typingLine.textContent = f.typing ? (f.name || state.agent || 'Agent') + ' is typing\u2026' : '';
        // A lost "stopped typing" must not leave the line up for ever.
        if (f.typing) typingTimer = setTimeout(() => { typingLine.textContent = ''; }, 8000);
        break;
      }
      case 'closed': {
        if (f.conversation !== state.conv) break;
        // Said once, below the transcript: not also as a line in it.
        if (!state.closed || f.reason === 'customer') {
          endedText.textContent = f.reason === 'customer' ? 'You ended the chat.' : 'This chat has ended.';
        }
        state.closed = true;
        // Not resent into a chat that is over; shown as not sent instead.
        for (const p of [...state.pending]) markFailed(p.id, 'the chat had ended.');
        save();
        typingLine.textContent = '';
        statusLine.textContent = 'Chat ended';
        showView();
        break;
      }
      case 'survey':
        if (f.conversation === state.conv) showSurvey(f);
        break;
      case 'rated':
        if (f.conversation === surveyConv) showRated(f);
        break;
      case 'error':
        handleError(f);
        break;
    }
  }

  function handleError(f) {
    switch (f.code) {
      case 'too_large':
        if (f.frame_id) markFailed(f.frame_id, 'the message is longer than ' + num(f.limit || MAX) + ' characters.');
        break;
      case 'rejected':
        if (f.frame_id) markFailed(f.frame_id, f.message && /file|chat/.test(f.message) ? f.message + '.' : 'the message was refused.');
        break;
      case 'unavailable':
      case 'rate_limited':
        // Kept pending: resent with the same id on the next welcome, or now
        // after a pause.
        if (f.frame_id) {
          setTimeout(() => {
            const p = state.pending.find((x) => x.id === f.frame_id);
            if (p) send(messageFrame(p));
          }, 3000);
        }
        break;
      case 'token_expired':
      case 'unauthorized':
        break; // the socket closes with 4401 and we start over
      case 'no_chat':
        state.closed = true;
        save();
        showView();
        break;
      default:
        console.warn('switchboard chat:', f.code, f.message);
    }
  }

  // ---- actions

  function messageFrame(p) {
    const f = { type: 'message', id: p.id, text: p.text };
    if (p.files && p.files.length) f.files = p.files;
    return f;
  }

  function queueMessage(text) {
    const p = { id: randomID('f_'), text, at: Date.now() };
    state.pending.push(p);
    save();
    renderPending(p);
    if (ready) send({ type: 'message', id: p.id, text: p.text });
    else connect();
  }

  // ---- files

  function fileProblem(file) {
    const dot = file.name.lastIndexOf('.');
    const ext = dot >= 0 ? file.name.slice(dot).toLowerCase() : '';
    if (!ACCEPT.includes(ext)) return 'only images (PNG, JPEG, GIF, WebP), PDF, text and office documents can be attached.';
    if (file.size > MAX_FILE) return 'the file is ' + fmtSize(file.size) + '; the limit is ' + fmtSize(MAX_FILE) + '.';
    if (file.size === 0) return 'the file is empty.';
    return '';
  }

  function fileNotice(text) {
    notice.textContent = text;
    notice.classList.add('error');
  }

  // attachFiles uploads each file to the gateway, showing it as a message
  // being sent with its progress, then sends the message that adds it to
  // the chat. A refused file says why and sends nothing.
  function attachFiles(files) {
    if (!files.length || !MAX_FILE) return;
    if (!state.conv || state.closed || !ready) {
      fileNotice(state.closed ? 'This chat has ended; files can no longer be sent.' : 'Files can be attached once the chat has started.');
      return;
    }
    notice.textContent = '';
    notice.classList.remove('error');
    for (const file of files.slice(0, 5)) uploadFile(file);
    if (files.length > 5) fileNotice('Up to 5 files at a time; the rest were not sent.');
  }

  function uploadFile(file) {
    const p = { id: randomID('f_'), text: '', at: Date.now(), files: [], names: [{ name: file.name, size: file.size }] };
    const node = renderMessage({ from: 'customer', files: p.names, at: p.at }, true);
    const meta = node.querySelector('.meta');
    byFrame.set(p.id, node);
    const problem = fileProblem(file);
    if (problem) {
      markFailed(p.id, problem);
      return;
    }
    meta.textContent = 'Sending\u2026';
    const form = new FormData();
    // Token and conversation first: the server checks them before it reads the file.
    form.append('token', state.token);
    form.append('conversation', state.conv);
    form.append('file', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', FILES_URL);
    xhr.responseType = 'json';
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) meta.textContent = 'Sending\u2026 ' + Math.floor(100 * e.loaded / e.total) + '%';
    };
    xhr.onerror = () => markFailed(p.id, 'the connection dropped; try again.');
    xhr.onload = () => {
      const body = xhr.response || {};
      if (xhr.status !== 201) {
        const why = {
          too_large: 'the file is larger than the limit of ' + fmtSize(body.limit || MAX_FILE) + '.',
          unsupported_type: (body.error || 'this kind of file cannot be attached') + '.',
          no_chat: 'this chat is no longer open.',
          unauthorized: 'please reload the page and try again.',
        }[body.code] || 'the file was not sent; try again.';
        markFailed(p.id, why);
        return;
      }
      p.files = [body.id];
      p.names = [{ name: body.name, size: body.size }];
      state.pending.push(p);
      save();
      meta.textContent = 'Sending\u2026';
      if (ready) send(messageFrame(p));
      else connect();
    };
    xhr.send(form);
  }

  function tooLong(text) {
    const n = chars(text);
    return n > MAX ? 'Your message is ' + num(n) + ' characters; the limit is ' + num(MAX) + '. Please shorten it.' : '';
  }

  function startChat() {
    const text = firstIn.value.trim();
    if (!text) { preNotice.textContent = 'Please write a message.'; firstIn.focus(); return; }
    const long = tooLong(text);
    if (long) { preNotice.textContent = long; return; }
    const offline = avail.chat === 'away' || avail.chat === 'closed';
    if (offline && !emailIn.value.trim()) { preNotice.textContent = 'Please give an email address so we can answer you.'; emailIn.focus(); return; }
    if (emailIn.value && !emailIn.checkValidity()) { preNotice.textContent = 'That email address does not look right.'; emailIn.focus(); return; }
    preNotice.textContent = '';
    state.left = offline;
    state.name = nameIn.value.trim();
    state.email = emailIn.value.trim();
    state.session = randomID('s_');
    state.closed = false;
    save();
    firstIn.value = '';
    if (state.left) leftBanner();
    else setBanner('Connecting you with the team\u2026', '');
    showView();
    chatView.hidden = false;
    chatView.style.display = 'contents';
    prechat.hidden = true;
    endBtn.hidden = false;
    if (ready) {
      // Already connected: tell the server who we are before the message.
      send({ type: 'hello', token: state.token, queue: QUEUE, session: state.session,
        name: state.name || undefined, email: state.email || undefined });
    }
    queueMessage(text);
    input.focus();
  }

  function sendFromComposer() {
    const text = input.value.trim();
    if (!text) return;
    const long = tooLong(text);
    if (long) {
      notice.textContent = long;
      notice.classList.add('error');
      return;
    }
    input.value = '';
    updateCounter();
    stopTyping();
    queueMessage(text);
  }

  function endChat() {
    if (!send({ type: 'end' })) {
      notice.textContent = 'Not connected \u2014 try again in a moment.';
      notice.classList.add('error');
    }
  }

  function leftBanner() {
    setBanner('Thanks \u2014 your message is with the team.',
      'A person will answer at ' + (state.email || 'your email address') + ', and here if you come back.');
    statusLine.textContent = 'Message left';
  }

  function newChat() {
    state.left = false;
    state.conv = '';
    cursor = '';
    state.agent = '';
    state.closed = false;
    state.pending = [];
    state.session = '';
    save();
    log.replaceChildren();
    shown.clear();
    byFrame.clear();
    banner.hidden = true;
    surveyBox.hidden = true;
    surveyConv = '';
    surveyScore = 0;
    surveyComment.value = '';
    scoreBtns.forEach((b) => b.setAttribute('aria-pressed', 'false'));
    endedText.textContent = 'This chat has ended.';
    applyAvailability(avail);
    checkAvailability();
    showView();
    firstIn.focus();
  }

  // Typing: "started" at most every 3 s while keys come, "stopped" after 4 s
  // of quiet or on send.
  let typingSentAt = 0;
  let typingIdle = null;
  function noteTyping() {
    if (!ready || !state.conv || state.closed) return;
    const now = Date.now();
    if (now - typingSentAt > 3000) { send({ type: 'typing', typing: true }); typingSentAt = now; }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, 4000);
  }
  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingSentAt) { send({ type: 'typing', typing: false }); typingSentAt = 0; }
  }

  function updateCounter() {
    const n = chars(input.value);
    notice.classList.toggle('error', n > MAX);
    if (n > MAX) notice.textContent = 'Too long: ' + num(n) + ' of ' + num(MAX) + ' characters.';
    else if (n > MAX * 0.8) notice.textContent = num(n) + ' / ' + num(MAX) + ' characters';
    else notice.textContent = '';
  }

  input.addEventListener('input', () => { updateCounter(); noteTyping(); });
  input.addEventListener('paste', (e) => {
    const files = [...((e.clipboardData && e.clipboardData.files) || [])];
    if (!files.length || !MAX_FILE) return;
    e.preventDefault();
    attachFiles(files);
  });
  panel.addEventListener('dragover', (e) => {
    if (!MAX_FILE || composer.hidden || chatView.hidden || !e.dataTransfer || ![...e.dataTransfer.types].includes('Files')) return;
    e.preventDefault();
    panel.classList.add('dropping');
  });
  panel.addEventListener('dragleave', (e) => { if (!panel.contains(e.relatedTarget)) panel.classList.remove('dropping'); });
  panel.addEventListener('drop', (e) => {
    panel.classList.remove('dropping');
    if (!MAX_FILE || composer.hidden || chatView.hidden || !e.dataTransfer || !e.dataTransfer.files.length) return;
    e.preventDefault();
    attachFiles([...e.dataTransfer.files]);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendFromComposer(); }
  });
  firstIn.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); startChat(); }
  });
  nameIn.value = state.name || '';
  emailIn.value = state.email || '';

  // Ask first whether this page may chat at all: a page whose origin the
  // gateway refuses shows nothing (a form whose messages could never be
  // sent would be worse than no chat), and says why in the console for the
  // site's developer. Then show what we have and resume an open chat at
  // once, so its replies and place in line are live before the panel opens.
  (async () => {
    const a = await fetchAvailability();
    if (a && a.chat === 'refused') {
      console.warn('Switchboard chat: ' + (a.message || 'chat is not available on this site') + ' (' + location.origin + ')');
      return;
    }
    applyAvailability(a || { chat: 'open' });
    for (const p of state.pending) renderPending(p);
    showView();
    if (state.conv && (!state.closed || state.asked === state.conv)) connect();
    else if (state.pending.length) connect();

    // Tabs share localStorage: another tab may take the visitor further.
    window.addEventListener('online', () => { if (wantOnline && !ws) { clearTimeout(retryTimer); retryTimer = null; attempt = 0; connect(); } });

    const mount = () => {
      document.body.append(host);
      let wasOpen = false;
      try { wasOpen = sessionStorage.getItem(OPEN_KEY) === '1'; } catch (_) { /* storage blocked */ }
      if (wasOpen) openPanel();
    };
    if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
  })();
})();
