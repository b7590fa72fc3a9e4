// Small DOM helpers shared by the pages: element building, messages, dialogs, ids.

// h('button', {class: 'primary', onclick}, 'Save') -> an element. Attributes starting with "on" become
// listeners; `dataset` takes an object; null/undefined/false attributes and children are left out.
export function h(tag, attrs = {}, ...children) {
  const svg = tag.startsWith('svg:');
  const element = svg
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name === 'style' && typeof value === 'object') Object.assign(element.style, value);
    else element.setAttribute(name, value === true ? '' : value);
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

// Show an error (an ApiError or any Error) in an element meant for it, or clear it with null.
export function showError(element, error) {
  if (!element) return;
  if (!error) {
    element.hidden = true;
    element.textContent = '';
    return;
  }
  element.hidden = false;
  element.textContent = error.message || String(error);
  if (error.code) element.dataset.code = error.code;
}

// A short message at the bottom of the window: toast('Saved'), toast(error, {error: true}).
export function toast(message, { error = false, timeout = 4000 } = {}) {
  let host = document.getElementById('toasts');
  if (!host) {
    host = h('div', { id: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(host);
  }
  const note = h('div', { class: error ? 'toast error' : 'toast' }, message?.message || String(message));
  host.append(note);
  setTimeout(() => note.remove(), timeout);
  return note;
}

// A modal question; resolves with the value of the button pressed (or null for Escape / Cancel).
// buttons: [{label, value, primary?, danger?}]
export function ask({ title, body, buttons }) {
  return new Promise((resolve) => {
    const titleId = `ask-${Math.random().toString(36).slice(2)}`;
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId });
    const finish = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    dialog.append(
      h('h2', { id: titleId }, title),
      typeof body === 'string' ? h('p', {}, body) : body,
      h(
        'div',
        { class: 'actions' },
        buttons.map((b) =>
          h(
            'button',
            { type: 'button', class: b.primary ? 'primary' : b.danger ? 'danger' : '', onclick: () => finish(b.value) },
            b.label,
          ),
        ),
      ),
    );
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(null);
    });
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector('button.primary, button.danger')?.focus();
  });
}

// A UUID v4; crypto.randomUUID exists only in secure contexts (https or localhost), so fall back.
export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function formatTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

// Whether a keyboard event happens in a text field (shortcuts must not fire there).
export function typing(event) {
  const target = event.target;
  return (
    target instanceof HTMLInputElement && !['checkbox', 'radio', 'button', 'color'].includes(target.type) ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement ||
    target?.isContentEditable
  );
}
