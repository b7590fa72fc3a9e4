// The right panel: "File Labels" (the image's shapes: select, relabel, hide, delete) and the job's label
// classes (count on this image, delete all of one label here, edit name and colour for managers).

import { patch } from '../api.js';
import { clear, h, showError } from '../ui.js';

export class Panel {
  // page: {job, labels (Map), canLabel, isManager, select(id), send(command, opts), toggleHidden(id),
  // onLabelsChanged()}
  constructor(page) {
    this.page = page;
    this.shapeList = document.getElementById('shape-list');
    this.classList = document.getElementById('class-list');
    this.count = document.getElementById('shape-count');
    this.editing = null; // the label class id being edited
  }

  render(view, ui) {
    const { labels } = this.page;
    const shapes = [...view.shapes.values()];
    this.count.textContent = `(${shapes.length})`;
    if (!shapes.length) {
      clear(this.shapeList, h('li', { class: 'empty' }, 'No shape yet: draw one with the polygon tool (D).'));
    } else {
      clear(
        this.shapeList,
        shapes.map((shape, n) => {
          const label = labels.get(shape.label_class_id);
          const selected = ui.selectedId === shape.id;
          const hidden = ui.hidden.has(shape.id);
          return h(
            'li',
            {
              class: `shape-row${selected ? ' selected' : ''}${hidden ? ' hidden-shape' : ''}`,
              dataset: { shapeId: shape.id, labelClassId: shape.label_class_id },
              onclick: () => this.page.select(shape.id, { edit: true }),
            },
            h('span', { class: 'swatch', style: { background: label?.color ?? '#9e9e9e' } }),
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
            h('span', { class: 'n', title: 'vertices' }, `#${n + 1} · ${shape.points.length} pts`),
            h('button', { type: 'button', class: 'icon toggle', title: hidden ? 'Show (H)' : 'Hide (H)', 'aria-label': hidden ? 'Show shape' : 'Hide shape', onclick: (e) => { e.stopPropagation(); this.page.toggleHidden(shape.id); } }, hidden ? '◌' : '◉'),
            this.page.canLabel
              ? h('button', { type: 'button', class: 'icon delete', title: 'Delete this shape', 'aria-label': 'Delete shape', onclick: (e) => { e.stopPropagation(); this.page.send({ type: 'delete_shape', shape_id: shape.id }, { at: shape.points[0] }); } }, '×')
              : null,
          );
        }),
      );
    }
    this.renderClasses(shapes);
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
          isManager ? h('button', { type: 'button', class: 'icon edit', title: 'Edit name and colour', 'aria-label': `Edit ${label.name}`, onclick: () => this.startEdit(label.id) }, '✎') : null,
          canLabel && n
            ? h('button', { type: 'button', class: 'icon delete-label', title: `Delete every ${label.name} shape on this image`, 'aria-label': `Delete all ${label.name} shapes`, onclick: () => this.page.deleteLabelShapes(label) }, '⌫')
            : null,
        );
      }),
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

// The bottom strip: the job's images, the next unlabeled ones first, then the labeled ones.
export async function loadStrip(job, currentId, get) {
  const page = await get(`/api/jobs/${job.id}/items/?status=all&page_size=500&ordering=id`);
  const items = page.results;
  const index = items.findIndex((i) => i.id === currentId);
  const after = items.slice(index + 1);
  const before = index >= 0 ? items.slice(0, index) : items;
  const unlabeled = [...after, ...before].filter((i) => i.status !== 'labeled');
  const labeled = [...after, ...before].filter((i) => i.status === 'labeled');
  const current = items[index];
  const strip = document.getElementById('strip');
  const ordered = [...(current ? [current] : []), ...unlabeled, ...labeled];
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
