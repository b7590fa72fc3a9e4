// A label class's attribute declarations in the job's settings (managers; docs/domain.md "Attributes"):
// each attribute's name, kind, options (a select's), default and min/max (a number's), edited as a list and
// sent whole with PATCH label-classes/<id>/ {attributes}; the API's refusal is shown as it says it.

import { h } from './ui.js';

const KINDS = ['checkbox', 'select', 'number', 'text'];

// One attribute's row: its inputs, and what it declares (read back from them).
function attributeRow(spec, onRemove) {
  const name = h('input', { value: spec.name ?? '', 'aria-label': 'Attribute name', placeholder: 'name', maxlength: 64, class: 'grow' });
  const kind = h('select', { 'aria-label': 'Attribute kind' }, KINDS.map((k) => h('option', { value: k, selected: k === (spec.kind ?? 'checkbox') }, k)));
  const options = h('input', { value: (spec.options ?? []).join(', '), 'aria-label': 'Attribute options', placeholder: 'options, comma-separated' });
  const fallback = spec.default === undefined || spec.default === null ? '' : String(spec.default);
  const defaultInput = h('input', { value: fallback, 'aria-label': 'Attribute default', placeholder: 'default' });
  const min = h('input', { value: spec.min ?? '', 'aria-label': 'Attribute min', placeholder: 'min', size: 5 });
  const max = h('input', { value: spec.max ?? '', 'aria-label': 'Attribute max', placeholder: 'max', size: 5 });
  const showKind = () => {
    options.hidden = kind.value !== 'select';
    min.hidden = max.hidden = kind.value !== 'number';
    defaultInput.placeholder = kind.value === 'checkbox' ? 'default: true or false' : 'default';
  };
  kind.addEventListener('change', showKind);
  showKind();
  const li = h(
    'li',
    { class: 'attribute-declaration', dataset: { attribute: spec.name ?? '' } },
    name,
    kind,
    options,
    defaultInput,
    min,
    max,
    h('button', { type: 'button', class: 'link', 'aria-label': 'Remove attribute', onclick: () => onRemove(li) }, 'Remove'),
  );
  // What the row declares; a number that does not read as one goes as typed, for the API to say why.
  const number = (text) => (text.trim() === '' ? null : Number.isFinite(Number(text)) ? Number(text) : text);
  li.declaration = () => {
    const declared = { name: name.value.trim(), kind: kind.value };
    const typed = defaultInput.value;
    if (kind.value === 'select') declared.options = options.value.split(',').map((o) => o.trim()).filter(Boolean);
    if (kind.value === 'number') Object.assign(declared, { min: number(min.value), max: number(max.value) });
    if (typed.trim() !== '' || kind.value === 'text') {
      if (kind.value === 'checkbox') declared.default = { true: true, false: false }[typed.trim().toLowerCase()] ?? typed;
      else if (kind.value === 'number') declared.default = number(typed);
      else declared.default = kind.value === 'select' ? typed.trim() : typed;
    }
    return declared;
  };
  return li;
}

// The editor of one label class's declarations: `save(attributes)` sends them (and throws the API's error).
export function declarationsEditor(label, save) {
  const list = h('ul', { class: 'attribute-declarations', 'aria-label': `Attributes of ${label.name}` });
  const remove = (li) => li.remove();
  for (const spec of label.attributes ?? []) list.append(attributeRow(spec, remove));
  return h(
    'div',
    { class: 'attribute-editor', dataset: { labelClassId: label.id } },
    list,
    h(
      'div',
      { class: 'attribute-editor-actions' },
      h('button', { type: 'button', onclick: () => list.append(attributeRow({}, remove)) }, 'Add attribute'),
      h('button', { type: 'button', class: 'primary', onclick: () => save([...list.children].map((li) => li.declaration())) }, 'Save attributes'),
    ),
  );
}
