// The job details page: status tabs with counts, per-label counts, filters kept in the URL, a paged image
// grid (thumbnails with their shapes drawn over them), selection, delete, hard examples, Synchronize, Add
// data (drag and drop, upload progress) and its history, export (large ones made on the queue); live counts;
// review tabs, assignments (the Assign dialog, the Assigned to filter), Start labeling / Start review.

import { ApiError, boot, get, post, upload, wsUrl } from './api.js';
import { setUpAssignments, startWork } from './job_assign.js';
import { setUpSettings } from './settings.js';
import { $, $$, clear, formatTime, h, newId, showError, toast } from './ui.js';

const PAGE_SIZE = 24;
const STATUS_NAMES = { labeled: 'Labeled', unlabeled: 'Unlabeled' };
const { job, export_queue_items: exportQueueItems } = boot();
const isManager = job.role === 'manager';
const canLabel = job.role === 'manager' || job.role === 'annotator';
const canReview = job.role === 'manager' || job.role === 'reviewer';
const REVIEWS = ['to_review', 'accepted', 'rejected', 'none'];
const labels = new Map(job.label_classes.map((label) => [label.id, label]));
let lastCounts = { status: {}, labels: {} };
let jobMembers = [];

const grid = $('#grid');
const pageError = $('#page-error');
const filtersForm = $('#filters');
const selected = new Set();
let filters = readUrl();
let pageItems = [];
let loadToken = 0;
// The newest item frame of each image that came while the list was being read (see updateTile).
let framesWhileLoading = new Map();

// The URL is the page's state: reading it restores a shared or reloaded view. -------------------------

function readUrl() {
  // A reviewer's work is the images to review: a bare /jobs/<id>/ opens the To review tab for them (the
  // Unlabeled default has nothing they can act on); the URL then says so, as any view's does.
  const bare = !location.search && job.role === 'reviewer';
  const params = new URLSearchParams(bare ? 'status=all&review=to_review' : location.search);
  const status = params.get('status');
  return {
    status: ['all', 'unlabeled', 'labeled'].includes(status) ? status : 'unlabeled',
    hard_example: ['true', 'false'].includes(params.get('hard_example')) ? params.get('hard_example') : '',
    label_class: (params.get('label_class') || '').split(',').filter((id) => /^\d+$/.test(id)).map(Number),
    q: params.get('q') || '',
    labeled_by: /^\d+$/.test(params.get('labeled_by') || '') ? params.get('labeled_by') : '',
    attribute: /^\d+:.+=/.test(params.get('attribute') || '') ? params.get('attribute') : '',
    review: REVIEWS.includes(params.get('review')) ? params.get('review') : '',
    assigned_to: /^(me|none|\d+)$/.test(params.get('assigned_to') || '') ? params.get('assigned_to') : '',
    page: Math.max(1, Number.parseInt(params.get('page') || '1', 10) || 1),
    page_size: Math.min(500, Math.max(1, Number.parseInt(params.get('page_size') || String(PAGE_SIZE), 10) || PAGE_SIZE)),
  };
}

// The filters as query parameters; `forApi` adds the defaults the API needs spelled out.
function query(f, { forApi = false } = {}) {
  const params = new URLSearchParams();
  if (forApi || f.status !== 'unlabeled') params.set('status', f.status);
  if (f.hard_example) params.set('hard_example', f.hard_example);
  if (f.label_class.length) params.set('label_class', f.label_class.join(','));
  if (f.q) params.set('q', f.q);
  if (f.labeled_by) params.set('labeled_by', f.labeled_by);
  if (f.attribute) params.set('attribute', f.attribute);
  if (f.review) params.set('review', f.review);
  if (f.assigned_to) params.set('assigned_to', f.assigned_to);
  if (forApi || f.page > 1) params.set('page', String(f.page));
  if (forApi || f.page_size !== PAGE_SIZE) params.set('page_size', String(f.page_size));
  return params.toString().replace(/%2C/gi, ','); // label ids read better as 1,6 than 1%2C6

}

function writeUrl({ push = true } = {}) {
  const search = query(filters);
  const url = `${location.pathname}${search ? `?${search}` : ''}`;
  if (url !== `${location.pathname}${location.search}`) history[push ? 'pushState' : 'replaceState'](null, '', url);
  sessionStorage.setItem(`polylog.job.${job.id}.url`, url);
}

function change(update, { resetPage = true } = {}) {
  filters = { ...filters, ...update, ...(resetPage ? { page: 1 } : {}) };
  selected.clear();
  writeUrl();
  showFilters();
  load();
}

window.addEventListener('popstate', () => {
  filters = readUrl();
  selected.clear();
  showFilters();
  load();
});

// Filters ---------------------------------------------------------------------------------------------

function showFilters() {
  for (const tab of $$('.tabs [data-status]')) {
    const active = tab.dataset.status === filters.status;
    tab.classList.toggle('active', active);
    tab.setAttribute('aria-selected', String(active));
  }
  for (const tab of $$('.review-tabs [data-review]')) {
    const active = tab.dataset.review === filters.review;
    tab.classList.toggle('active', active);
    tab.setAttribute('aria-selected', String(active));
  }
  filtersForm.elements.assigned_to.value = filters.assigned_to;
  filtersForm.elements.hard_example.value = filters.hard_example;
  if (document.activeElement !== filtersForm.elements.q) filtersForm.elements.q.value = filters.q;
  filtersForm.elements.labeled_by.value = filters.labeled_by;
  for (const box of $$('#label-counts input[type=checkbox]')) {
    box.checked = filters.label_class.includes(Number(box.value));
  }
  $('#label-any').checked = filters.label_class.length === 0;
  showAttributeFilter();
}

