// Replay (auditors): an item's events as a timeline (timeline/ with a summary per event, a draft's vertex
// steps folded into one row); scrub, step or play to any seq and see the shapes as they were
// (state/?at_seq=), with what changed since the point shown before highlighted (diff/), and who drew each
// shape on hover. Filter by person; compare with any seq. Read-only: this page only ever sends GET requests.

import { boot, get } from './api.js';
import { $, clear, formatTime, h } from './ui.js';
import { Renderer } from './label/render.js';

const SVG = 'http://www.w3.org/2000/svg';
const PLAY_INTERVAL = 500; // ms per event: 2 events a second
// The events that end a draft's run of steps (docs/audit.md, "Grouping a draft's steps").
const RUN_ENDS = new Set(['polygon_closed', 'draft_discarded']);

const { item, job, user: me } = boot();
const labels = new Map(job.label_classes.map((label) => [label.id, label]));
const renderer = new Renderer($('#canvas'), { width: item.image.width, height: item.image.height, imageUrl: item.image.url, preview: item.image.preview });
const ui = { selectedId: null, hidden: new Set(), overlay: {}, labels, me };
const cache = { states: new Map(), diffs: new Map() };
const names = new Map(); // user id -> username, from the timeline
let events = [];
let lastSeq = 0;
let seq = null; // the seq shown
let from = null; // the seq the highlighted changes are counted from
let token = 0;
let timer = null;
let shownState = null; // the state drawn, so hovering a shape can draw its handles
const expandedRuns = new Set(); // the runs shown open, by the seq of their first step

const labelName = (id) => labels.get(id)?.name ?? `label ${id}`;
const personName = (id) => names.get(id) ?? `user ${id}`;

async function loadEvents() {
  const out = [];
  for (let page = 1; ; page += 1) {
    const answer = await get(`/api/items/${item.id}/timeline/?page=${page}&page_size=500`);
    out.push(...answer.results);
    lastSeq = answer.last_seq;
    if (!answer.next) return out;
  }
}

async function stateAt(n) {
  if (!cache.states.has(n)) {
    cache.states.set(n, get(`/api/items/${item.id}/state/?at_seq=${n}`).then((view) => ({
      seq: view.seq,
      shapes: new Map(view.shapes.map((s) => [s.id, s])),
      drafts: new Map(view.drafts.map((d) => [d.id, d])),
    })));
  }
  return cache.states.get(n);
}

async function diff(a, b) {
  const key = `${a}:${b}`;
  if (!cache.diffs.has(key)) cache.diffs.set(key, get(`/api/items/${item.id}/diff/?from_seq=${a}&to_seq=${b}`));
  return cache.diffs.get(key);
}

// Who drew each shape at seq n. The state view has no actor per shape; the diff from the empty image
// (seq 0) lists every closed shape at n as added, with its actor.
async function drawersAt(n) {
  const answer = await diff(0, n);
  return new Map(answer.added.map((s) => [s.id, s.actor]));
}

const person = () => $('#person').value;
const visibleEvents = () => (person() ? events.filter((e) => String(e.actor) === person()) : events);

async function show(n, { keepFrom = false } = {}) {
  n = Math.max(0, Math.min(Number(n) || 0, lastSeq));
  if (!keepFrom && n !== seq) from = seq ?? Math.max(0, n - 1);
  seq = n;
  const mine = ++token;
  $('#scrub').value = String(seq);
  const event = events.find((e) => e.seq === seq);
  $('#position').textContent = seq ? `seq ${seq} of ${lastSeq}${event ? ` · ${event.actor_name}, ${formatTime(event.created_at)}` : ''}` : `the beginning (0 of ${lastSeq})`;
  const compare = $('#compare').value === '' ? null : Math.min(Math.max(0, Number($('#compare').value)), lastSeq);
  const base = compare ?? from;
  const [state, drawers, changes] = await Promise.all([stateAt(seq), drawersAt(seq), diff(base, seq)]);
  if (mine !== token) return;
  shownState = state;
  renderer.render(state, ui);
  for (const [id, entry] of renderer.shapeEls) {
    const shape = state.shapes.get(id);
    const actor = drawers.get(id);
    entry.g.dataset.actor = actor ?? '';
    entry.g.dataset.actorName = actor === undefined ? '' : personName(actor);
    let title = entry.g.querySelector(':scope > title');
    if (!title) title = entry.g.insertBefore(document.createElementNS(SVG, 'title'), entry.g.firstChild);
    title.textContent = `${labelName(shape.label_class_id)}, drawn by ${actor === undefined ? 'unknown' : personName(actor)}`;
  }
  showChanges(changes, compare !== null);
  // The row holding the seq shown is current: a run's row while any of its steps (or its end) is shown.
  for (const row of document.querySelectorAll('#timeline li')) {
    const seqs = (row.dataset.seqs ?? row.dataset.seq).split(' ').map(Number);
    row.classList.toggle('current', seqs.includes(seq));
    row.classList.toggle('future', seqs[0] > seq);
    row.setAttribute('aria-current', seqs.includes(seq) ? 'step' : 'false');
  }
  const shown = [...document.querySelectorAll('#timeline li.current')].filter((row) => row.offsetParent !== null);
  shown.at(-1)?.scrollIntoView({ block: 'nearest' });
  document.body.dataset.diffFrom = String(changes.from_seq);
  document.body.dataset.seq = String(seq);
}

