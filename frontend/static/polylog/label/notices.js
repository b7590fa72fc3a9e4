// The labeling page's one notification area: refusals, what others did to the shapes you are editing, and
// short confirmations. Newest first, at most three; each fades after a few seconds unless the pointer is
// over the area; a message already on screen is refreshed (moved to the top, its time started again)
// instead of shown twice. Each notice may carry a key (one cause, one message: a later message with the
// same key replaces the earlier one) and a code (kept as data-code for tests and tools, never shown).

import { h } from '../ui.js';

const MAX_SHOWN = 3;
const LIFETIME_MS = 6000;
const FADE_MS = 400; // the CSS transition of .notice.fading

export class Notices {
  constructor(host) {
    this.host = host;
    this.hovered = false;
    this.shown = []; // newest first: {element, key, text, code, timer}
    // Hovering keeps every notice (to read it, or to reach its close button); leaving starts them again.
    host.addEventListener('pointerenter', () => {
      this.hovered = true;
      host.dataset.hovered = 'true';
      for (const note of this.shown) this.stopTimer(note);
    });
    host.addEventListener('pointerleave', () => {
      this.hovered = false;
      delete host.dataset.hovered;
      for (const note of this.shown) this.startTimer(note);
    });
  }

  // show({text, code?, key?, kind?}): kind is 'refusal' (a command was refused, or the page stopped one),
  // 'notice' (someone else changed what you were working on) or 'info'; a code makes it a refusal.
  show({ text, code = null, key = null, kind = code ? 'refusal' : 'notice' }) {
    let note = this.shown.find((n) => (key !== null && n.key === key) || n.text === text);
    if (note && note.code && !code && note.key === key && key !== null) {
      // The refusal for a cause is already on screen: the plain notice about it adds nothing.
      this.refresh(note);
      return note.element;
    }
    if (!note) {
      const element = h('div', { class: 'notice' }, h('span', { class: 'text' }), h('button', { type: 'button', class: 'close', title: 'Dismiss', 'aria-label': 'Dismiss' }));
      note = { element, key, text: null, code: null, timer: 0 };
      element.querySelector('.close').addEventListener('click', () => this.remove(note));
    }
    note.key = key ?? note.key;
    note.text = text;
    note.code = code;
    const { element } = note;
    element.className = `notice ${kind}`;
    element.setAttribute('role', kind === 'refusal' ? 'alert' : 'status');
    element.dataset.kind = kind;
    if (code) element.dataset.code = code;
    else delete element.dataset.code;
    element.querySelector('.text').textContent = text;
    this.refresh(note);
    while (this.shown.length > MAX_SHOWN) this.remove(this.shown.at(-1));
    return element;
  }

  // To the top, fully visible, its time started again.
  refresh(note) {
    this.shown = [note, ...this.shown.filter((n) => n !== note)];
    note.element.classList.remove('fading');
    this.host.prepend(note.element);
    this.startTimer(note);
  }

  startTimer(note) {
    this.stopTimer(note);
    if (this.hovered) return;
    note.timer = setTimeout(() => {
      note.element.classList.add('fading');
      note.timer = setTimeout(() => this.remove(note), FADE_MS);
    }, LIFETIME_MS);
  }

  stopTimer(note) {
    clearTimeout(note.timer);
    note.timer = 0;
    note.element.classList.remove('fading');
  }

  remove(note) {
    clearTimeout(note.timer);
    note.element.remove();
    this.shown = this.shown.filter((n) => n !== note);
    // The pointer was on the notice that went: the area is no longer under it.
    if (!this.shown.length && this.hovered) {
      this.hovered = false;
      delete this.host.dataset.hovered;
    }
  }
}