for (const tab of $$('.tabs [data-status]')) {
  tab.addEventListener('click', () => change({ status: tab.dataset.status }));
}
for (const tab of $$('.review-tabs [data-review]')) {
  // A reviewed image is a labeled one: from the default Unlabeled tab, a review tab shows every status.
  tab.addEventListener('click', () =>
    change({ review: tab.dataset.review, ...(tab.dataset.review && filters.status === 'unlabeled' ? { status: 'all' } : {}) }),
  );
}
filtersForm.elements.assigned_to.addEventListener('change', (e) => change({ assigned_to: e.target.value }));
filtersForm.elements.hard_example.addEventListener('change', (e) => change({ hard_example: e.target.value }));
filtersForm.elements.labeled_by.addEventListener('change', (e) => change({ labeled_by: e.target.value }));
let typingTimer = 0;
filtersForm.elements.q.addEventListener('input', (e) => {
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => change({ q: e.target.value.trim() }), 250);
});
filtersForm.addEventListener('submit', (e) => {
  e.preventDefault();
  clearTimeout(typingTimer);
  change({ q: filtersForm.elements.q.value.trim() });
});
$('#clear-filters').addEventListener('click', () =>
  change({ hard_example: '', label_class: [], q: '', labeled_by: '', attribute: '', assigned_to: '' }),
);

// The label class of void regions (docs/formats.md); the server's per-label counts leave it out.
const VOID_LABEL = '__ignore__';

function buildLabelList() {
  const list = $('#label-counts');
  clear(
    list,
    h('li', {}, h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'label-any', onchange: () => change({ label_class: [] }) }), 'All labels')),
    job.label_classes.map((label) =>
      h(
        'li',
        // Void regions (labelme's __ignore__, VOC's 255) are filterable but not a class counted here.
        { dataset: label.name === VOID_LABEL ? { labelClassId: label.id, void: '' } : { labelClassId: label.id } },
        h(
          'label',
          { class: 'check' },
          h('input', {
            type: 'checkbox',
            value: label.id,
            onchange: (e) => {
              const ids = new Set(filters.label_class);
              if (e.target.checked) ids.add(label.id);
              else ids.delete(label.id);
              change({ label_class: [...ids].sort((a, b) => a - b) });
            },
          }),
          h('span', { class: 'swatch', style: { background: label.color } }),
          h('span', { class: 'label-name' }, label.name),
        ),
        label.name === VOID_LABEL
          ? h('span', { class: 'label-count' }, 'void, not counted')
          : h('span', { class: 'label-count', dataset: { count: 0 } }, '0 images'),
      ),
    ),
  );
}

// The attribute filter (docs/ui.md): one of the attributes the label classes declare, then its value;
// `attribute=<label id>:<name>=<value>` in the URL, as the API takes it.

const attributeSelect = filtersForm.elements.attribute_name;

function declaredAttributes() {
  return job.label_classes.flatMap((label) => (label.attributes ?? []).map((spec) => ({ key: `${label.id}:${spec.name}`, label, spec })));
}

// [attribute key, value] of the filter ('<label id>:<name>' is the longest declared one the filter starts with).
function attributeParts() {
  if (!filters.attribute) return ['', ''];
  const found = declaredAttributes()
    .filter(({ key }) => filters.attribute.startsWith(`${key}=`))
    .sort((a, b) => b.key.length - a.key.length)[0];
  return found ? [found.key, filters.attribute.slice(found.key.length + 1)] : ['', ''];
}

function buildAttributeFilter() {
  const declared = declaredAttributes();
  clear(attributeSelect, h('option', { value: '' }, 'Any'), declared.map(({ key, label, spec }) => h('option', { value: key }, `${label.name}: ${spec.name}`)));
  attributeSelect.closest('label').hidden = !declared.length;
  showAttributeFilter();
}

// The filter's attribute and value; `chosen` (an attribute picked, no value yet) shows that one empty.
function showAttributeFilter(chosen = null) {
  const [key, value] = chosen ? [chosen, ''] : attributeParts();
  attributeSelect.value = key;
  const holder = $('#attribute-value');
  const found = declaredAttributes().find((a) => a.key === key);
  if (!found) {
    holder.dataset.key = '';
    clear(holder);
    return;
  }
  if (holder.dataset.key === key && holder.firstChild) {
    if (document.activeElement !== holder.firstChild) holder.firstChild.value = value;
    return;
  }
  holder.dataset.key = key;
  const { spec } = found;
  const set = (v) => change({ attribute: `${key}=${v}` });
  const control =
    spec.kind === 'checkbox' || spec.kind === 'select'
      ? h('select', { 'aria-label': 'Attribute value', onchange: (e) => set(e.target.value) }, (spec.kind === 'checkbox' ? ['true', 'false'] : spec.options).map((o) => h('option', { value: o }, spec.kind === 'checkbox' ? (o === 'true' ? 'yes' : 'no') : o)))
      : h('input', { type: spec.kind === 'number' ? 'number' : 'search', step: 'any', 'aria-label': 'Attribute value', placeholder: 'value…', onchange: (e) => set(spec.kind === 'number' ? e.target.value.trim() : e.target.value) });
  clear(holder, control);
  control.value = value;
}

