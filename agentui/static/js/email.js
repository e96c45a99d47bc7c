// Email conversations in the console: the thread as mail (subject,
// from/to/cc, the body as sanitized HTML or text, attachments, the quoted
// history folded) and the composer's email fields (the subject is fixed to
// the thread; cc is editable). Everything comes from the email channel's
// authenticated routes (/api/email/conversations/:id).
//
// Mail HTML is sanitized by the server, and is still shown only inside a
// sandboxed frame without scripts and with a CSP that loads nothing from
// the network: a gap in the sanitizer runs nothing and fetches nothing.
import { $, h, replace, clock, day } from './dom.js';

const FRAME_CSP = "default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'; font-src data:";

export class EmailView {
  /** csrf returns the session's CSRF token for the PUT of the cc list. */
  constructor(csrf) {
    this.csrf = csrf;
    this.threads = new Map(); // conversation id → { thread, count, loading }
    this.current = '';
  }

  /** render shows conversation c's mail, or hides the mail parts when c is not email. */
  render(c) {
    const pane = $('email-thread');
    const fields = $('email-fields');
    if (!c || c.channel !== 'email') {
      pane.hidden = true;
      fields.hidden = true;
      this.current = '';
      return;
    }
    pane.hidden = false;
    fields.hidden = false;
    const st = this.threads.get(c.id);
    // Fetch again when the transcript grew: a new mail came in or went out.
    const count = c.messages.length;
    if (!st || (st.count !== count && !st.loading)) this.load(c.id, count);
    if (this.current !== c.id || (st && st.drawn !== st.thread)) {
      this.current = c.id;
      this.draw(c.id);
    }
  }

  async load(id, count) {
    const st = this.threads.get(id) || {};
    st.loading = true;
    st.count = count;
    this.threads.set(id, st);
    try {
      const res = await fetch(`/api/email/conversations/${encodeURIComponent(id)}`, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      st.thread = await res.json();
      st.error = '';
    } catch (e) {
      st.error = `Could not load the mail: ${e.message}`;
    } finally {
      st.loading = false;
    }
    if (this.current === id) this.draw(id);
  }

  draw(id) {
    const st = this.threads.get(id);
    const pane = $('email-thread');
    if (!st || (!st.thread && !st.error)) {
      replace(pane, h('p', { class: 'email-loading' }, 'Loading the mail…'));
      return;
    }
    st.drawn = st.thread;
    if (st.error) {
      replace(pane, h('p', { class: 'email-error', role: 'alert' }, st.error));
      return;
    }
    const t = st.thread;
    replace(pane,
      h('h3', { class: 'email-subject' }, t.subject || '(no subject)'),
      t.mails.map((m) => this.mail(id, m)),
    );
    $('email-subject-field').value = t.reply_subject || '';
    const cc = $('email-cc');
    if (document.activeElement !== cc) cc.value = t.cc || '';
  }

  mail(convId, m) {
    const head = h('dl', { class: 'email-head' },
      h('dt', {}, 'From'), h('dd', {}, m.from),
      h('dt', {}, 'To'), h('dd', {}, m.to),
      m.cc ? [h('dt', {}, 'Cc'), h('dd', {}, m.cc)] : null,
      h('dt', {}, 'Date'), h('dd', {}, m.date ? `${day(m.date)} ${clock(m.date)}` : ''),
    );
    let body;
    if (m.html) {
      body = h('iframe', {
        class: 'email-html', title: `Mail from ${m.from}`,
        // No allow-scripts, no allow-same-origin: the frame is an opaque
        // origin that can run nothing and reach nothing of the console.
        sandbox: '', referrerpolicy: 'no-referrer', loading: 'lazy',
      });
      body.srcdoc = `<!doctype html><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${FRAME_CSP}">`
        + `<style>body{font:14px/1.45 system-ui,sans-serif;margin:8px;color:#1d2433;overflow-wrap:anywhere}img{max-width:100%}blockquote{margin:0 0 0 .8ex;border-left:2px solid #ccd;padding-left:1ex;color:#556}</style>`
        + m.html;
      body.addEventListener('load', () => {
        // Sandboxed without same-origin, the frame's height is unknown:
        // give it room in proportion to the text, bounded.
        const lines = (m.text || '').split('\n').length + 4;
        body.style.height = `${Math.min(600, Math.max(120, lines * 22))}px`;
      });
    } else {
      body = h('div', { class: 'email-text' }, m.text);
    }
    const quoted = m.quoted
      ? h('details', { class: 'email-quoted' }, h('summary', {}, 'Show quoted history'), h('pre', {}, m.quoted))
      : null;
    const atts = (m.attachments || []).length
      ? h('ul', { class: 'email-attachments', 'aria-label': 'Attachments' },
        m.attachments.map((a) => h('li', {},
          a.stored_path
            ? h('a', { href: `/api/v1/attachments/${a.stored_path.split('/').map(encodeURIComponent).join('/')}`, download: a.name, rel: 'noopener' }, a.name)
            : h('span', {}, a.name),
          h('span', { class: 'email-size' }, ` ${sizeText(a.size)}`))))
      : null;
    const foot = h('div', { class: 'email-foot' },
      m.problems ? h('p', { class: 'email-problems', role: 'note' }, m.problems) : null,
      m.has_raw ? h('a', { href: `/api/email/conversations/${encodeURIComponent(convId)}/raw/${encodeURIComponent(m.id)}`, target: '_blank', rel: 'noopener' }, 'View original') : null,
    );
    return h('article', { class: `email-mail email-${m.direction}`, 'data-mail': m.id }, head, body, quoted, atts, foot);
  }

  /** saveCc stores the cc list of the selected thread; true when saved. */
  async saveCc() {
    const id = this.current;
    if (!id) return true;
    const cc = $('email-cc').value.trim();
    const st = this.threads.get(id);
    if (st && st.thread && st.thread.cc === cc) return true;
    const res = await fetch(`/api/email/conversations/${encodeURIComponent(id)}`, {
      method: 'PUT', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': this.csrf() },
      body: JSON.stringify({ cc }),
    });
    if (!res.ok) {
      const msg = await res.text().catch(() => '');
      throw new Error(`Cc not saved: ${msg || res.status}`);
    }
    if (st && st.thread) st.thread.cc = cc;
    return true;
  }
}

function sizeText(n) {
  if (!n) return '';
  if (n < 1024) return `(${n} B)`;
  if (n < 1024 * 1024) return `(${Math.round(n / 1024)} KB)`;
  return `(${(n / 1024 / 1024).toFixed(1)} MB)`;
}
