// Replay (auditors): an item's events as a timeline; scrub or step to any seq and see the shapes as they
// were (the server rebuilds the state at that seq); filter by person; compare two points.

import { boot, get } from './api.js';
import { $, clear, formatTime, h } from './ui.js';
import { Renderer } from './label/render.js';

const { item, job, user: me } = boot();
const labels = new Map(job.label_classes.map((label) => [label.id, label]));
const renderer = new Renderer($('#canvas'), { width: item.image.width, height: item.image.height, imageUrl: item.image.url });
const ui = { selectedId: null, hidden: new Set(), overlay: {}, labels, me };
const states = new Map(); // seq -> state view, as the server rebuilt it
let events = [];
let seq = 0;
let token = 0;

const DESCRIBE = {
  vertex_added: (p) => `added a vertex (${Math.round(p.x)}, ${Math.round(p.y)})`,
  polygon_closed: (p) => `closed a polygon as ${labelName(p.label_class_id)}`,
  polygon_added: (p) => `added a ${labelName(p.label_class_id)} polygon of ${p.points.length} vertices`,
  draft_discarded: () => 'dropped a draft',
  vertex_moved: (p) => `moved vertex ${p.index + 1}`,
  vertex_inserted: (p) => `inserted a vertex at ${p.index + 1}`,
  vertex_removed: (p) => `removed vertex ${p.index + 1}`,
  shape_moved: (p) => `moved a shape by (${Math.round(p.dx)}, ${Math.round(p.dy)})`,
  shape_relabeled: (p) => `relabeled a shape as ${labelName(p.label_class_id)}`,
  shape_grouped: (p) => (p.group_id ? 'grouped a shape' : 'ungrouped a shape'),
  shape_reset: () => 'reset a shape to its original geometry',
  shape_deleted: () => 'deleted a shape',
  all_shapes_deleted: (p) => `deleted all ${p.shape_ids.length} shapes`,
  label_shapes_deleted: (p) => `deleted ${p.shape_ids.length} ${labelName(p.label_class_id)} shapes`,
  undone: (p) => `undid event ${p.target_seq}`,
  redone: (p) => `redid event ${p.target_seq}`,
  saved: () => 'saved',
  changes_discarded: () => 'discarded the changes since the last save',
  hard_example_marked: () => 'marked a hard example',
  hard_example_unmarked: () => 'unmarked a hard example',
};

function labelName(id) {
  return labels.get(id)?.name ?? `label ${id}`;
}

async function loadEvents() {
  let after = 0;
  const out = [];
  while (true) {
    const page = await get(`/api/items/${item.id}/events/?after=${after}&limit=1000`);
    out.push(...page.results);
    if (page.next_after === null) return out;
    after = page.next_after;
  }
}

async function stateAt(n) {
  if (!states.has(n)) {
    const view = await get(`/api/items/${item.id}/state/?at_seq=${n}`);
    states.set(n, {
      seq: view.seq,
      shapes: new Map(view.shapes.map((s) => [s.id, s])),
      drafts: new Map(view.drafts.map((d) => [d.id, d])),
    });
  }
  return states.get(n);
}

function visibleEvents() {
  const person = $('#person').value;
  return person ? events.filter((e) => String(e.actor) === person) : events;
}

async function show(n) {
  seq = Math.max(0, Math.min(n, events.length ? events.at(-1).seq : 0));
  const mine = ++token;
  $('#scrub').value = String(seq);
  const event = events.find((e) => e.seq === seq);
  $('#position').textContent = seq ? `seq ${seq} · ${event ? `${event.actor_name}, ${formatTime(event.created_at)}` : ''}` : 'the beginning';
  const compareTo = $('#compare').value === '' ? null : Number($('#compare').value);
  const [state, other] = await Promise.all([stateAt(seq), compareTo === null ? null : stateAt(Math.min(compareTo, events.at(-1)?.seq ?? 0))]);
  if (mine !== token) return;
  renderer.render(state, ui);
  showDiff(state, other, compareTo);
  for (const row of document.querySelectorAll('#timeline li')) {
    const rowSeq = Number(row.dataset.seq);
    row.classList.toggle('current', rowSeq === seq);
    row.classList.toggle('future', rowSeq > seq);
  }
  document.querySelector('#timeline li.current')?.scrollIntoView({ block: 'nearest' });
  document.body.dataset.seq = String(seq);
}