attributeSelect.addEventListener('change', (e) => {
  const found = declaredAttributes().find((a) => a.key === e.target.value);
  if (!found) return change({ attribute: '' });
  // A checkbox or select filters at once (on its first value); a number or text waits for one typed.
  const first = found.spec.kind === 'checkbox' ? 'true' : found.spec.kind === 'select' ? found.spec.options[0] : null;
  if (first !== null) return change({ attribute: `${found.key}=${first}` });
  showAttributeFilter(found.key);
  $('#attribute-value').firstChild.focus();
});

async function loadMembers() {
  try {
    const members = await get(`/api/jobs/${job.id}/members/`);
    const select = filtersForm.elements.labeled_by;
    select.append(...members.map((m) => h('option', { value: m.user }, m.username)));
    select.value = filters.labeled_by;
    const assigned = filtersForm.elements.assigned_to;
    assigned.append(...members.map((m) => h('option', { value: m.user }, m.username)));
    assigned.value = filters.assigned_to;
    jobMembers = members;
  } catch (error) {
    showError(pageError, error);
  }
}

// Counts ----------------------------------------------------------------------------------------------

// The review tabs' counts (to_review, accepted, rejected): the list's and the counts frame's review_counts.
function showReviewCounts(reviewCounts) {
  if (!reviewCounts) return;
  for (const [review, count] of Object.entries(reviewCounts)) {
    const element = $(`[data-review-count="${review}"]`);
    if (element) element.textContent = `(${count})`;
  }
}

function showCounts(statusCounts, labelCounts) {
  lastCounts = { status: statusCounts, labels: labelCounts };
  for (const [status, count] of Object.entries(statusCounts)) {
    const element = $(`[data-count="${status}"]`);
    if (element) element.textContent = `(${count})`;
  }
  for (const row of $$('#label-counts [data-label-class-id]:not([data-void])')) {
    const n = labelCounts[row.dataset.labelClassId] || 0;
    const element = $('.label-count', row);
    element.dataset.count = n;
    element.textContent = `${n} image${n === 1 ? '' : 's'}`;
  }
}

// The grid --------------------------------------------------------------------------------------------

async function load() {
  const token = ++loadToken;
  grid.dataset.state = 'loading';
  framesWhileLoading = new Map(); // frames before this read are in its answer (their commands committed)
  const search = query(filters, { forApi: true });
  let page;
  try {
    page = await get(`/api/jobs/${job.id}/items/?${search}`);
  } catch (error) {
    if (token !== loadToken) return;
    if (error instanceof ApiError && error.code === 'not_found' && filters.page > 1) {
      filters = { ...filters, page: 1 }; // the page no longer exists (items went away): go to the first
      writeUrl({ push: false });
      load();
      return;
    }
    grid.dataset.state = 'error';
    showError(pageError, error);
    return;
  }
  if (token !== loadToken) return; // a later load superseded this one
  showError(pageError, null);
  pageItems = page.results;
  // Only what the grid shows stays selected: a live reload can take a selected image off the page (saved
  // into another tab by someone else), and Delete or Mark hard must not act on an image no longer shown.
  const shown = new Set(pageItems.map((item) => item.id));
  for (const id of selected) if (!shown.has(id)) selected.delete(id);
  showCounts(page.status_counts, page.label_counts);
  showReviewCounts(page.review_counts);
  renderGrid();
  renderPager(page.count);
  selectedCount = page.count;
  const exportParams = new URLSearchParams(query(filters, { forApi: true }));
  exportParams.delete('page');
  exportParams.delete('page_size');
  exportParams.set('format', $('#export-format').value);
  $('#export').href = `/api/jobs/${job.id}/export/?${exportParams}`;
  grid.dataset.query = query(filters);
  grid.dataset.state = 'ready';
  const late = [...framesWhileLoading.values()];
  framesWhileLoading = new Map();
  for (const item of late) updateTile(item);
}

function statusBadge(item) {
  return h('span', { class: `badge ${item.status}` }, STATUS_NAMES[item.status] || item.status);
}

const REVIEW_NAMES = { to_review: 'To review', accepted: 'Accepted', rejected: 'Rejected' };

function reviewBadge(item) {
  if (!REVIEW_NAMES[item.review_status]) return null;
  return h('span', { class: `badge review-${item.review_status}` }, REVIEW_NAMES[item.review_status]);
}

// The image's open issues (a rejected image's are what to fix; an accepted one has none).
function issuesBadge(item) {
  const n = item.open_issues ?? 0;
  if (!n) return null;
  return h('span', { class: 'badge issues', title: `${n} open issue${n === 1 ? '' : 's'}`, dataset: { openIssues: n } }, `⚑ ${n}`);
}

// Who labels and who reviews the image (user names: escaped as text like every user's word).
function assigneeLine(item) {
  if (!item.assignee_name && !item.reviewer_name) return null;
  return h(
    'span',
    { class: 'assigned' },
    item.assignee_name ? h('span', { class: 'assignee', title: `Annotator: ${item.assignee_name}` }, `✎ ${item.assignee_name}`) : null,
    item.reviewer_name ? h('span', { class: 'reviewer', title: `Reviewer: ${item.reviewer_name}` }, `✓ ${item.reviewer_name}`) : null,
  );
}

function shapesText(count) {
  if (!count) return 'No shapes';
  return `${count} shape${count === 1 ? '' : 's'}`;
}

