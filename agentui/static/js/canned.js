// Canned replies: typing "/" at the start of an empty reply box opens a
// list filtered by what follows; arrows move, Enter or Tab puts the reply
// in the box for a last edit, Escape closes.

import { h, replace } from './dom.js';

const MAX_SHOWN = 6;

export class CannedPicker {
  /**
   * @param {HTMLTextAreaElement} box the reply box
   * @param {HTMLElement} list the listbox element
   * @param {() => Array<{shortcut:string,title:string,text:string}>} source
   */
  constructor(box, list, source) {
    this.box = box;
    this.list = list;
    this.source = source;
    this.matches = [];
    this.index = 0;
    // Leaving the box closes the list, a moment later so a click on an item
    // lands first. Coming back (a tab switch moves focus away and back)
    // cancels that pending close and shows the list for what the box holds,
    // so a lone "/" lists every reply again.
    this.hideTimer = null;
    box.addEventListener('blur', () => {
      clearTimeout(this.hideTimer);
      this.hideTimer = setTimeout(() => this.hide(), 150);
    });
    box.addEventListener('focus', () => {
      clearTimeout(this.hideTimer);
      this.update();
    });
  }

  get open() {
    return !this.list.hidden;
  }

  /** update shows the list for the box's text, or hides it. */
  update() {
    const v = this.box.value;
    const all = this.source();
    if (!v.startsWith('/') || v.includes('\n') || !all) {
      this.hide();
      return;
    }
    const q = v.slice(1).toLowerCase();
    this.matches = all.filter((k) => `${k.shortcut} ${k.title} ${k.text}`.toLowerCase().includes(q)).slice(0, MAX_SHOWN);
    this.index = Math.min(this.index, Math.max(0, this.matches.length - 1));
    replace(this.list, this.matches.length
      ? this.matches.map((k, i) => h('div', {
        class: 'canned-item', role: 'option', id: `canned-${i}`, 'aria-selected': String(i === this.index),
        // mousedown, not click: a click would blur the box first.
        onMousedown: (ev) => { ev.preventDefault(); this.pick(i); },
      }, h('span', { class: 'canned-short' }, `/${k.shortcut}`), h('span', { class: 'canned-title' }, k.title),
      h('span', { class: 'canned-text' }, k.text)))
      : [h('div', { class: 'canned-none' }, 'No canned reply matches')]);
    this.list.hidden = false;
    if (this.matches.length) this.box.setAttribute('aria-activedescendant', `canned-${this.index}`);
    else this.box.removeAttribute('aria-activedescendant');
  }

  hide() {
    this.list.hidden = true;
    this.matches = [];
    this.index = 0;
    this.box.removeAttribute('aria-activedescendant');
  }

  pick(i) {
    const k = this.matches[i];
    if (!k) return;
    this.box.value = k.text;
    this.hide();
    this.box.focus();
    this.box.setSelectionRange(this.box.value.length, this.box.value.length);
  }

  /** onKey handles a keydown in the box; true when it was the picker's. */
  onKey(ev) {
    if (!this.open) return false;
    if (ev.key === 'Escape') {
      this.hide();
      return true;
    }
    if (!this.matches.length) return false;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      const n = this.matches.length;
      this.index = (this.index + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
      this.update();
      return true;
    }
    if (ev.key === 'Enter' || ev.key === 'Tab') {
      this.pick(this.index);
      return true;
    }
    return false;
  }
}
