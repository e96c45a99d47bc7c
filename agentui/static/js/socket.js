// The console's websocket: request/ack with ids, server frames handed to a
// callback, and reconnection with capped exponential backoff and jitter.
// Resuming each conversation from its last message id is the caller's job
// (on every "hello"), because only the caller knows what it has seen.

const MIN_DELAY = 500;
const MAX_DELAY = 15000;
// A connection counts as healthy, and the backoff starts over, only after
// it stayed up this long: a socket that is greeted and then closed at once
// (a request the server cannot answer) must not reconnect twice a second.
const HEALTHY_AFTER = 10000;
const REQUEST_TIMEOUT = 15000;

export class Socket {
  /**
   * @param {string} url
   * @param {{onFrame:(f:object)=>void, onStatus:(s:string, info?:object)=>void,
   *          onRefused:()=>Promise<boolean>}} hooks
   * onRefused runs when a connection closes before it ever opened (the
   * upgrade was refused); it returns false to stop reconnecting (e.g. the
   * session ended and the login form is shown).
   */
  constructor(url, hooks) {
    this.url = url;
    this.hooks = hooks;
    this.ws = null;
    this.seq = 0;
    this.pending = new Map();
    this.attempt = 0;
    this.stopped = false;
    this.timer = null;
    this.healthy = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000, 'bye');
    this.failPending('signed out');
  }

  connect() {
    clearTimeout(this.timer);
    this.hooks.onStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => { opened = true; };
    ws.onmessage = (ev) => {
      let f;
      try { f = JSON.parse(ev.data); } catch { return; }
      if (f.type === 'hello') {
        clearTimeout(this.healthy);
        this.healthy = setTimeout(() => { if (this.ws === ws) this.attempt = 0; }, HEALTHY_AFTER);
        this.hooks.onStatus('online');
      }
      if (f.type === 'ack') {
        const p = this.pending.get(f.id);
        if (!p) return;
        this.pending.delete(f.id);
        clearTimeout(p.timer);
        if (f.ok) p.resolve(f.data);
        else p.reject(Object.assign(new Error(f.error || 'refused'), { code: f.code }));
        return;
      }
      this.hooks.onFrame(f);
    };
    ws.onclose = async (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearTimeout(this.healthy);
      this.failPending('connection lost');
      if (this.stopped) return;
      if (!opened || ev.code === 4401) {
        const goOn = await this.hooks.onRefused();
        if (!goOn || this.stopped) return;
      }
      // Everything else (1006 as much as 4008 slow consumer, 1001, 1011,
      // 4009) means: reconnect and resume. A slow client often never gets
      // the 4008 frame and sees 1006 (docs/protocol.md).
      this.attempt++;
      const base = Math.min(MAX_DELAY, MIN_DELAY * 2 ** (this.attempt - 1));
      const delay = Math.round(base / 2 + Math.random() * base / 2);
      this.hooks.onStatus('offline', { code: ev.code, retryIn: delay });
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }

  failPending(why) {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(Object.assign(new Error(why), { code: 'disconnected' }));
    }
    this.pending.clear();
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** request sends a frame and resolves with the ack's data. */
  request(type, fields = {}) {
    return new Promise((resolve, reject) => {
      if (!this.open) {
        reject(Object.assign(new Error('not connected'), { code: 'disconnected' }));
        return;
      }
      const id = `r${++this.seq}`;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(Object.assign(new Error('no answer from the server'), { code: 'timeout' }));
      }, REQUEST_TIMEOUT);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ type, id, ...fields }));
    });
  }
}