// The label colours in a few characters: an overlay's URL names them as well as the item's seq, since
// recolouring a label changes no item (and an answer for the current seq is cached for good).
function colorsKey() {
  let hash = 2166136261;
  for (const label of [...labels.values()].sort((a, b) => a.id - b.id)) {
    for (const char of `${label.id}${label.color};`) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619);
  }
  return (hash >>> 0).toString(36);
}

function overlayUrl(item) {
  return `/api/items/${item.id}/overlay.svg?seq=${item.seq}&colors=${colorsKey()}`;
}

// An image's thumbnail, or a placeholder while the queue has not made it yet (an import registers images
// first); the job socket's thumbnails frame swaps it for the picture.
function thumbnail(item) {
  if (item.image.thumbnail_url) return h('img', { src: item.image.thumbnail_url, alt: item.image.name, loading: 'lazy' });
  return h('span', { class: 'thumb-placeholder', role: 'img', 'aria-label': item.image.name }, 'Preparing preview…');
}

function showThumbnails(updates) {
  for (const { id, thumbnail_url } of updates) {
    const item = pageItems.find((i) => i.id === id);
    if (!item) continue;
    item.image = { ...item.image, thumbnail_url };
    const placeholder = grid.querySelector(`.tile[data-item-id="${id}"] .thumb-placeholder`);
    if (placeholder) placeholder.replaceWith(thumbnail(item));
  }
}

// One image's tile: its thumbnail with the shapes drawn over it, its name and badges.
function tile(item, itemQuery) {
  return h(
    'figure',
    { class: `tile${selected.has(item.id) ? ' selected' : ''}`, dataset: { itemId: item.id, status: item.status } },
    canLabel || isManager
      ? h(
          'label',
          { class: 'pick', title: 'Select' },
          h('input', {
            type: 'checkbox',
            'aria-label': `Select ${item.image.name}`,
            checked: selected.has(item.id),
            onchange: (e) => {
              if (e.target.checked) selected.add(item.id);
              else selected.delete(item.id);
              e.target.closest('.tile').classList.toggle('selected', e.target.checked);
              updateSelection();
            },
          }),
        )
      : null,
    h(
      'a',
      { href: `/items/${item.id}/${itemQuery ? `?${itemQuery}` : ''}`, class: 'thumb', title: item.image.path },
      thumbnail(item),
      h('img', { class: 'overlay', src: overlayUrl(item), alt: '', loading: 'lazy' }),
    ),
    h(
      'figcaption',
      {},
      h('span', { class: 'name', title: item.image.path }, item.image.name),
      h(
        'span',
        { class: 'meta' },
        statusBadge(item),
        reviewBadge(item),
        issuesBadge(item),
        item.hard_example ? h('span', { class: 'badge hard' }, 'Hard') : null,
        h(
          'span',
          { class: 'shape-summary' }, // the count and its label colours wrap together
          h('span', { class: 'shapes' }, shapesText(item.shape_count)),
          item.label_class_ids.map((id) =>
            labels.has(id)
              ? h('span', {
                  class: 'dot',
                  role: 'img',
                  title: labels.get(id).name,
                  'aria-label': labels.get(id).name,
                  style: { background: labels.get(id).color },
                })
              : null,
          ),
        ),
        assigneeLine(item),
      ),
    ),
  );
}

function renderGrid() {
  if (!pageItems.length) {
    clear(grid, h('p', { class: 'empty' }, 'No image matches these filters.'));
    updateSelection();
    return;
  }
  const itemQuery = query({ ...filters, page: 1, page_size: PAGE_SIZE });
  clear(
    grid,
    pageItems.map((item) => tile(item, itemQuery)),
  );
  updateSelection();
}

function renderPager(count) {
  const pages = Math.max(1, Math.ceil(count / filters.page_size));
  const pager = $('#pager');
  const go = (page) => () => change({ page }, { resetPage: false });
  clear(
    pager,
    h('button', { type: 'button', class: 'prev', disabled: filters.page <= 1, onclick: go(filters.page - 1) }, '‹ Previous'),
    h('span', { class: 'page-info' }, `Page ${filters.page} of ${pages} · ${count} image${count === 1 ? '' : 's'}`),
    h('button', { type: 'button', class: 'next', disabled: filters.page >= pages, onclick: go(filters.page + 1) }, 'Next ›'),
  );
}

// Selection, delete, hard examples --------------------------------------------------------------------

function updateSelection() {
  const onPage = pageItems.filter((item) => selected.has(item.id)).length;
  const all = $('#select-page');
  all.checked = pageItems.length > 0 && onPage === pageItems.length;
  all.indeterminate = onPage > 0 && onPage < pageItems.length;
  $('#selection-count').textContent = selected.size ? `${selected.size} selected` : '';
  $('#delete-images').disabled = !isManager || selected.size === 0;
  $('#mark-hard').disabled = !canLabel || selected.size === 0;
  $('#unmark-hard').disabled = !canLabel || selected.size === 0;
}

$('#select-page').addEventListener('change', (e) => {
  for (const item of pageItems) {
    if (e.target.checked) selected.add(item.id);
    else selected.delete(item.id);
  }
  renderGrid();
});