function changeText(c) {
  const parts = [];
  if (c.moved_by) parts.push(`moved by (${c.moved_by.map((v) => Math.round(v * 100) / 100).join(', ')})`);
  else if (c.changes.includes('points')) parts.push(`${c.moved_vertices?.length ?? 'its'} vertices changed`);
  if (c.changes.includes('label_class_id')) parts.push(`relabeled ${labelName(c.before.label_class_id)} → ${labelName(c.after.label_class_id)}`);
  if (c.changes.includes('group_id')) parts.push(c.after.group_id ? `grouped as ${c.after.group_id}` : 'ungrouped');
  return parts.join(', ');
}

// What changed from the point the diff starts at to the one shown: added shapes outlined green, changed
// ones orange, removed ones as dashed red ghosts.
function showChanges(changes, compared) {
  for (const entry of renderer.shapeEls.values()) entry.g.classList.remove('diff-added', 'diff-changed');
  renderer.overlayLayer.querySelectorAll('.ghost').forEach((g) => g.remove());
  for (const s of changes.added) renderer.shapeEls.get(s.id)?.g.classList.add('diff-added');
  for (const c of changes.changed) renderer.shapeEls.get(c.id)?.g.classList.add('diff-changed');
  for (const s of changes.removed) {
    const g = document.createElementNS(SVG, 'g');
    g.setAttribute('class', 'ghost');
    g.dataset.shapeId = s.id;
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `${labelName(s.label_class_id)} (removed), drawn by ${personName(s.actor)}`;
    const polygon = document.createElementNS(SVG, 'polygon');
    polygon.setAttribute('points', s.points.map((p) => p.join(',')).join(' '));
    g.append(title, polygon);
    renderer.overlayLayer.append(g);
  }
  const same = changes.from_seq === changes.to_seq;
  const count = changes.added.length + changes.changed.length + changes.removed.length;
  $('#diff-title').textContent = same ? '' : `${compared ? 'since' : 'from'} seq ${changes.from_seq} · ${count} ${count === 1 ? 'shape' : 'shapes'}`;
  const row = (cls, s, text) => {
    const shape = s.after ?? s;
    return h('li', { class: cls, dataset: { shapeId: s.id } }, `${cls}: ${labelName(shape.label_class_id)} #${shape.number} by ${personName(shape.actor)}`, text ? ` (${text})` : '');
  };
  const rows = [
    ...changes.added.map((s) => row('added', s, `${s.points.length} vertices`)),
    ...changes.changed.map((c) => row('changed', c, changeText(c))),
    ...changes.removed.map((s) => row('removed', s, `${s.points.length} vertices`)),
  ];
  clear($('#diff'), rows.length ? rows : h('li', { class: 'muted' }, same ? 'Step or scrub to see what changed.' : 'No shape changed.'));
}

// The rows of the list: a draft's run of steps (its `draft_step` events, by shape number) is one row at the
// polygon_closed or draft_discarded that ends it, or at its last step while the polygon is open; every
// other event, others' events in the middle of a run included, is a row of its own.
function timelineRows(list) {
  const rows = [];
  const open = new Map(); // shape number -> the run being drawn
  for (const event of list) {
    const number = event.shape_number ?? null;
    if (event.draft_step && number !== null) {
      if (!open.has(number)) {
        const run = { number, steps: [], end: null };
        open.set(number, run);
        rows.push(run);
      }
      open.get(number).steps.push(event);
    } else if (RUN_ENDS.has(event.type) && open.has(number)) {
      open.get(number).end = event;
      open.delete(number);
    } else {
      rows.push({ event });
    }
  }
  const rowSeq = (row) => (row.event ?? row.end ?? row.steps.at(-1)).seq;
  return rows.sort((a, b) => rowSeq(a) - rowSeq(b));
}

