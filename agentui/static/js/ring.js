// The offer ring: a soft two-tone beep made with WebAudio, repeated while
// an offer is open. Browsers allow sound only after a user gesture, so the
// audio context is created (or resumed) on the first click or key press.

let ctx = null;

export function unlockAudio() {
  const AC = window.AudioContext || window.webkitAudioContext;
  if (!AC) return;
  if (!ctx) {
    try { ctx = new AC(); } catch { ctx = null; return; }
  }
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
}

function beep(freq, start, length) {
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = 'sine';
  osc.frequency.value = freq;
  // Ramp in and out: a hard start or stop clicks.
  gain.gain.setValueAtTime(0.0001, start);
  gain.gain.exponentialRampToValueAtTime(0.18, start + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
  osc.connect(gain).connect(ctx.destination);
  osc.start(start);
  osc.stop(start + length + 0.05);
}

let timer = null;
let kind = 'message';

// A message offer beeps twice; a call rings like a phone (two bursts of
// a low double tone), so an agent can tell them apart without looking.
function ringOnce() {
  if (!ctx || ctx.state !== 'running') return;
  const t = ctx.currentTime;
  if (kind === 'voice') {
    for (const at of [0, 0.5]) {
      beep(440, t + at, 0.4);
      beep(480, t + at, 0.4);
    }
    return;
  }
  beep(880, t, 0.16);
  beep(660, t + 0.2, 0.22);
}

/**
 * setRinging starts or stops the repeating ring; what is "message" or
 * "voice". html[data-ringing] mirrors it ("sound", or "silent" while the
 * browser still blocks audio) and html[data-ring-kind] says which, for
 * styles and for tests, which cannot hear.
 */
export function setRinging(on, what = 'message') {
  const root = document.documentElement;
  if (on) {
    root.setAttribute('data-ringing', ctx && ctx.state === 'running' ? 'sound' : 'silent');
    root.setAttribute('data-ring-kind', what);
  } else {
    root.removeAttribute('data-ringing');
    root.removeAttribute('data-ring-kind');
  }
  if (on && timer && what !== kind) {
    clearInterval(timer);
    timer = null;
  }
  kind = what;
  if (on && !timer) {
    ringOnce();
    timer = setInterval(ringOnce, kind === 'voice' ? 3000 : 2500);
  } else if (!on && timer) {
    clearInterval(timer);
    timer = null;
  }
}

export function isRinging() {
  return timer !== null;
}
