// The label bar (label first, docs/ui.md): the job's label classes with their colours and keys 1-9, the
// active one highlighted. A polygon or rectangle closed takes the active label; with a shape selected, a
// number key (or a click here) relabels it. "Ask after closing" brings back the label picker for those who
// prefer it. The active label (per job) and that setting are kept in this browser's localStorage.

import { clear, h } from '../ui.js';

export class LabelBar {
  // page: {job, labels (Map), canLabel, choose(labelClassId)}
  constructor(host, page) {
    this.host = host;
    this.page = page;
    this.key = `polylog.job.${page.job.id}.label`;
    this.pickKey = 'polylog.pickAfterClosing';
  }

  // The active label class id: the one chosen last in this job, else the first class (null: none).
  get active() {
    const chosen = Number(localStorage.getItem(this.key));
    if (this.page.labels.has(chosen)) return chosen;
    return this.page.labels.keys().next().value ?? null;
  }

  set active(labelClassId) {
    localStorage.setItem(this.key, String(labelClassId));
    this.render();
  }

  get pickAfterClosing() {
    return localStorage.getItem(this.pickKey) === 'true';
  }

  // The label class of number key n (1-9), or null.
  byKey(n) {
    return [...this.page.labels.keys()][n - 1] ?? null;
  }

  render() {
    const active = this.active;
    const classes = [...this.page.labels.values()];
    const setting = h('input', {
      type: 'checkbox',
      checked: this.pickAfterClosing,
      onchange: (e) => localStorage.setItem(this.pickKey, String(e.target.checked)),
    });
    clear(
      this.host,
      h('span', { class: 'bar-title' }, 'Label'),
      classes.length
        ? classes.map((label, n) =>
            h(
              'button',
              {
                type: 'button',
                class: label.id === active ? 'active' : '',
                'aria-pressed': label.id === active ? 'true' : 'false',
                title: n < 9 ? `${label.name} (${n + 1})` : label.name,
                dataset: { labelClassId: label.id },
                onclick: (e) => {
                  e.currentTarget.blur(); // keys go on reaching the page
                  this.page.choose(label.id);
                },
              },
              h('span', { class: 'swatch', style: { background: label.color } }),
              h('span', { class: 'name' }, label.name),
              n < 9 ? h('kbd', {}, String(n + 1)) : null,
            ),
          )
        : h('span', { class: 'muted' }, 'No label classes yet: a manager adds them in the job settings.'),
      this.page.canLabel ? h('label', { class: 'check pick-setting', title: 'Open the label picker each time a polygon or rectangle is closed' }, setting, ' Ask after closing') : null,
    );
  }
}
