// The jobs page: the "New job" dialog (name, type, dataset, label classes with colours) -> POST /api/jobs/.

import { get, post } from './api.js';
import { $, h, showError } from './ui.js';

const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45'];

const dialog = $('#new-job-dialog');
const form = $('#new-job-form');
const rows = $('.label-classes .rows', form);
const errorBox = $('.error', form);

function labelRow(name = '', color = PALETTE[rows.children.length % PALETTE.length]) {
  const row = h(
    'div',
    { class: 'label-row' },
    h('input', { name: 'label_name', placeholder: 'Label name', value: name, 'aria-label': 'Label name', maxlength: 100 }),
    h('input', { name: 'label_color', type: 'color', value: color, 'aria-label': 'Label colour' }),
    h('button', { type: 'button', class: 'icon', title: 'Remove this label class', onclick: () => row.remove() }, '×'),
  );
  rows.append(row);
  return row;
}

async function loadDatasets() {
  const select = form.elements.dataset;
  try {
    const datasets = await get('/api/datasets/');
    select.replaceChildren(
      h('option', { value: '' }, datasets.length ? 'Choose a dataset' : 'No dataset you may use'),
      ...datasets.map((d) => h('option', { value: d.id }, `${d.name} (${d.image_count} images)`)),
    );
  } catch (error) {
    showError(errorBox, error);
  }
}

$('#new-job').addEventListener('click', () => {
  form.reset();
  rows.replaceChildren();
  labelRow();
  showError(errorBox, null);
  loadDatasets();
  dialog.showModal();
  form.elements.name.focus();
});

$('.add-label', form).addEventListener('click', () => labelRow().querySelector('input').focus());
$('.cancel', form).addEventListener('click', () => dialog.close());

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const labelClasses = [...rows.children]
    .map((row) => ({ name: row.querySelector('[name=label_name]').value.trim(), color: row.querySelector('[name=label_color]').value }))
    .filter((label) => label.name);
  const submit = form.querySelector('button[type=submit]');
  submit.disabled = true;
  try {
    const job = await post('/api/jobs/', {
      name: form.elements.name.value.trim(),
      job_type: form.elements.job_type.value,
      dataset: Number(form.elements.dataset.value),
      label_classes: labelClasses,
    });
    location.href = `/jobs/${job.id}/`;
  } catch (error) {
    showError(errorBox, error);
  } finally {
    submit.disabled = false;
  }
});
