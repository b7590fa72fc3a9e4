// The panel's "Attributes": the selected shape's values of what its label class declares (docs/domain.md
// "Attributes"), each shown with its value or the class's default, edited by mouse or keyboard; every change
// sends set_attributes, and the server's attributes_set events (mine and others') are what it shows.

import { clear, h } from '../ui.js';

// Keys that move between the attributes from a control whose arrows do nothing else.
const MOVES = { ArrowDown: 1, ArrowUp: -1 };

export class AttributeEditor {
  // page: {labels (Map), canLabel, send(command, opts)}
  constructor(page, section) {
    this.page = page;
    this.section = section;
    this.body = section.querySelector('.attribute-list');
    this.structure = null; // what the rows were built for: the shape, its label and the declarations
    this.controls = new Map(); // attribute name -> its control
    this.shape = null;
    // Keys inside the editor are the editor's: the page's shortcuts (D, Space, arrows...) wait outside it.
    // Esc goes back to the image; Ctrl combinations (undo, save) still reach the page.
    section.addEventListener('keydown', (event) => {
      if (event.ctrlKey || event.metaKey) return;
      event.stopPropagation();
      if (event.key === 'Escape') {
        event.preventDefault();
        document.activeElement?.blur();
        return;
      }
      const control = event.target;
      const step = MOVES[event.key];
      if (step && (control.type === 'checkbox' || control.type === 'text')) {
        event.preventDefault();
        this.move(control, step);
      }
    });
  }

  // Focus the first attribute's control (the shortcut); false when there is none to edit.
  focus() {
    const first = this.controls.values().next().value;
    if (!first) return false;
    first.focus();
    return true;
  }

  move(control, step) {
    const all = [...this.controls.values()];
    const next = all[all.indexOf(control) + step];
    next?.focus();
  }

  render(shape) {
    this.shape = shape ?? null;
    const label = shape ? this.page.labels.get(shape.label_class_id) : null;
    const declared = label?.attributes ?? [];
    const structure = shape ? JSON.stringify([shape.id, shape.label_class_id, declared, this.page.canLabel]) : '';
    if (structure !== this.structure) {
      this.structure = structure;
      this.build(shape, label, declared);
    }
    for (const spec of declared) this.show(spec, shape);
  }

  build(shape, label, declared) {
    this.controls.clear();
    if (!shape) {
      clear(this.body, h('p', { class: 'muted' }, 'Select a shape to see its attributes.'));
      return;
    }
    if (!declared.length) {
      clear(this.body, h('p', { class: 'muted' }, `${label?.name ?? 'This label'} declares no attributes.`));
      return;
    }
    clear(
      this.body,
      declared.map((spec) => {
        const control = this.control(spec);
        control.disabled = !this.page.canLabel;
        control.dataset.attribute = spec.name;
        this.controls.set(spec.name, control);
        return h('div', { class: `attribute-row ${spec.kind}`, dataset: { attribute: spec.name } }, h('label', {}, h('span', { class: 'attribute-name' }, spec.name), control));
      }),
    );
  }

  control(spec) {
    const name = `Attribute ${spec.name}`;
    switch (spec.kind) {
      case 'checkbox':
        return h('input', { type: 'checkbox', 'aria-label': name, onchange: (e) => this.set(spec, e.target.checked) });
      case 'select':
        return h(
          'select',
          { 'aria-label': name, onchange: (e) => this.set(spec, e.target.value) },
          spec.options.map((option) => h('option', { value: option }, option)),
        );
      case 'number': {
        const input = h('input', { type: 'number', step: 'any', 'aria-label': name, ...(spec.min !== null ? { min: spec.min } : {}), ...(spec.max !== null ? { max: spec.max } : {}) });
        // Arrows step by one (Shift: ten) within min and max, sent at once; a typed number on Enter or leaving.
        input.addEventListener('keydown', (e) => {
          const step = { ArrowUp: 1, ArrowDown: -1 }[e.key];
          if (!step) return;
          e.preventDefault();
          const now = Number(input.value === '' ? spec.default : input.value);
          let value = now + step * (e.shiftKey ? 10 : 1);
          if (spec.min !== null) value = Math.max(spec.min, value);
          if (spec.max !== null) value = Math.min(spec.max, value);
          input.value = String(value);
          this.set(spec, value);
        });
        input.addEventListener('change', () => {
          if (input.value.trim() === '' || !Number.isFinite(Number(input.value))) this.show(spec, this.shape, true);
          else this.set(spec, Number(input.value));
        });
        return input;
      }
      default: {
        const input = h('input', { type: 'text', maxlength: 1000, 'aria-label': name });
        input.addEventListener('keydown', (e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            this.set(spec, input.value);
          }
        });
        input.addEventListener('change', () => this.set(spec, input.value));
        return input;
      }
    }
  }

  // The value the shape reads: its own, else the declared default.
  value(spec, shape) {
    const own = shape?.attributes?.[spec.name];
    return own === undefined ? spec.default : own;
  }

  // Show a value; a field being typed in keeps what is typed (unless `force`).
  show(spec, shape, force = false) {
    const control = this.controls.get(spec.name);
    if (!control) return;
    const value = this.value(spec, shape);
    const own = shape?.attributes?.[spec.name] !== undefined;
    control.closest('.attribute-row').classList.toggle('is-default', !own);
    control.title = own ? '' : 'the default of the label class';
    if (spec.kind === 'checkbox') control.checked = value === true;
    else if (force || document.activeElement !== control || spec.kind === 'select') control.value = String(value);
  }

  set(spec, value) {
    const shape = this.shape;
    if (!shape || value === this.value(spec, shape)) return;
    this.page.send({ type: 'set_attributes', shape_id: shape.id, values: { [spec.name]: value } }, { at: shape.points[0] });
  }
}