const deleteDialog = $('#delete-dialog');
const PRESENCE_ITEMS = 500; // GET jobs/<id>/presence/ answers about at most this many images at once
let presenceAsked = 0; // the latest ask: an older answer, for a dialog opened before, is dropped
$('#delete-images').addEventListener('click', () => {
  $('.summary', deleteDialog).textContent = `Delete ${selected.size} selected image${selected.size === 1 ? '' : 's'} from this job?`;
  deleteDialog.querySelector('[name=delete_source_files]').checked = false;
  showError($('.error', deleteDialog), null);
  deleteDialog.showModal();
  warnOpenNow([...selected]);
});

// Someone has one of the images open (or was just sent to it by Start labeling): the dialog says who, and
// what deleting does to their work (docs/ui.md, "Delete"). A courtesy read: if it fails, the dialog is as
// before, and the deletion does not wait for it.
async function warnOpenNow(ids) {
  const note = $('.open-now', deleteDialog);
  note.hidden = true;
  note.replaceChildren();
  const asked = ++presenceAsked;
  const answers = [];
  try {
    for (let start = 0; start < ids.length; start += PRESENCE_ITEMS) {
      const part = ids.slice(start, start + PRESENCE_ITEMS).join(',');
      answers.push(...(await get(`/api/jobs/${job.id}/presence/?item_ids=${part}`)).items);
    }
  } catch {
    return;
  }
  if (asked !== presenceAsked || !deleteDialog.open || !answers.length) return;
  const names = new Map(pageItems.map((item) => [item.id, item.image.name]));
  const people = new Set(answers.flatMap((row) => row.people.map((person) => person.username)));
  const count = answers.length;
  note.append(
    h('p', {}, h('b', {}, `${count === 1 ? 'One of these images is' : `${count} of these images are`} open now:`)),
    h('ul', {}, ...answers.map((row) => h('li', { dataset: { item: row.id } }, `${names.get(row.id) ?? `image ${row.id}`}: ${row.people.map((person) => person.username).join(', ')}`))),
    h('p', {}, `Deleting stops ${people.size === 1 ? 'their' : 'everyone\'s'} work there: ${people.size === 1 ? 'they are' : 'each is'} told at once that you deleted it. What was stored stays in the image's history; changes not yet stored are not kept.`),
  );
  note.hidden = false;
}
$('.cancel', deleteDialog).addEventListener('click', () => deleteDialog.close());
$('.confirm', deleteDialog).addEventListener('click', async (e) => {
  const button = e.currentTarget;
  button.disabled = true;
  try {
    const ids = [...selected];
    await post('/api/items/delete/', {
      item_ids: ids,
      delete_source_files: deleteDialog.querySelector('[name=delete_source_files]').checked,
    });
    deleteDialog.close();
    selected.clear();
    toast(`Deleted ${ids.length} image${ids.length === 1 ? '' : 's'}.`);
    load();
  } catch (error) {
    showError($('.error', deleteDialog), error);
  } finally {
    button.disabled = false;
  }
});

async function markHard(type) {
  const ids = [...selected];
  const failures = [];
  await Promise.all(
    ids.map((id) =>
      post(`/api/items/${id}/commands/`, { command_id: newId(), command: { type } }).catch((error) => failures.push(error)),
    ),
  );
  if (failures.length) showError(pageError, failures[0]);
  else toast(`${type === 'mark_hard_example' ? 'Marked' : 'Unmarked'} ${ids.length} image${ids.length === 1 ? '' : 's'}.`);
  load();
}
$('#mark-hard').addEventListener('click', () => markHard('mark_hard_example'));
$('#unmark-hard').addEventListener('click', () => markHard('unmark_hard_example'));

// Synchronize, export ---------------------------------------------------------------------------------

$('#sync').addEventListener('click', async (e) => {
  const button = e.currentTarget;
  button.disabled = true;
  try {
    const result = await post(`/api/jobs/${job.id}/sync/`);
    toast(result.added ? `${result.added} new image${result.added === 1 ? '' : 's'} added (${result.total} in all).` : 'No new data: the job has every image of its dataset.');
    load();
  } catch (error) {
    showError(pageError, error);
  } finally {
    button.disabled = false;
  }
});
$('#export-format').addEventListener('change', () => load());

// Add data --------------------------------------------------------------------------------------------

const addDialog = $('#add-data-dialog');
const addForm = $('form', addDialog);
const addError = $('.error', addDialog);
const progressLine = $('.progress-line', addDialog);
const dropZone = $('.drop-zone', addDialog);
const fileList = $('.upload-files', addDialog);
const uploadTotal = $('.upload-total', addDialog);
let chosen = []; // the files the next Import sends, in the order they were picked or dropped

const MB = 1024 * 1024;
const megabytes = (bytes) => (bytes / MB).toFixed(bytes < 10 * MB ? 1 : 0);
const size = (bytes) => (bytes < MB ? `${Math.max(1, Math.round(bytes / 1024))} KB` : `${megabytes(bytes)} MB`);

function showSource() {
  const upload = addForm.elements.source.value === 'upload';
  $('.source-upload', addDialog).hidden = !upload;
  $('.source-path', addDialog).hidden = upload;
  $('.labeled-format', addDialog).hidden = !addForm.elements.labeled.checked;
}
for (const input of [...addForm.elements.source, addForm.elements.labeled]) input.addEventListener('change', showSource);

