// Merge, subtract and split on the labeling page (docs/ui.md, "Merge, subtract, split"): the page's side
// of the server's merge_shapes, subtract_shape and split_shape. The selected shape (the one clicked last,
// drawn as selected) is the one that stays: a merge goes into it (it keeps its number), a subtract cuts
// the other picked shape out of it (the other stays as it is), a split cuts it along a line drawn in the
// split tool (modes/split.js). Each is one command, so one undo action; refusals come back as messages.

// page: {view() (the store's view), ui ({selectedId, picked}), labels, send, refuse, setMode}
export class Pieces {
  constructor(page) {
    this.page = page;
  }

  selected() {
    const { ui, view } = this.page;
    return (ui.selectedId && view().shapes.get(ui.selectedId)) || null;
  }

  // The picked shapes other than the selected one, in the order they were picked.
  others() {
    const { ui, view } = this.page;
    const shapes = view().shapes;
    return [...ui.picked].filter((id) => id !== ui.selectedId && shapes.has(id)).map((id) => shapes.get(id));
  }

  name(shape) {
    const label = this.page.labels.get(shape.label_class_id)?.name ?? 'shape';
    return shape.number === null || shape.number === undefined ? `the ${label}` : `${label} #${shape.number}`;
  }

  merge() {
    const into = this.selected();
    const others = this.others();
    if (!into || !others.length) return this.page.refuse('select_more', 'Pick two or more shapes (Shift+click) to merge them; the last one picked keeps its number.', into?.points[0] ?? null);
    this.page.send({ type: 'merge_shapes', shape_ids: [into.id, ...others.map((s) => s.id)], into: into.id }, { at: into.points[0] });
  }

  subtract() {
    const shape = this.selected();
    const others = this.others();
    if (!shape || others.length !== 1) {
      return this.page.refuse('select_two', 'Pick exactly two shapes (Shift+click): the other one is cut out of the selected one (picked last).', shape?.points[0] ?? null);
    }
    this.page.send({ type: 'subtract_shape', shape_id: shape.id, by: others[0].id }, { at: shape.points[0] });
  }

  // The split tool needs a shape to cut: the selected one.
  split() {
    const shape = this.selected();
    if (!shape) return this.page.refuse('no_selection', 'Select a shape first, then press K and draw a line across it.', null);
    this.page.setMode('split');
  }

  // What the hint says while two or more shapes are picked (null: nothing to add to the tool's hint).
  hint() {
    const into = this.selected();
    const others = this.others();
    if (!into || !others.length) return null;
    const name = this.name(into);
    const merge = `M merges ${others.length === 1 ? this.name(others[0]) : `${others.length} shapes`} into ${name} (the selected one)`;
    const cut = others.length === 1 ? ` · Shift+M cuts ${this.name(others[0])} out of ${name}` : '';
    return `${others.length + 1} picked: ${merge}${cut} · G groups them`;
  }
}
