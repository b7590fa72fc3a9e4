// The right panel: "File Labels" (the image's shapes: select, relabel, hide, delete, group) and the job's label
// classes (count on this image, delete all of one label here, edit name and colour for managers).

import { patch } from '../api.js';
import { clear, h, showError } from '../ui.js';

// Small line icons (no emoji font is needed): a padlock shut and open, an eye open and struck through.
const LOCKED = 'M7 11V8a5 5 0 0 1 10 0v3M5 11h14v10H5z';
const UNLOCKED = 'M7 11V8a5 5 0 0 1 9.6-2M5 11h14v10H5z';
const EYE = 'M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12zM12 9a3 3 0 1 0 0 6a3 3 0 1 0 0-6';
const EYE_OFF = 'M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12zM4 4l16 16';
const ROWS_AT_ONCE = 100; // File Labels rows built in one drawing (more than a panel shows)
const SCREENS_AHEAD = 1; // and the rest when the panel scrolls within this many screens of them
const icons = new Map(); // built once per drawing, then cloned: a panel of 1,000 rows has 1,000 padlocks
const icon = (d) => {
  if (!icons.has(d)) icons.set(d, h('svg:svg', { class: 'icon', viewBox: '0 0 24 24', width: 14, height: 14, 'aria-hidden': 'true' }, h('svg:path', { d, fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' })));
  return icons.get(d).cloneNode(true);
};

// Make `list`'s children exactly `entries`, in order, moving or inserting only those not already in place
// (a rebuilt row takes its old one's place; the rest stay untouched, so they need no new style or layout).
function placeChildren(list, entries) {
  let child = list.firstChild;
  for (const entry of entries) {
    if (child === entry) child = child.nextSibling;
    else list.insertBefore(entry, child);
  }
  while (child) {
    const next = child.nextSibling;
    child.remove();
    child = next;
  }
}

export class Panel {
  // page: {job, labels (Map), canLabel, isManager, select(id), togglePick(id), pickGroup(groupId, {add}),
  // group(), ungroup(), send(command, opts), toggleHidden(id), onLabelsChanged()}
  constructor(page) {
    this.page = page;
    this.shapeList = document.getElementById('shape-list');
    this.classList = document.getElementById('class-list');
    this.count = document.getElementById('shape-count');
    this.editing = null; // the label class id being edited
    // The File Labels rows by shape id, each with the key of what it shows: a row is built again only when
    // its key or its points change, so an event on an image of 1,000 shapes touches one row, not all.
    this.rows = new Map();
    this.scroller = document.getElementById('panel');
    this.scroller?.addEventListener('scroll', () => this.buildNear(), { passive: true });
  }

  render(view, ui) {
    // By number, that is in creation order: a shape an undo brings back takes its place again.
    const shapes = [...view.shapes.values()].sort((a, b) => (a.number ?? Infinity) - (b.number ?? Infinity));
    this.count.textContent = `(${shapes.length})`;
    this.renderGroupBar(shapes, ui);
    // The view's search (view_controls.js) keeps the rows whose number or label name it matches.
    const found = this.page.viewControls ? shapes.filter((shape, n) => this.page.viewControls.matches(shape, n)) : shapes;
    if (shapes.length && !found.length) {
      clear(this.shapeList, h('li', { class: 'empty' }, 'No shape matches the search.'));
    } else if (!shapes.length) {
      clear(this.shapeList, h('li', { class: 'empty' }, 'No shape yet: draw one with the polygon (D), rectangle (B) or freehand (A) tool.'));
    } else {
      // Parts of a group are one object: one entry, where its first part is in drawing order, with the
      // parts indented under it.
      const groups = new Map();
      shapes.forEach((shape, n) => {
        if (!shape.group_id) return;
        if (!groups.has(shape.group_id)) groups.set(shape.group_id, []);
        groups.get(shape.group_id).push([shape, n]);
      });
      const entries = [];
      const seenGroups = new Set();
      const shown = new Set(found);
      this.budget = ROWS_AT_ONCE;
      this.pending = 0;
      this.ui = ui;
      this.labelNames = [...this.page.labels.values()].map((l) => `${l.id}:${l.name}`).join('\n'); // the relabel menu's
      shapes.forEach((shape, n) => {
        if (!shown.has(shape)) return;
        if (!shape.group_id) entries.push(this.row(shape, n, ui));
        else if (!seenGroups.has(shape.group_id)) {
          seenGroups.add(shape.group_id);
          entries.push(this.groupEntry(shape.group_id, groups.get(shape.group_id), ui, seenGroups.size));
        }
      });
      placeChildren(this.shapeList, entries);
      if (this.pending) this.buildNear();
    }
    const ids = new Set(shapes.map((shape) => shape.id));
    for (const id of this.rows.keys()) if (!ids.has(id)) this.rows.delete(id);
    this.renderClasses(shapes);
  }

  // A shape's row: the one already built when nothing it shows has changed.
  row(shape, n, ui) {
    const selected = ui.selectedId === shape.id;
    const label = this.page.labels.get(shape.label_class_id);
    const controls = this.page.viewControls;
    const key = [
      n,
      shape.number,
      shape.label_class_id,
      label?.name,
      label?.color,
      selected ? this.labelNames : '',
      !selected && !!ui.picked?.has(shape.id),
      ui.hidden.has(shape.id),
      !!controls?.hiddenLabels.has(shape.label_class_id),
      !!controls?.isLocked(shape.id),
      shape.group_id ?? '',
    ].join('|');
    const kept = this.rows.get(shape.id);
    if (kept && kept.key === key && kept.points === shape.points) return kept.li;
    // A first drawing of many rows builds a screenful and more now, the rest when the panel scrolls to them
    // (an empty row of the same height stands in meanwhile); the selected and picked shapes' rows are always
    // built.
    if (this.budget <= 0 && !selected && !ui.picked?.has(shape.id)) {
      this.pending += 1;
      if (kept?.key === null) {
        Object.assign(kept, { shape, n });
        return kept.li;
      }
      const li = h('li', { class: 'shape-row pending', 'aria-busy': 'true' });
      this.rows.set(shape.id, { key: null, points: null, li, shape, n });
      return li;
    }
    this.budget -= 1;
    const li = this.shapeRow(shape, n, ui);
    this.rows.set(shape.id, { key, points: shape.points, li });
    return li;
  }

  // Build the rows left for later once the panel shows them or is about to: in the next frame, those within
  // a screen of the panel's view, each in place of the empty row standing in for it. Never in the page's idle
  // moments: laying out a few hundred new rows takes a frame of 70 ms and more, and an idle moment right after
  // a page opens is when a person starts to zoom (docs/performance.md, "Dense images").
  buildNear() {
    if (this.near || !this.scroller) return;
    this.near = requestAnimationFrame(() => {
      this.near = 0;
      const view = this.scroller.getBoundingClientRect();
      const reach = SCREENS_AHEAD * view.height;
      for (const kept of this.rows.values()) {
        if (kept.key !== null || !kept.li.isConnected) continue;
        const at = kept.li.getBoundingClientRect();
        if (at.bottom < view.top - reach || at.top > view.bottom + reach) continue;
        this.budget = 1;
        kept.li.replaceWith(this.row(kept.shape, kept.n, this.ui));
      }
    });
  }

  // Group / Ungroup, above the list: enabled by what is picked.
  renderGroupBar(shapes, ui) {
    if (!this.groupBar) {
      this.groupButton = h('button', { type: 'button', class: 'group-button', title: 'Group the selected shapes into one object (G); Shift+click picks several', onclick: () => this.page.group() }, 'Group');
      this.ungroupButton = h('button', { type: 'button', class: 'group-button', title: 'Make the selected parts whole objects again (Shift+G)', onclick: () => this.page.ungroup() }, 'Ungroup');
      this.groupHint = h('span', { class: 'group-hint' });
      this.groupBar = h('div', { class: 'group-bar', role: 'toolbar', 'aria-label': 'Groups' }, this.groupButton, this.ungroupButton, this.groupHint);
      this.shapeList.before(this.groupBar);
      if (this.page.viewControls) this.groupBar.before(this.page.viewControls.searchBox());
    }
    const ids = new Set(ui.picked ?? []);
    if (ui.selectedId) ids.add(ui.selectedId);
    const picked = shapes.filter((s) => ids.has(s.id));
    this.groupButton.disabled = !this.page.canLabel || picked.length < 2;
    this.ungroupButton.disabled = !this.page.canLabel || !picked.some((s) => s.group_id);
    this.groupHint.textContent = picked.length > 1 ? `${picked.length} selected` : this.page.canLabel ? 'Shift+click to select several' : '';
  }

  groupEntry(groupId, parts, ui, number) {
    const all = parts.every(([shape]) => ui.picked?.has(shape.id) || ui.selectedId === shape.id);
    const names = [...new Set(parts.map(([shape]) => this.page.labels.get(shape.label_class_id)?.name ?? '(deleted label)'))];
    return h(
      'li',
      { class: `group-entry${all ? ' group-selected' : ''}`, dataset: { groupId } },
      h(
        'div',
        {
          class: 'group-head',
          title: 'One object drawn in several parts: click selects every part (Shift+click adds them)',
          onclick: (e) => this.page.pickGroup(groupId, { add: e.shiftKey }),
        },
        h('span', { class: 'group-badge', title: 'group' }, `G${number}`),
        h('span', { class: 'group-name' }, `Object ${number}: ${names.join(', ')}`),
        h('span', { class: 'n group-count' }, `${parts.length} part${parts.length === 1 ? '' : 's'}`),
      ),
      h('ul', { class: 'group-parts' }, parts.map(([shape, n]) => this.row(shape, n, ui))),
    );
  }

  shapeRow(shape, n, ui) {
    const { labels } = this.page;
    const label = labels.get(shape.label_class_id);
    const selected = ui.selectedId === shape.id;
    const picked = !selected && !!ui.picked?.has(shape.id);
    const hidden = ui.hidden.has(shape.id);
    // A shape hidden with its whole label (view_controls.js) is greyed as one hidden by itself.
    const labelHidden = !!this.page.viewControls?.hiddenLabels.has(shape.label_class_id);
    return h(
      'li',
      {
        class: `shape-row${selected ? ' selected' : ''}${picked ? ' group-picked' : ''}${hidden || labelHidden ? ' hidden-shape' : ''}`,
        dataset: { shapeId: shape.id, labelClassId: shape.label_class_id, ...(shape.group_id ? { groupId: shape.group_id } : {}) },
        'aria-selected': selected || picked ? 'true' : 'false',
        onclick: (e) => (e.shiftKey ? this.page.togglePick(shape.id) : this.page.select(shape.id, { edit: true })),
      },
      h('span', { class: 'swatch', style: { background: label?.color ?? '#9e9e9e' } }),
      // The shape's number, as on the image and in messages ("chair #3"); by position on a server without.
      h('span', { class: 'number', title: 'shape number (as on the image)' }, `#${shape.number ?? n + 1}`),
      selected && this.page.canLabel
        ? h(
            'select',
            {
              class: 'relabel',
              'aria-label': 'Label of the selected shape',
              onclick: (e) => e.stopPropagation(),
              onchange: (e) => this.page.send({ type: 'relabel_shape', shape_id: shape.id, label_class_id: Number(e.target.value) }, { at: shape.points[0] }),
            },
            [...labels.values()].map((l) => h('option', { value: l.id, selected: l.id === shape.label_class_id }, l.name)),
          )
        : h('span', { class: 'shape-label' }, label?.name ?? '(deleted label)'),
      h('span', { class: 'n', title: 'vertices' }, `${shape.points.length} pts`),
      this.page.viewControls ? this.lockButton(shape.id) : null,
      h('button', { type: 'button', class: 'icon toggle', title: hidden ? 'Show (H)' : 'Hide (H)', 'aria-label': hidden ? 'Show shape' : 'Hide shape', onclick: (e) => { e.stopPropagation(); this.page.toggleHidden(shape.id); } }, hidden ? '◌' : '◉'),
      this.page.canLabel
        ? h('button', { type: 'button', class: 'icon delete', title: 'Delete this shape', 'aria-label': 'Delete shape', onclick: (e) => { e.stopPropagation(); this.page.send({ type: 'delete_shape', shape_id: shape.id }, { at: shape.points[0] }); } }, '×')
        : null,
    );
  }

  // A lock against my own edits (view_controls.js): mine, in this browser; nobody else is told.
  lockButton(shapeId) {
    const locked = this.page.viewControls.isLocked(shapeId);
    const title = locked ? 'Locked against your edits: click to unlock (Shift+L)' : 'Lock against your edits (Shift+L; only for you)';
    const onclick = (e) => {
      e.stopPropagation();
      this.page.viewControls.toggleLock(shapeId);
    };
    return h('button', { type: 'button', class: `icon lock${locked ? ' on' : ''}`, title, 'aria-label': locked ? 'Unlock shape' : 'Lock shape', 'aria-pressed': String(locked), onclick }, icon(locked ? LOCKED : UNLOCKED));
  }

  renderClasses(shapes) {
    const { labels, canLabel, isManager } = this.page;
    const counts = new Map();
    for (const shape of shapes) counts.set(shape.label_class_id, (counts.get(shape.label_class_id) || 0) + 1);
    clear(
      this.classList,
      [...labels.values()].map((label) => {
        if (this.editing === label.id) return this.editRow(label);
        const n = counts.get(label.id) || 0;
        return h(
          'li',
          { class: 'class-row', dataset: { labelClassId: label.id } },
          h('span', { class: 'swatch', style: { background: label.color } }),
          h('span', { class: 'class-name' }, label.name),
          h('span', { class: 'n' }, String(n)),
          this.page.viewControls ? this.eyeButton(label) : null,
          isManager ? h('button', { type: 'button', class: 'icon edit', title: 'Edit name and colour', 'aria-label': `Edit ${label.name}`, onclick: () => this.startEdit(label.id) }, '✎') : null,
          canLabel && n
            ? h('button', { type: 'button', class: 'icon delete-label', title: `Delete every ${label.name} shape on this image`, 'aria-label': `Delete all ${label.name} shapes`, onclick: () => this.page.deleteLabelShapes(label) }, '⌫')
            : null,
        );
      }),
    );
  }

  // Hide or show every shape of a label (view_controls.js): only for me, nothing is sent.
  eyeButton(label) {
    const hidden = this.page.viewControls.hiddenLabels.has(label.id);
    return h(
      'button',
      {
        type: 'button',
        class: `icon eye${hidden ? ' off' : ''}`,
        title: hidden ? `Show the ${label.name} shapes (only for you)` : `Hide the ${label.name} shapes (only for you)`,
        'aria-label': hidden ? `Show ${label.name}` : `Hide ${label.name}`,
        'aria-pressed': String(hidden),
        onclick: () => this.page.viewControls.toggleLabel(label.id),
      },
      icon(hidden ? EYE_OFF : EYE),
    );
  }

  startEdit(id) {
    this.editing = id;
    this.page.redrawPanel();
    this.classList.querySelector('.class-edit input[type=text]')?.focus();
  }

  editRow(label) {
    const name = h('input', { type: 'text', value: label.name, 'aria-label': 'Label name', maxlength: 100 });
    const color = h('input', { type: 'color', value: label.color, 'aria-label': 'Label colour' });
    const error = h('p', { class: 'error', hidden: true });
    const save = async () => {
      try {
        const updated = await patch(`/api/jobs/${this.page.job.id}/label-classes/${label.id}/`, { name: name.value.trim(), color: color.value });
        this.page.labels.set(updated.id, updated);
        this.editing = null;
        this.page.onLabelsChanged();
      } catch (err) {
        showError(error, err);
      }
    };
    const cancel = () => {
      this.editing = null;
      this.page.redrawPanel();
    };
    const row = h(
      'li',
      { class: 'class-edit-wrap', dataset: { labelClassId: label.id } },
      h(
        'form',
        { class: 'class-edit', onsubmit: (e) => { e.preventDefault(); save(); }, onkeydown: (e) => { if (e.key === 'Escape') { e.stopPropagation(); cancel(); } } },
        color,
        name,
        h('button', { type: 'submit', class: 'icon', title: 'Save', 'aria-label': 'Save label class' }, '✓'),
        h('button', { type: 'button', class: 'icon', title: 'Cancel', 'aria-label': 'Cancel', onclick: cancel }, '✕'),
      ),
      error,
    );
    return row;
  }
}

// Whether an image waits for the work of this role, as "Start labeling" / "Start review" count it
// (docs/review.md): a reviewer's is an image to review; anyone else's an unlabeled image, or one rejected
// in review (its fix is due).
function waitsFor(role) {
  if (role === 'reviewer') return (item) => item.review_status === 'to_review';
  return (item) => item.status !== 'labeled' || item.review_status === 'rejected';
}

// The bottom strip: the job's images, those that wait for my work first (after the current one, in the
// job's order), then the others; N opens the first that waits.
export async function loadStrip(job, currentId, get) {
  const page = await get(`/api/jobs/${job.id}/items/?status=all&page_size=500&ordering=id`);
  const items = page.results;
  const index = items.findIndex((i) => i.id === currentId);
  const after = items.slice(index + 1);
  const before = index >= 0 ? items.slice(0, index) : items;
  const waits = waitsFor(job.role);
  const waiting = [...after, ...before].filter(waits);
  const done = [...after, ...before].filter((i) => !waits(i));
  const current = items[index];
  const strip = document.getElementById('strip');
  const ordered = [...(current ? [current] : []), ...waiting, ...done];
  clear(
    strip,
    ordered.map((item) =>
      h(
        'a',
        { href: `/items/${item.id}/`, class: item.id === currentId ? 'current' : '', title: item.image.path, dataset: { itemId: item.id } },
        h('img', { src: item.image.thumbnail_url, alt: item.image.name, loading: 'lazy' }),
        h('span', { class: `st ${item.status}` }, item.status === 'labeled' ? '✓' : item.image.name),
      ),
    ),
  );
  const previous = index > 0 ? items[index - 1] : items.at(-1);
  return { next: ordered[current ? 1 : 0] ?? null, previous: previous && previous.id !== currentId ? previous : null };
}