// The chosen files, each with a bar of what of it was sent.
function showChosen() {
  const bytes = chosen.reduce((sum, file) => sum + file.size, 0);
  $('.drop-summary', addDialog).textContent = chosen.length
    ? `${chosen.length} file${chosen.length === 1 ? '' : 's'} chosen, ${size(bytes)}.`
    : 'No file chosen.';
  clear(
    fileList,
    chosen.map((file) =>
      h(
        'li',
        {},
        h('span', { class: 'file-name', title: file.webkitRelativePath || file.name }, file.webkitRelativePath || file.name),
        h('progress', { max: Math.max(1, file.size), value: 0, 'aria-label': `${file.name} sent` }),
        h('span', { class: 'file-size muted' }, size(file.size)),
      ),
    ),
  );
  fileList.classList.remove('sent');
  uploadTotal.hidden = true;
}

function choose(files) {
  const known = new Set(chosen.map((file) => `${file.name}/${file.size}/${file.lastModified}`));
  for (const file of files) {
    const key = `${file.name}/${file.size}/${file.lastModified}`;
    if (!known.has(key)) chosen.push(file);
    known.add(key);
  }
  addForm.elements.source.value = 'upload';
  showSource();
  showError(addError, null);
  showChosen();
}

// The picker adds to the list and is emptied at once: the list is what Import sends.
addForm.elements.files.addEventListener('change', (e) => {
  choose([...e.target.files]);
  e.target.value = '';
});

// The multipart body holds the files in order, so the bytes sent so far cover the files before them:
// each file's bar is its share of `loaded` (scaled from the body's size to the files' sizes).
function showSent(loaded, total) {
  const bytes = chosen.reduce((sum, file) => sum + file.size, 0);
  const sent = total ? Math.min(bytes, (loaded / total) * bytes) : Math.min(bytes, loaded);
  let before = 0;
  let done = 0;
  chosen.forEach((file, index) => {
    const own = Math.max(0, Math.min(file.size, sent - before));
    const bar = fileList.children[index]?.querySelector('progress');
    if (bar) bar.value = file.size ? own : sent >= before ? 1 : 0;
    if (own >= file.size && sent >= before + file.size) done += 1;
    before += file.size;
  });
  uploadTotal.hidden = false;
  const amount = bytes < MB ? `${Math.round(sent / 1024)} of ${size(bytes)}` : `${megabytes(sent)} of ${megabytes(bytes)} MB`;
  uploadTotal.textContent = `${done} of ${chosen.length} files sent, ${amount}`;
  uploadTotal.dataset.done = String(done);
}

function openAddData() {
  addForm.reset();
  chosen = [];
  showChosen();
  showSource();
  showError(addError, null);
  progressLine.hidden = true;
  $('.history-list', addDialog).hidden = true;
  if (!addDialog.open) addDialog.showModal();
}
$('#add-data').addEventListener('click', openAddData);
$('.cancel', addDialog).addEventListener('click', () => addDialog.close());

// Drag and drop: files dragged onto the page open the dialog (managers); dropped on it, they join the list.
const carriesFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');
document.addEventListener('dragenter', (e) => {
  if (!isManager || !carriesFiles(e)) return;
  if (!addDialog.open) openAddData();
});
for (const type of ['dragover', 'drop']) {
  // A file dropped beside the drop zone must not make the browser leave the page to open it.
  document.addEventListener(type, (e) => {
    if (carriesFiles(e)) e.preventDefault();
  });
}
addDialog.addEventListener('dragover', (e) => {
  if (!carriesFiles(e)) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = 'copy';
  dropZone.classList.add('over');
});
addDialog.addEventListener('dragleave', (e) => {
  if (!addDialog.contains(e.relatedTarget)) dropZone.classList.remove('over');
});
addDialog.addEventListener('drop', (e) => {
  dropZone.classList.remove('over');
  if (!carriesFiles(e)) return;
  e.preventDefault();
  choose([...e.dataTransfer.files]);
});

function importSummary(record) {
  const parts = [`Import #${record.id}: ${record.status}`];
  if (record.total) parts.push(`${record.processed} of ${record.total} files`);
  parts.push(`${record.added} added, ${record.duplicates} duplicates skipped, ${record.failed} failed`);
  if (record.objects_added || record.objects_refused) parts.push(`${record.objects_added} objects added, ${record.objects_refused} refused`);
  return parts.join(' · ');
}

async function followImport(record) {
  progressLine.hidden = false;
  while (true) {
    progressLine.textContent = importSummary(record);
    if (record.status === 'done' || record.status === 'failed') break;
    await new Promise((resolve) => setTimeout(resolve, 500));
    record = await get(`/api/imports/${record.id}/`);
  }
  if (record.errors?.length) {
    showError(addError, new Error(record.errors.slice(0, 5).map((e) => `${e.file || e.record || ''}: ${e.reason || e.message || JSON.stringify(e)}`).join('\n')));
  }
  load();
  if (!$('.history-list', addDialog).hidden) showHistory();
  return record;
}

addForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  showError(addError, null);
  const submit = addForm.querySelector('button[type=submit]');
  const labeled = addForm.elements.labeled.checked;
  const extra = labeled ? { labeled: true, format: addForm.elements.format.value, job: job.id } : {};
  const url = `/api/datasets/${job.dataset}/imports/`;
  const uploading = addForm.elements.source.value === 'upload';
  let send;
  if (uploading) {
    if (!chosen.length) return showError(addError, new Error('Choose the files to upload, or drop them on the dialog.'));
    const body = new FormData(); // one request with every file, in the list's order
    for (const file of chosen) body.append('files', file, file.webkitRelativePath || file.name);
    for (const [key, value] of Object.entries(extra)) body.append(key, String(value));
    showSent(0, 0);
    send = () => upload(url, body, showSent);
  } else {
    const path = addForm.elements.path.value.trim();
    if (!path) return showError(addError, new Error('Give the folder to import, relative to the import folder.'));
    send = () => post(url, { path, ...extra });
  }
  submit.disabled = true;
  addDialog.dataset.state = 'sending';
  try {
    const record = await send();
    if (uploading) {
      showSent(1, 1);
      fileList.classList.add('sent');
    }
    addDialog.dataset.state = 'importing';
    await followImport(record);
    addDialog.dataset.state = 'done';
  } catch (error) {
    addDialog.dataset.state = 'failed';
    showError(addError, error);
  } finally {
    submit.disabled = false;
    if (uploading && addDialog.dataset.state === 'done') {
      // The files went in: the next Import starts from an empty list (the bars of this one stay shown).
      chosen = [];
      addForm.elements.files.value = '';
      $('.drop-summary', addDialog).textContent = 'No file chosen.';
    }
  }
});