// "drew cat #3 (5 vertices)": the summary without the actor's name, which the row shows in bold.
const what = (event) => (event.summary.startsWith(`${event.actor_name} `) ? event.summary.slice(event.actor_name.length + 1) : event.summary);
const when = (event) => h('time', { datetime: event.created_at }, formatTime(event.created_at));

// A step inside a run's row says only what it did and when (to the second): the run's row names who.
const clock = (iso) => new Date(iso).toLocaleTimeString(undefined, { timeStyle: 'medium' });

function eventRow(event, { step = false } = {}) {
  return h(
    'li',
    { class: step ? 'step' : null, dataset: { seq: event.seq, type: event.type, actor: event.actor }, onclick: (e) => { e.stopPropagation(); pause(); show(event.seq); } },
    h('span', { class: 'seq', title: `seq ${event.seq}` }, String(event.seq)),
    h('span', { class: 'replay-what' }, step ? null : [h('b', { class: 'replay-who' }, event.actor_name), ' '], what(event)),
    h('span', { class: 'when' }, step ? h('time', { datetime: event.created_at, title: formatTime(event.created_at) }, clock(event.created_at)) : when(event)),
  );
}

function runRow(run) {
  const first = run.steps[0];
  const last = run.end ?? run.steps.at(-1);
  const key = String(first.seq);
  const open = expandedRuns.has(key);
  const count = `${run.steps.length} ${run.steps.length === 1 ? 'step' : 'steps'}`;
  const steps = h('ol', { class: 'run-steps', id: `run-${key}`, hidden: !open }, run.steps.map((event) => eventRow(event, { step: true })));
  const toggle = h(
    'button',
    {
      type: 'button',
      class: 'run-toggle',
      'aria-expanded': String(open),
      'aria-controls': steps.id,
      title: `Show or hide the ${count} of drawing polygon #${run.number}`,
      onclick: (e) => { e.stopPropagation(); setRunOpen(e.currentTarget, !expandedRuns.has(key)); },
    },
    count,
  );
  const text = run.end ? what(run.end) : `drew polygon #${run.number}, not closed`;
  const seqs = [...run.steps, ...(run.end ? [run.end] : [])].map((e) => e.seq);
  return h(
    'li',
    {
      class: open ? 'run expanded' : 'run',
      dataset: { seq: last.seq, seqs: seqs.join(' '), type: run.end?.type ?? 'draft', actor: first.actor, shapeNumber: run.number, run: key },
      onclick: () => { pause(); show(last.seq); },
    },
    // A zero-width space lets a long range ("1205–1231") wrap after its dash inside the seq column.
    h('span', { class: 'seq', title: `seq ${first.seq} to ${last.seq}` }, `${first.seq}–\u200b${last.seq}`),
    h('span', { class: 'replay-what' }, h('b', { class: 'replay-who' }, first.actor_name), ' ', text),
    h('span', { class: 'when' }, when(last), toggle),
    steps,
  );
}

function setRunOpen(toggle, open) {
  const row = toggle.closest('li.run');
  if (open) expandedRuns.add(row.dataset.run);
  else expandedRuns.delete(row.dataset.run);
  toggle.setAttribute('aria-expanded', String(open));
  row.querySelector(':scope > .run-steps').hidden = !open;
  row.classList.toggle('expanded', open);
}

function buildTimeline() {
  const list = visibleEvents();
  $('#event-count').textContent = person() ? `${list.length} of ${events.length}` : String(events.length);
  clear($('#timeline'), timelineRows(list).map((row) => (row.event ? eventRow(row.event) : runRow(row))));
  if (seq !== null) show(seq, { keepFrom: true });
}

// Stepping (and playing) moves between the events listed (one person's, when filtered).
function nextSeq(direction) {
  const list = visibleEvents().map((e) => e.seq);
  if (direction > 0) return list.find((s) => s > seq) ?? null;
  return [...list].reverse().find((s) => s < seq) ?? 0;
}

