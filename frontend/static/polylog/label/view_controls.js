// What I see on the labeling page, and nothing anyone else sees: hidden labels, hide all, only the selected,
// labels on the canvas, locks against my own edits, the image's brightness, contrast and gamma, and finding
// a shape (the panel's search, next/previous shape, bringing a shape into view). Nothing here is sent to
// the server: it is kept in this browser (localStorage: per job, locks per image).

import { h } from '../ui.js';

const DEFAULTS = { hiddenLabels: [], allHidden: false, onlySelected: false, labelsOn: false, brightness: 100, contrast: 100, gamma: 1 };
const SHOW_MARGIN = 40; // screen pixels kept around a shape brought into view
const SVG = 'http://www.w3.org/2000/svg';

// The bounding box [x0, y0, x1, y1] of points.
export function bboxOf(points) {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

// Bring an image box into view: pan it to the middle when any of it is off the stage, and zoom out first if
// it does not fit at the current zoom (never zoom in).
export function showBox(renderer, [x0, y0, x1, y1], margin = SHOW_MARGIN) {
  const rect = renderer.box();
  const fits = Math.min((rect.width - 2 * margin) / Math.max(x1 - x0, 1), (rect.height - 2 * margin) / Math.max(y1 - y0, 1));
  const scale = Math.min(renderer.scale, fits > 0 ? fits : renderer.scale);
  const [sx0, sy0] = [renderer.tx + x0 * scale, renderer.ty + y0 * scale];
  const [sx1, sy1] = [renderer.tx + x1 * scale, renderer.ty + y1 * scale];
  const inside = scale === renderer.scale && sx0 >= 0 && sy0 >= 0 && sx1 <= rect.width && sy1 <= rect.height;
  if (inside) return false;
  renderer.scale = scale;
  renderer.tx = rect.width / 2 - ((x0 + x1) / 2) * scale;
  renderer.ty = rect.height / 2 - ((y0 + y1) / 2) * scale;
  renderer.applyView();
  return true;
}

// Where a popup of `size` ([w, h]) goes in `area` (a client rect): beside `point` (client), on the side away
// from `box` (the shape's client box) with the most room, inside the area; over neither when there is room.
export function besidePlacement(area, [w, h], [px, py], box = null, gap = 12) {
  const [bx0, by0, bx1, by1] = box ?? [px, py, px, py];
  const candidates = [
    [bx1 + gap, py - h / 2], // right of the shape
    [bx0 - gap - w, py - h / 2], // left
    [px - w / 2, by1 + gap], // below
    [px - w / 2, by0 - gap - h], // above
    [px + gap, py + gap], // beside the point only
    [px - gap - w, py + gap],
    [px + gap, py - gap - h],
    [px - gap - w, py - gap - h],
  ];
  const clamp = ([x, y]) => [Math.max(area.left + 6, Math.min(area.right - w - 6, x)), Math.max(area.top + 6, Math.min(area.bottom - h - 6, y))];
  const overlaps = ([x, y], [ax0, ay0, ax1, ay1]) => x < ax1 && x + w > ax0 && y < ay1 && y + h > ay0;
  const point = [px - 1, py - 1, px + 1, py + 1];
  for (const want of candidates) {
    const at = clamp(want);
    if (!overlaps(at, [bx0, by0, bx1, by1]) && !overlaps(at, point)) return at;
  }
  for (const want of candidates.slice(4)) {
    const at = clamp(want);
    if (!overlaps(at, point)) return at;
  }
  return clamp(candidates[4]);
}

export class ViewControls {
  // page: {job, item, labels, renderer, view(), ui, select(id, options), redraw(), redrawPanel(), refuse()}
  constructor(page) {
    this.page = page;
    this.key = `polylog.job.${page.job.id}.view`;
    this.lockKey = `polylog.item.${page.item.id}.locks`;
    this.settings = { ...DEFAULTS, ...read(this.key, {}) };
    this.hiddenLabels = new Set(this.settings.hiddenLabels);
    this.locked = new Set(read(this.lockKey, []));
    this.query = '';
    this.gammaFilter();
    this.applyFilter();
  }

  save() {
    this.settings.hiddenLabels = [...this.hiddenLabels];
    localStorage.setItem(this.key, JSON.stringify(this.settings));
    localStorage.setItem(this.lockKey, JSON.stringify([...this.locked]));
  }

  changed() {
    this.save();
    this.page.redrawPanel();
  }

  // The shapes not drawn now: hidden one by one (H), by label, all (Shift+H), or not the selected (O).
  hiddenIds(view, ui) {
    const { allHidden, onlySelected } = this.settings;
    const only = onlySelected && ui.selectedId;
    const hidden = new Set();
    for (const shape of view.shapes.values()) {
      const chosen = shape.id === ui.selectedId || ui.picked.has(shape.id);
      if (ui.hidden.has(shape.id) || allHidden || this.hiddenLabels.has(shape.label_class_id) || (only && !chosen)) hidden.add(shape.id);
    }
    return hidden;
  }

  // The ui the renderer draws: the page's, with the view's hiding and labels.
  uiForRender(view, ui) {
    return { ...ui, hidden: this.hiddenIds(view, ui), labelsOnCanvas: this.settings.labelsOn };
  }

  toggle(name) {
    this.settings[name] = !this.settings[name];
    this.changed();
  }

  toggleLabel(labelClassId) {
    if (this.hiddenLabels.has(labelClassId)) this.hiddenLabels.delete(labelClassId);
    else this.hiddenLabels.add(labelClassId);
    this.changed();
  }

  isLocked(shapeId) {
    return this.locked.has(shapeId);
  }

  toggleLock(shapeId = this.page.ui.selectedId) {
    if (!shapeId) return this.page.refuse('no_selection', 'Select a shape to lock or unlock it.', null);
    if (this.locked.has(shapeId)) this.locked.delete(shapeId);
    else this.locked.add(shapeId);
    this.changed();
  }

  // The locked shape a command of mine would change, if any: the page sends no command that names one
  // (a move, a relabel, a reset, a merge into or by it, a split, a group, a delete), whatever asked for it.
  lockedTarget(command) {
    const ids = [command.shape_id, command.into, command.by, ...(command.shape_ids ?? [])];
    return ids.find((id) => id && this.locked.has(id)) ?? null;
  }

  // A locked shape refuses my edits (a drag, a vertex inserted or removed, a nudge, a delete): told where.
  refuseLocked(shapeId, at = null) {
    const shape = this.page.view().shapes.get(shapeId);
    const name = shape?.number ? `Shape #${shape.number}` : 'This shape';
    this.page.refuse('locked', `${name} is locked (by you, in this browser): unlock it in File Labels or with Shift+L to edit it.`, at ?? shape?.points[0] ?? null);
  }

  // Before the edit tool sees a press: a press on a locked shape selects it and goes no further (no drag).
  // True: the press is taken.
  takesPress(event, hitTest) {
    if (event.button !== 0 || event.shiftKey) return false;
    const hit = hitTest(event);
    if (!hit.shapeId || !this.locked.has(hit.shapeId)) return false;
    this.page.select(hit.shapeId);
    if (event.altKey) this.refuseLocked(hit.shapeId); // Alt+click would have removed a vertex
    else this.pressedLocked = hit.shapeId;
    return true;
  }

  // A drag that started on a locked shape is told once, when it moves.
  onMove(event) {
    if (!this.pressedLocked || !(event.buttons & 1)) return;
    this.refuseLocked(this.pressedLocked, null);
    this.pressedLocked = null;
  }

  onRelease() {
    this.pressedLocked = null;
  }

  // Find -----------------------------------------------------------------------------------------------

  shapesInOrder() {
    return [...this.page.view().shapes.values()].sort((a, b) => (a.number ?? Infinity) - (b.number ?? Infinity));
  }

  matches(shape, n) {
    const query = this.query.trim().toLowerCase().replace(/^#/, '');
    if (!query) return true;
    const name = this.page.labels.get(shape.label_class_id)?.name ?? '';
    return String(shape.number ?? n + 1) === query || name.toLowerCase().includes(query);
  }

  reveal(shapeId) {
    const shape = this.page.view().shapes.get(shapeId);
    if (shape?.points.length) showBox(this.page.renderer, bboxOf(shape.points));
  }

  // Select the next (step 1) or previous (-1) shape by number, among those the search matches, and show it.
  step(step) {
    const shapes = this.shapesInOrder().filter((shape, n) => this.matches(shape, n));
    if (!shapes.length) return this.page.refuse('no_shape', 'There is no shape to go to.', null);
    const index = shapes.findIndex((s) => s.id === this.page.ui.selectedId);
    const next = shapes[index < 0 ? (step > 0 ? 0 : shapes.length - 1) : (index + step + shapes.length) % shapes.length];
    this.page.select(next.id, { edit: true });
    this.reveal(next.id);
  }

  // The search box over File Labels: filters rows by number or label name; Enter selects the first match.
  searchBox() {
    if (this.search) return this.search;
    this.search = h('input', {
      type: 'search',
      class: 'shape-search',
      placeholder: 'Find: number or label',
      'aria-label': 'Find a shape by number or label',
      oninput: (e) => {
        this.query = e.target.value;
        this.page.redrawPanel();
      },
      onkeydown: (e) => {
        if (e.key !== 'Enter') return;
        const first = this.shapesInOrder().find((shape, n) => this.matches(shape, n));
        if (first) {
          this.page.select(first.id, { edit: true });
          this.reveal(first.id);
        }
      },
    });
    return this.search;
  }

  // Image adjustments ------------------------------------------------------------------------------------

  gammaFilter() {
    const svg = this.page.renderer.svg;
    const defs = document.createElementNS(SVG, 'defs');
    const filter = document.createElementNS(SVG, 'filter');
    filter.id = 'view-gamma';
    filter.setAttribute('color-interpolation-filters', 'sRGB');
    const transfer = document.createElementNS(SVG, 'feComponentTransfer');
    this.gammaFuncs = ['feFuncR', 'feFuncG', 'feFuncB'].map((tag) => {
      const func = document.createElementNS(SVG, tag);
      func.setAttribute('type', 'gamma');
      func.setAttribute('amplitude', '1');
      func.setAttribute('offset', '0');
      transfer.append(func);
      return func;
    });
    filter.append(transfer);
    defs.append(filter);
    svg.prepend(defs);
  }

  applyFilter() {
    const { brightness, contrast, gamma } = this.settings;
    for (const func of this.gammaFuncs) func.setAttribute('exponent', String(1 / gamma));
    const parts = [];
    if (gamma !== 1) parts.push('url(#view-gamma)');
    if (brightness !== 100) parts.push(`brightness(${brightness}%)`);
    if (contrast !== 100) parts.push(`contrast(${contrast}%)`);
    this.page.renderer.setImageFilter(parts.join(' '));
  }

  setAdjustment(name, value) {
    this.settings[name] = value;
    this.applyFilter();
    this.save();
  }

  // The View section of the panel: toggles and the image sliders.
  section() {
    const syncs = []; // each slider put back in step with the settings (Reset)
    const slider = (name, label, min, max, step, show) => {
      const out = h('output', {}, show(this.settings[name]));
      const input = h('input', {
        type: 'range', min, max, step, value: this.settings[name], 'aria-label': label, dataset: { adjust: name },
        oninput: (e) => {
          this.setAdjustment(name, Number(e.target.value));
          out.textContent = show(this.settings[name]);
        },
      });
      syncs.push(() => {
        input.value = this.settings[name];
        out.textContent = show(this.settings[name]);
      });
      return h('label', { class: 'adjust' }, h('span', {}, label), input, out);
    };
    const toggle = (name, text, title) =>
      h('button', { type: 'button', class: 'view-toggle', title, dataset: { view: name }, 'aria-pressed': String(!!this.settings[name]), onclick: () => this.toggle(name) }, text);
    this.toggles = [toggle('labelsOn', 'Labels', 'Numbers and label names on the image (L)'), toggle('allHidden', 'Hide all', 'Hide every shape (Shift+H)'), toggle('onlySelected', 'Only selected', 'Show only the selected shape (O)')];
    const reset = h('button', {
      type: 'button', class: 'view-reset', title: 'Back to the image as it is', 'aria-label': 'Reset brightness, contrast and gamma',
      onclick: () => {
        for (const name of ['brightness', 'contrast', 'gamma']) this.settings[name] = DEFAULTS[name];
        this.applyFilter();
        this.save();
        for (const sync of syncs) sync();
      },
    }, 'Reset');
    const box = h(
      'section',
      { class: 'view-controls', 'aria-label': 'View (only for you)' },
      h('h3', {}, 'View ', h('span', { class: 'muted' }, '(only for you)')),
      h('div', { class: 'view-toggles' }, this.toggles),
      slider('brightness', 'Brightness', 20, 300, 5, (v) => `${v}%`),
      slider('contrast', 'Contrast', 20, 300, 5, (v) => `${v}%`),
      slider('gamma', 'Gamma', 0.2, 3, 0.05, (v) => Number(v).toFixed(2)),
      reset,
    );
    return box;
  }

  // Keep the toggles' pressed state in step (a key changes them too).
  renderSection() {
    for (const button of this.toggles ?? []) button.setAttribute('aria-pressed', String(!!this.settings[button.dataset.view]));
  }
}

function read(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}