// What changed from the compared point to the shown one: added, removed and changed shapes.
function showDiff(state, other, compareTo) {
  for (const entry of renderer.shapeEls.values()) entry.g.classList.remove('diff-added', 'diff-changed');
  const ghosts = renderer.overlayLayer.querySelectorAll('.ghost');
  ghosts.forEach((g) => g.remove());
  if (!other) {
    $('#diff-title').textContent = '';
    clear($('#diff'), h('li', { class: 'muted' }, 'Give a seq to compare with to see what changed.'));
    return;
  }
  const added = [...state.shapes.values()].filter((s) => !other.shapes.has(s.id));
  const removed = [...other.shapes.values()].filter((s) => !state.shapes.has(s.id));
  const changed = [...state.shapes.values()].filter((s) => other.shapes.has(s.id) && JSON.stringify(other.shapes.get(s.id)) !== JSON.stringify(s));
  for (const s of added) renderer.shapeEls.get(s.id)?.g.classList.add('diff-added');
  for (const s of changed) renderer.shapeEls.get(s.id)?.g.classList.add('diff-changed');
  for (const s of removed) {
    const g = document.createElementNS('http://www.w3.org/2000/svg', 'g');
    g.setAttribute('class', 'ghost');
    const polygon = document.createElementNS('http://www.w3.org/2000/svg', 'polygon');
    polygon.setAttribute('points', s.points.map((p) => p.join(',')).join(' '));
    g.append(polygon);
    renderer.overlayLayer.append(g);
  }
  $('#diff-title').textContent = `since seq ${compareTo}`;
  const line = (cls, word, list) => list.map((s) => h('li', { class: cls, dataset: { shapeId: s.id } }, `${word}: ${labelName(s.label_class_id)} (${s.points.length} vertices)`));
  const rows = [...line('added', 'added', added), ...line('changed', 'changed', changed), ...line('removed', 'removed', removed)];
  clear($('#diff'), rows.length ? rows : h('li', { class: 'muted' }, 'No shape changed.'));
}

function buildTimeline() {
  clear(
    $('#timeline'),
    visibleEvents().map((event) =>
      h(
        'li',
        { dataset: { seq: event.seq, type: event.type }, onclick: () => show(event.seq) },
        h('span', { class: 'seq' }, `#${event.seq}`),
        h('span', {}, h('b', {}, event.actor_name), ' ', (DESCRIBE[event.type] ?? (() => event.type))(event.payload)),
        h('span', { class: 'when' }, formatTime(event.created_at)),
      ),
    ),
  );
}

// Stepping moves between the events shown (one person's, when filtered).
function step(direction) {
  const list = visibleEvents().map((e) => e.seq);
  const target = direction > 0 ? list.find((s) => s > seq) : [...list].reverse().find((s) => s < seq);
  show(target ?? (direction > 0 ? seq : 0));
}

$('#scrub').addEventListener('input', (e) => show(Number(e.target.value)));
$('#step-back').addEventListener('click', () => step(-1));
$('#step-forward').addEventListener('click', () => step(1));
$('#first').addEventListener('click', () => show(0));
$('#last').addEventListener('click', () => show(events.at(-1)?.seq ?? 0));
$('#person').addEventListener('change', () => {
  buildTimeline();
  show(seq);
});
$('#compare').addEventListener('change', () => show(seq));
document.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement && e.target.type !== 'range') return;
  const keys = { ArrowLeft: () => step(-1), ArrowRight: () => step(1), Home: () => show(0), End: () => show(events.at(-1)?.seq ?? 0) };
  if (keys[e.key]) {
    e.preventDefault();
    keys[e.key]();
  }
});
$('#canvas').addEventListener('wheel', (e) => {
  e.preventDefault();
  renderer.zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX, e.clientY);
}, { passive: false });
renderer.onViewChange = (r) => ($('#zoom-level').textContent = `${Math.round(r.scale * 100)}%`);

async function start() {
  renderer.fit();
  events = await loadEvents();
  const people = new Map(events.map((e) => [e.actor, e.actor_name]));
  $('#person').append(...[...people].map(([id, name]) => h('option', { value: id }, name)));
  $('#scrub').max = String(events.at(-1)?.seq ?? 0);
  buildTimeline();
  await show(events.at(-1)?.seq ?? 0);
  document.body.dataset.ready = 'true';
}
start();