function step(direction) {
  const target = nextSeq(direction);
  if (target !== null && target !== seq) show(target);
}

function play() {
  if (timer) return;
  if (nextSeq(1) === null) show(0); // at the end: play from the beginning
  timer = setInterval(() => {
    const target = nextSeq(1);
    if (target === null) return pause();
    show(target);
  }, PLAY_INTERVAL);
  setPlaying(true);
}

function pause() {
  if (!timer) return;
  clearInterval(timer);
  timer = null;
  setPlaying(false);
}

function setPlaying(on) {
  const button = $('#play');
  button.textContent = on ? '‖ Pause' : '▷ Play';
  button.setAttribute('aria-label', on ? 'Pause' : 'Play');
  button.setAttribute('aria-pressed', String(on));
  document.body.dataset.playing = String(on);
}

$('#scrub').addEventListener('input', (e) => { pause(); show(Number(e.target.value)); });
$('#step-back').addEventListener('click', () => { pause(); step(-1); });
$('#step-forward').addEventListener('click', () => { pause(); step(1); });
$('#play').addEventListener('click', () => (timer ? pause() : play()));
$('#first').addEventListener('click', () => { pause(); show(0); });
$('#last').addEventListener('click', () => { pause(); show(lastSeq); });
$('#person').addEventListener('change', buildTimeline);
$('#compare').addEventListener('change', () => show(seq, { keepFrom: true }));
document.addEventListener('keydown', (e) => {
  const t = e.target;
  if ((t instanceof HTMLInputElement && t.type !== 'range') || t instanceof HTMLTextAreaElement) return;
  if (t instanceof HTMLSelectElement && e.key !== ' ') return;
  if (t instanceof HTMLButtonElement && t.classList.contains('run-toggle') && e.key === ' ') return; // opens the run
  const keys = {
    ArrowLeft: () => { pause(); step(-1); },
    ArrowRight: () => { pause(); step(1); },
    ' ': () => (timer ? pause() : play()),
    Home: () => { pause(); show(0); },
    End: () => { pause(); show(lastSeq); },
  };
  if (keys[e.key] && !e.ctrlKey && !e.metaKey && !e.altKey) {
    e.preventDefault();
    if (e.key === ' ' && t instanceof HTMLButtonElement) t.blur(); // so its keyup does not click it too
    keys[e.key]();
  }
});

// Who drew a shape, in a tooltip that follows the pointer (the SVG <title> says it too).
const tip = $('#replay-tip');
// The shape under the pointer is drawn with its vertex handles, as on the labeling page: where an auditor
// looks, every vertex shows.
function hover(shapeId) {
  if (shapeId === ui.hoverId) return;
  ui.hoverId = shapeId;
  if (shownState) renderer.render(shownState, ui);
}

$('#canvas').addEventListener('pointermove', (e) => {
  const g = e.target.closest?.('.shape, .ghost');
  hover(g?.classList.contains('shape') ? g.dataset.shapeId : null);
  if (!g) {
    tip.hidden = true;
    return;
  }
  tip.textContent = g.querySelector(':scope > title')?.textContent ?? '';
  const stage = $('#stage').getBoundingClientRect();
  tip.style.left = `${e.clientX - stage.left + 14}px`;
  tip.style.top = `${e.clientY - stage.top + 14}px`;
  tip.hidden = false;
});
$('#canvas').addEventListener('pointerleave', () => {
  tip.hidden = true;
  hover(null);
});
$('#canvas').addEventListener('wheel', (e) => {
  e.preventDefault();
  renderer.zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX, e.clientY);
}, { passive: false });
renderer.onViewChange = (r) => ($('#zoom-level').textContent = `${Math.round(r.scale * 100)}%`);

async function start() {
  renderer.fit();
  events = await loadEvents();
  for (const e of events) names.set(e.actor, e.actor_name);
  $('#person').append(...[...names].map(([id, name]) => h('option', { value: id }, name)));
  $('#scrub').max = String(lastSeq);
  buildTimeline();
  // ?seq=N opens the replay at that event (the quality page's links to the events behind a figure).
  const asked = new URLSearchParams(window.location.search).get('seq');
  await show(asked !== null && /^\d+$/.test(asked) ? Number(asked) : lastSeq);
  document.body.dataset.ready = 'true';
}
start();