async function showHistory() {
  const host = $('.history-list', addDialog);
  host.hidden = false;
  try {
    const records = await get(`/api/datasets/${job.dataset}/imports/`);
    clear(
      host,
      h('h3', {}, 'Import history'),
      records.length
        ? h(
            'table',
            { class: 'history' },
            h('thead', {}, h('tr', {}, ['When', 'Who', 'Source', 'Status', 'Added', 'Duplicates', 'Failed', 'Errors'].map((t) => h('th', {}, t)))),
            h(
              'tbody',
              {},
              records.map((r) =>
                h(
                  'tr',
                  { dataset: { importId: r.id } },
                  h('td', {}, formatTime(r.created_at)),
                  h('td', {}, r.actor_name),
                  h('td', {}, r.source + (r.path ? `: ${r.path}` : '') + (r.labeled ? ` (labeled${r.format ? `, ${r.format}` : ''})` : '')),
                  h('td', {}, r.status),
                  h('td', {}, r.added),
                  h('td', {}, r.duplicates),
                  h('td', {}, r.failed),
                  h('td', { class: 'errors' }, (r.errors || []).slice(0, 3).map((e) => h('div', {}, `${e.file || e.record || ''}: ${e.reason || e.message || ''}`))),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No import yet.'),
    );
  } catch (error) {
    showError(addError, error);
  }
}
$('.history', addDialog).addEventListener('click', showHistory);

// Export -----------------------------------------------------------------------------------------------
// A selection of fewer images than the server's threshold streams from the link itself. A larger one is
// made on the task queue (docs/api.md, "Large exports"): the page asks for it, shows how far it got from
// the job socket's export_progress frames (and a slow poll, should the socket miss them), then downloads it.

let selectedCount = 0;
let queuedExport = null; // {id, url, timer} of the export this page waits for
const exportFrames = new Map(); // the last frame of each export, for one that ends before its 202 is read
const exportStatus = $('#export-status');

function showExportStatus(text, { link = '', failed = false } = {}) {
  exportStatus.hidden = false;
  exportStatus.classList.toggle('error', failed);
  clear(exportStatus, text);
  if (link) exportStatus.append(' ', h('a', { href: link }, 'Download'));
}

function exportProgress(update) {
  exportFrames.set(update.export_id, update);
  if (!queuedExport || update.export_id !== queuedExport.id) return;
  if (update.status === 'done') {
    clearInterval(queuedExport.timer);
    queuedExport = null;
    showExportStatus('Export ready.', { link: update.download_url });
    window.location.assign(update.download_url); // an attachment: the page stays
  } else if (update.status === 'failed' || update.status === 'expired') {
    clearInterval(queuedExport.timer);
    queuedExport = null;
    showExportStatus(`The export failed: ${update.error || update.status}`, { failed: true });
  } else {
    showExportStatus(`Preparing the export: ${update.done} of ${update.total} images…`);
  }
}

async function exportPoll() {
  if (!queuedExport) return;
  try {
    const record = await get(queuedExport.url);
    exportProgress({ ...record, export_id: record.id });
  } catch {
    // the next round, or a frame, will tell
  }
}

$('#export').addEventListener('click', async (event) => {
  if (selectedCount < exportQueueItems) return; // small: the browser downloads the streamed zip
  event.preventDefault();
  if (queuedExport) return; // one at a time: it is under way
  showExportStatus('Asking for the export…');
  let record;
  try {
    record = await get($('#export').href);
  } catch (error) {
    showExportStatus(`The export was refused: ${error.message}`, { failed: true });
    return;
  }
  queuedExport = { id: record.id, url: record.url, timer: setInterval(exportPoll, 5000) };
  exportProgress(exportFrames.get(record.id) || { ...record, export_id: record.id });
});

// Live updates from the job socket --------------------------------------------------------------------

let reloadTimer = 0;
function reloadSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(load, 300);
}

function connect(attempt = 0) {
  const status = $('#live-status');
  const socket = new WebSocket(wsUrl(`/ws/jobs/${job.id}/`));
  let pinger = 0;
  socket.addEventListener('open', () => {
    attempt = 0;
    status.textContent = 'live';
    status.classList.add('on');
    pinger = setInterval(() => socket.send(JSON.stringify({ type: 'ping' })), 60_000);
  });
  socket.addEventListener('message', (message) => {
    const frame = JSON.parse(message.data);
    if (frame.type === 'counts') {
      showCounts(frame.status_counts, frame.label_counts);
      showReviewCounts(frame.review_counts);
    }
    else if (frame.type === 'item') updateTile(frame.item);
    else if (frame.type === 'assignments') showAssignments(frame);
    else if (frame.type === 'thumbnails') showThumbnails(frame.items);
    else if (frame.type === 'export_progress') exportProgress(frame);
    else if (frame.type === 'items_added' || frame.type === 'items_deleted') reloadSoon();
    else if (frame.type === 'label_classes') {
      // Renamed, recoloured, added or deleted by a manager somewhere: the sidebar and tiles follow.
      job.label_classes = frame.label_classes;
      labels.clear();
      for (const label of frame.label_classes) labels.set(label.id, label);
      buildLabelList();
      buildAttributeFilter();
      reloadSoon();
    }
  });
  socket.addEventListener('close', (event) => {
    clearInterval(pinger);
    status.classList.remove('on');
    if (event.code === 4401 || event.code === 4404) {
      status.textContent = 'not live';
      return;
    }
    if (event.code === 4403) {
      // Access fell while the page was open: the server renders the page again for what is left.
      status.textContent = 'your access to this job changed: reloading';
      setTimeout(() => window.location.reload(), 2000);
      return;
    }
    status.textContent = 'reconnecting…';
    setTimeout(() => connect(attempt + 1), Math.min(10_000, 500 * 2 ** attempt));
  });
}

// Whether an item (a whole row, or the fields a frame brings) still fits the status and review tabs.
function fitsTabs(item) {
  const status = filters.status === 'all' || item.status === undefined || filters.status === item.status;
  const review = !filters.review || item.review_status === undefined || filters.review === item.review_status;
  return status && review;
}

// An item changed: show it at once on its tile; if it no longer fits the filters, the page reloads.
// A frame that comes while the list is being read is kept, and applied again to the list's answer once it
// is shown: the read may have been answered before the frame's command committed, and the answer replaces
// every tile. A frame no newer than the tile (by seq) changes nothing: the list read after its command
// already holds it, or a newer state.
function updateTile(item) {
  if (grid.dataset.state === 'loading' && !(framesWhileLoading.get(item.id)?.seq >= item.seq)) {
    framesWhileLoading.set(item.id, item);
  }
  const index = pageItems.findIndex((i) => i.id === item.id);
  if (index >= 0 && pageItems[index].seq >= item.seq) return;
  if (index < 0) {
    if (fitsTabs(item)) reloadSoon();
    return;
  }
  pageItems[index] = { ...pageItems[index], ...item };
  const fits = fitsTabs(item);
  if (!fits) {
    reloadSoon();
    return;
  }
  // That tile alone (an edit on one image must not rebuild the others' tiles and reload their images).
  const old = grid.querySelector(`.tile[data-item-id="${item.id}"]`);
  if (old) old.replaceWith(tile(pageItems[index], query({ ...filters, page: 1, page_size: PAGE_SIZE })));
  else renderGrid();
}

// A manager assigned or unassigned images (here or on another page): the tiles shown take their new
// annotator and reviewer at once. Under the Assigned to filter the images it keeps may have changed, and a
// frame too large to name its images (items: null) names none: then the grid reloads. So it does when the
// frame comes while the list is being read: that read may have been answered before this change
// committed, and its answer replaces every tile (assignments are rare: a read more costs little).
function showAssignments(frame) {
  const listChanges = frame.items === null || Boolean(filters.assigned_to);
  if (listChanges || grid.dataset.state === 'loading') reloadSoon();
  if (listChanges) return;
  const itemQuery = query({ ...filters, page: 1, page_size: PAGE_SIZE });
  for (const row of frame.items) {
    const index = pageItems.findIndex((i) => i.id === row.id);
    if (index < 0) continue;
    const { assignee, assignee_name, reviewer, reviewer_name } = row;
    pageItems[index] = { ...pageItems[index], assignee, assignee_name, reviewer, reviewer_name };
    grid.querySelector(`.tile[data-item-id="${row.id}"]`)?.replaceWith(tile(pageItems[index], itemQuery));
  }
}

// Start -----------------------------------------------------------------------------------------------

// Controls a role can never use are not shown at all (the server refuses them anyway).
for (const element of $$('[data-manager]')) element.hidden = !isManager;
for (const element of $$('[data-labeler]')) element.hidden = !canLabel;
for (const element of $$('[data-reviewer]')) element.hidden = !canReview;
$('#start-labeling').addEventListener('click', () => startWork(job, 'label'));
$('#start-review').addEventListener('click', () => startWork(job, 'review'));
if (isManager) {
  setUpAssignments(job, {
    selected: () => [...selected],
    filterQuery: () => {
      const params = Object.fromEntries(new URLSearchParams(query(filters, { forApi: true })));
      delete params.page;
      delete params.page_size;
      return params;
    },
    members: () => jobMembers,
    total: () => selectedCount,
    done: () => {
      selected.clear();
      load();
    },
  });
}
if (isManager) {
  setUpSettings(job, {
    onLabelsChanged(classes) {
      labels.clear();
      for (const label of classes) labels.set(label.id, label);
      buildLabelList();
      buildAttributeFilter();
      showFilters();
      showCounts(lastCounts.status, lastCounts.labels);
      renderGrid();
    },
  });
}
buildLabelList();
buildAttributeFilter();
showFilters();
writeUrl({ push: false });
load();
loadMembers();
connect();
