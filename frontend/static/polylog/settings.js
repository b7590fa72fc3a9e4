// The job's settings (managers): label classes (add, rename, recolour, declare attributes, delete) and members (add, change
// role, remove), each change sent to the REST API at once; refusals shown in the dialog.

import { api, del, get, patch, post } from './api.js';
import { declarationsEditor } from './attribute_declarations.js';
import { $, ask, clear, h, showError } from './ui.js';

export function setUpSettings(job, { onLabelsChanged }) {
  const dialog = $('#settings-dialog');
  const error = $('.error', dialog);
  const base = `/api/jobs/${job.id}`;

  const attempt = async (work) => {
    showError(error, null);
    try {
      await work();
    } catch (err) {
      showError(error, err);
    }
  };

  // The label classes whose attribute declarations are open (attribute_declarations.js); they stay open
  // when the list is drawn again after a save.
  const open = new Set();

  async function showLabels() {
    const classes = await get(`${base}/label-classes/`);
    job.label_classes = classes;
    onLabelsChanged(classes);
    clear(
      $('#settings-labels'),
      classes.map((label) => {
        const name = h('input', { value: label.name, 'aria-label': `Name of ${label.name}`, class: 'grow', maxlength: 100 });
        const color = h('input', { type: 'color', value: label.color, 'aria-label': `Colour of ${label.name}` });
        const count = (label.attributes ?? []).length;
        const editor = open.has(label.id)
          ? declarationsEditor(label, (attributes) => attempt(async () => { await patch(`${base}/label-classes/${label.id}/`, { attributes }); await showLabels(); }))
          : null;
        const toggle = () => {
          if (!open.delete(label.id)) open.add(label.id);
          attempt(showLabels);
        };
        return h(
          'li',
          { dataset: { labelClassId: label.id }, class: editor ? 'with-attributes' : '' },
          color,
          name,
          h('button', { type: 'button', onclick: () => attempt(async () => { await patch(`${base}/label-classes/${label.id}/`, { name: name.value.trim(), color: color.value }); await showLabels(); }) }, 'Save'),
          h('button', { type: 'button', 'aria-expanded': String(!!editor), 'aria-label': `Attributes of ${label.name}`, onclick: toggle }, `Attributes (${count})`),
          h('button', { type: 'button', class: 'danger', onclick: () => attempt(() => deleteLabel(label)) }, 'Delete'),
          editor,
        );
      }),
    );
  }

  async function deleteLabel(label) {
    try {
      await del(`${base}/label-classes/${label.id}/`);
    } catch (err) {
      if (err.code !== 'label_class_in_use') throw err;
      const answer = await ask({
        title: `Delete ${label.name} and its shapes?`,
        body: `${err.message} Deleting the label class with its shapes is recorded on each image and can be undone there, but not the label class itself.`,
        buttons: [{ label: 'Cancel', value: null }, { label: 'Delete with its shapes', value: 'yes', danger: true }],
      });
      if (answer !== 'yes') return;
      await api('DELETE', `${base}/label-classes/${label.id}/?cascade=true`);
    }
    await showLabels();
  }

  async function showMembers() {
    const members = await get(`${base}/members/`);
    clear(
      $('#settings-members'),
      members.map((member) =>
        h(
          'li',
          { dataset: { username: member.username } },
          h('span', { class: 'grow' }, member.username),
          h(
            'select',
            { 'aria-label': `Role of ${member.username}`, onchange: (e) => attempt(async () => { await post(`${base}/members/`, { username: member.username, role: e.target.value }); await showMembers(); }) },
            ['annotator', 'reviewer', 'auditor', 'manager'].map((role) => h('option', { value: role, selected: role === member.role }, role)),
          ),
          h('button', { type: 'button', 'aria-label': `Remove ${member.username}`, onclick: () => attempt(async () => { await del(`${base}/members/${member.id}/`); await showMembers(); }) }, 'Remove'),
        ),
      ),
    );
  }

  $('#add-label-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    attempt(async () => {
      await post(`${base}/label-classes/`, { name: form.elements.name.value.trim(), color: form.elements.color.value });
      form.reset();
      await showLabels();
    });
  });
  $('#add-member-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    attempt(async () => {
      await post(`${base}/members/`, { username: form.elements.username.value.trim(), role: form.elements.role.value });
      form.reset();
      await showMembers();
    });
  });
  $('.cancel', dialog).addEventListener('click', () => dialog.close());
  $('#settings').addEventListener('click', () => {
    showError(error, null);
    dialog.showModal();
    attempt(() => Promise.all([showLabels(), showMembers()]));
  });
}
