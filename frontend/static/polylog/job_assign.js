// The job page's assignments (docs/review.md): Start labeling / Start review open the next image for me
// (GET /api/jobs/<id>/next/), and a manager's Assign dialog gives the selected images, or every image the
// filters show, an annotator and/or a reviewer, or splits the unlabeled ones evenly among annotators.

import { ApiError, get, post } from './api.js';
import { $, $$, ask, clear, h, showError, toast } from './ui.js';

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

// Open the next image to label or review. Images someone else has open are passed over; when only such
// images are left, the page asks whether to join one (the labeling page shows who else is there).
export async function startWork(job, work, { join = false } = {}) {
  const note = $('#next-status');
  note.hidden = true;
  try {
    const next = await get(`/api/jobs/${job.id}/next/?for=${work}&join=${join}`);
    window.location.assign(next.url);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'nothing_to_do') {
      toast(error, { error: true });
      return;
    }
    if (!join) {
      // Is there an image someone else is on? Then offer to join it rather than say there is nothing.
      let busy = null;
      try {
        busy = await get(`/api/jobs/${job.id}/next/?for=${work}&join=true`);
      } catch {
        busy = null;
      }
      if (busy) {
        const names = busy.others_on_it.map((person) => person.username).join(', ') || 'someone';
        const choice = await ask({
          title: work === 'label' ? 'Start labeling' : 'Start review',
          body: `Every image left is open by someone else now: ${busy.image.name} (${names}). Join them on it?`,
          buttons: [
            { label: 'Not now', value: null },
            { label: 'Join', value: 'join', primary: true },
          ],
        });
        if (choice === 'join') window.location.assign(busy.url);
        return;
      }
    }
    note.hidden = false;
    note.textContent = error.message;
  }
}

// The manager's Assign dialog. `page` gives what the page knows: the selected ids, the filters as query
// parameters, the job's members, how many images the filters show, and what to do once assigned.
export function setUpAssignments(job, page) {
  const dialog = $('#assign-dialog');
  const form = $('form', dialog);
  const error = $('.error', dialog);

  function people(roles) {
    return page.members().filter((member) => roles.includes(member.role));
  }

  function fillSeat(select, roles) {
    const keep = [...select.options].slice(0, 2);
    clear(select, keep, people(roles).map((m) => h('option', { value: m.user }, `${m.username} (${m.role})`)));
    select.value = 'keep';
  }

  function showWhich() {
    const which = form.elements.which.value;
    $('.assign-seats', dialog).hidden = which === 'split';
    $('.assign-split', dialog).hidden = which !== 'split';
  }

  function open() {
    showError(error, null);
    const selected = page.selected().length;
    $('.which-selected', dialog).textContent = `The ${plural(selected, 'selected image')}`;
    form.elements.which[0].disabled = selected === 0;
    form.elements.which.value = selected ? 'selected' : 'filtered';
    $('.which-filtered', dialog).textContent = `Every image the filters show (${page.total()})`;
    $('.which-split', dialog).textContent = 'Split the unlabeled images the filters show evenly among annotators';
    fillSeat(form.elements.annotator, ['annotator', 'manager']);
    fillSeat(form.elements.reviewer, ['reviewer', 'manager']);
    clear(
      $('.split-people', dialog),
      people(['annotator', 'manager']).map((m) =>
        h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'split', value: m.user, checked: m.role === 'annotator' }), m.username),
      ),
    );
    showWhich();
    dialog.showModal();
  }

  const seat = (value) => (value === 'keep' ? undefined : value === 'none' ? null : Number(value));

  async function submit(event) {
    event.preventDefault();
    showError(error, null);
    const which = form.elements.which.value;
    const button = $('button[type=submit]', dialog);
    button.disabled = true;
    try {
      if (which === 'split') {
        const annotators = $$('input[name=split]:checked', dialog).map((box) => Number(box.value));
        if (!annotators.length) throw new Error('Tick the annotators to split the images among.');
        const result = await post(`/api/jobs/${job.id}/assignments/split/`, { annotators, filter: { ...page.filterQuery(), status: 'unlabeled' } });
        const names = new Map(page.members().map((m) => [m.user, m.username]));
        toast(`Split ${plural(result.items, 'unlabeled image')}: ${result.counts.map((c) => `${names.get(c.user) ?? c.user} ${c.items}`).join(', ')}.`);
      } else {
        const body = which === 'selected' ? { item_ids: page.selected() } : { filter: page.filterQuery() };
        const annotator = seat(form.elements.annotator.value);
        const reviewer = seat(form.elements.reviewer.value);
        if (annotator !== undefined) body.annotator = annotator;
        if (reviewer !== undefined) body.reviewer = reviewer;
        if (annotator === undefined && reviewer === undefined) throw new Error('Choose an annotator or a reviewer (or Nobody).');
        const result = await post(`/api/jobs/${job.id}/assignments/`, body);
        toast(`Assigned ${plural(result.items, 'image')} (${plural(result.changed, 'change')} recorded).`);
      }
      dialog.close();
      page.done();
    } catch (failure) {
      showError(error, failure);
    } finally {
      button.disabled = false;
    }
  }

  $('#assign').addEventListener('click', open);
  $('.cancel', dialog).addEventListener('click', () => dialog.close());
  for (const radio of form.elements.which) radio.addEventListener('change', showWhich);
  form.addEventListener('submit', submit);
}
