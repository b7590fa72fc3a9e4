// The labeling page: boots the store, the socket, the renderer and the modes, and wires the toolbar, the
// keyboard, the label picker, the messages (refusals and others' changes, in one notification area),
// presence, the File Labels panel, the image strip and leaving.

import { ApiError, boot, get, post } from '../api.js';
import { ask, h, newId, typing } from '../ui.js';
import { ASSIST_TOOLS, MODES, PICK_PX, SNAP_TO_PX } from './constants.js';
import { clampMove, clampToImage, round2, towardZero2 } from './geometry.js';
import { LabelBar } from './labelbar.js';
import drawFreehand from './modes/draw_freehand.js';
import drawPolygon from './modes/draw_polygon.js';
import drawRectangle from './modes/draw_rectangle.js';
import edit from './modes/edit.js';
import split from './modes/split.js';
import scissors from './modes/scissors.js';
import boxAssist from './modes/box_assist.js';
import wand from './modes/wand.js';
import model from './modes/model.js';
import { AssistLayer } from './proposal.js';
import { AssistOptions } from './assist_options.js';
import issueMode, { ISSUE_MODE } from './modes/issue.js';
import { Clipboard } from './clipboard.js';
import { causeText, commandInvolvement, involvementText, People, refusalText, ShapeMemory, shapeFacts, shapeName, withNames } from './messages.js';
import { Notices } from './notices.js';
import { Pieces } from './pieces.js';
import { Minimap } from './minimap.js';
import { AttributeEditor } from './attributes.js';
import { loadStrip, Panel } from './panel.js';
import { pick } from './pick.js';
import { personColor, Renderer } from './render.js';
import { snapTarget, traceAlong } from './snap.js';
import { ItemSocket } from './socket.js';
import { ItemStore } from './store.js';
import { Issues, issuesOf } from './issues.js';
import { ReviewBar, reviewEventText, reviewOf, reviewRights } from './review.js';
import { actionFor, SHORTCUTS, whereOf } from './shortcuts.js';
import { bboxOf, besidePlacement, ViewControls } from './view_controls.js';

const MODE_TABLE = { [MODES.DRAW_POLYGON]: drawPolygon, [MODES.DRAW_RECTANGLE]: drawRectangle, [MODES.DRAW_FREEHAND]: drawFreehand, [MODES.EDIT]: edit, [MODES.SPLIT]: split, [ISSUE_MODE]: issueMode };
// The assisted tools this server offers (apps.assist.available_tools, in the boot data): the model tool
// only when a model server is configured (docs/ui.md, "Assisted outlines").
const ASSIST_MODES = { [MODES.SCISSORS]: scissors, [MODES.BOX_ASSIST]: boxAssist, [MODES.WAND]: wand, [MODES.MODEL]: model };
for (const [name, assistMode] of Object.entries(ASSIST_MODES)) if ((boot().assist_tools ?? []).includes(ASSIST_TOOLS[name])) MODE_TABLE[name] = assistMode;
const TOOL_KEY = 'polylog.tool';
// How long a refusal about a shape that is gone waits for the event saying who removed it (the refusal
// and that event come on different channels, either may be first) before it is shown without a name.
const HOLD_REFUSAL_MS = 1500;

const { job, item, user: me, clamp_tolerance_px: clampTolerancePx = 16 } = boot();
const canLabel = job.role === 'manager' || job.role === 'annotator';
const isManager = job.role === 'manager';
// Review (issue 24, review.js): reviewers and managers accept or reject; everyone but auditors talks in
// issues. A reviewer's page is read only for shapes, with these tools on.
const rights = reviewRights(job.role);
const labels = new Map(job.label_classes.map((label) => [label.id, label]));
const stage = document.getElementById('stage');
const svg = document.getElementById('canvas');
const app = document.getElementById('label-app');

// picked: the shapes selected together (Shift+click), for grouping; selectedId is the one being edited;
// selectedVertex ({shapeId, index}) one vertex of it, when one is selected (Delete removes it then).
const ui = { selectedId: null, selectedVertex: null, picked: new Set(), hidden: new Set(), overlay: {}, labels, me };
const store = new ItemStore({ itemId: item.id, me });
const renderer = new Renderer(svg, { width: item.image.width, height: item.image.height, imageUrl: item.image.url, preview: item.image.preview });
// What I see (docs/ui.md, "What you see"): hiding, locks, labels on the image, image sliders; never sent.
const viewControls = new ViewControls({ job, item, labels, renderer, ui, view: () => store.view(), select, redrawPanel, refuse });
const minimap = new Minimap(stage, renderer, { url: item.image.thumbnail_url || item.image.url, width: item.image.width, height: item.image.height });
// command_id -> {command, at (the image point where it happened), shape (what a message needs of the
// shape it names, as it was when sent)}: its refusal is worded from it.
const sent = new Map();
const waiters = new Map(); // command_id -> {resolve, reject}
const notices = new Notices(document.getElementById('notices'));
const people = new People({ itemId: item.id, me, get });
const memory = new ShapeMemory();
const held = new Map(); // shape id -> a refusal about it waiting for the event that removed it
let dragging = null; // {shapeId, kind: 'shape'|'vertex'} while the edit tool drags
let mode = null;
let modeState = null;
let baseHint = ''; // the tool's hint; two or more picked shapes add what M, Shift+M and G would do
let pickerOpen = false;
let neighbours = { next: null, previous: null };
// The assisted tools' overlay (proposal, anchors, prompts) and sliders; the askers waiting for an answer.
const assistLayer = new AssistLayer(renderer.overlayLayer);
const assistOptions = new AssistOptions(document.getElementById('assist-options'), () => {
  mode?.onOptionsChange?.(modeState, ctx);
  redraw();
});
const assistWaiting = new Set();

// Commands ----------------------------------------------------------------------------------------------

function send(command, { at = null } = {}) {
  if (deleted()) {
    refuse('item_deleted', DELETED_REFUSAL, at);
    return null;
  }
  if (!canLabel) {
    refuse('permission_denied', `Your role (${job.role}) may look but not label.`, at);
    return null;
  }
  const locked = viewControls.lockedTarget(command);
  if (locked) {
    viewControls.refuseLocked(locked, at);
    return null;
  }
  const commandId = newId();
  sent.set(commandId, { command, at, shape: factsOf(command.shape_id) });
  store.expect(commandId, command);
  socket.command(commandId, command);
  return commandId;
}

// A review or issue command (review.js, issues.js): never a shape change, so neither the role's right to
// label nor a lock stops it here; the server decides by role. Resolves with the seq, rejects with the
// refusal (shown as any other).
function sendReview(command) {
  return new Promise((resolve, reject) => {
    if (deleted()) {
      refuse('item_deleted', DELETED_REFUSAL, null);
      reject(new ApiError(422, 'item_deleted', DELETED_REFUSAL));
      return;
    }
    const commandId = newId();
    sent.set(commandId, { command, at: null, shape: factsOf(command.shape_id) });
    waiters.set(commandId, { resolve, reject });
    store.expect(commandId, command);
    socket.command(commandId, command);
  });
}

// Send and wait for the server's answer: resolves with the seq, rejects with the refusal.
function sendAndWait(command, options) {
  return new Promise((resolve, reject) => {
    const commandId = send(command, options);
    if (!commandId) reject(new ApiError(403, 'permission_denied', 'Your role may not label.'));
    else waiters.set(commandId, { resolve, reject });
  });
}

const socket = new ItemSocket(item.id, {
  sinceSeq: () => store.state.seq,
  onEvent: (event) => store.receive(event),
  onCaughtUp: () => (document.body.dataset.live = 'true'),
  onAck(commandId, seq) {
    store.acked(commandId, seq);
    sent.delete(commandId);
    waiters.get(commandId)?.resolve(seq);
    waiters.delete(commandId);
  },
  onRejected(commandId, code, message) {
    store.refused(commandId);
    if (code === 'item_deleted') lostToDeletion(sent.get(commandId));
    else explainRefusal(sent.get(commandId), code, message);
    sent.delete(commandId);
    waiters.get(commandId)?.reject(new ApiError(422, code, message));
    waiters.delete(commandId);
  },
  onPresence(frame) {
    people.remember([frame.user, ...frame.users]);
    if (frame.event === 'leave' && !frame.users.some((u) => u.id === frame.user.id)) renderer.setCursor(frame.user, null);
    showPresence(frame.users);
  },
  onCursor: (frame) => renderer.setCursor(frame.user, frame.x, frame.y),
  onItemDeleted: (frame) => stopForDeletion(frame),
  onLabelClasses(classes) {
    // A manager changed the job's label classes (here or elsewhere): every shape and the panel follow.
    labels.clear();
    for (const label of classes) labels.set(label.id, label);
    job.label_classes = classes;
    onLabelsChanged();
  },
  onError: (frame) => refuse(frame.code, frame.message, null),
  onStatus(status, text) {
    const conn = document.getElementById('conn');
    conn.className = `conn ${status === 'on' ? 'on' : 'off'}`;
    conn.textContent = text;
    if (status === 'off' || status === 'closed') document.body.dataset.live = 'false';
  },
});
store.onGap = (seq) => socket.hello(seq);

// The image deleted from its job (docs/ui.md, "An image deleted while open") -------------------------------
// A manager deleted this image while it was open here (the socket's item_deleted, also sent after the
// catch-up to a page that opens or reconnects to a deleted image). The page says who and when, in a banner
// that stays, and sends nothing more. What is honest to say follows from how deletion works: the item
// leaves the job's lists, counts and exports; its stored events stay (replay, audit); there is no undelete.
// A command of mine on its way was either stored before the deletion (its ack comes) or is refused
// item_deleted: those are taken back from the picture and counted in the banner, as not kept.
const DELETED_REFUSAL = 'This image was deleted from the job: nothing more can be drawn or changed on it.';
const DELETED_TITLE = 'This image was deleted from the job';
let deletion = null; // the item_deleted frame, once heard
let lost = 0; // my changes refused because the image was deleted

const deleted = () => deletion !== null || item.deleted;

function stopForDeletion(frame) {
  const first = deletion === null;
  deletion = frame;
  if (first) {
    disableEditing(DELETED_TITLE);
    setMode(MODES.EDIT); // only looking is left; the tool chosen stays remembered for the next image
    document.body.dataset.deleted = 'true';
  }
  showDeletion();
}

function lostToDeletion(entry) {
  const type = entry?.command?.type;
  if (type !== 'save' && type !== 'discard_changes') lost += 1;
  if (deletion) showDeletion();
  else notices.show({ text: DELETED_REFUSAL, code: 'item_deleted', key: 'item_deleted' });
}

function showDeletion() {
  const banner = document.getElementById('deleted-banner');
  const by = deletion.by?.id === me.id ? 'you' : deletion.by?.username ?? 'a manager';
  const when = new Date(deletion.deleted_at);
  const at = Number.isNaN(when.getTime()) ? '' : ` at ${when.toLocaleTimeString()}${when.toDateString() === new Date().toDateString() ? '' : ` on ${when.toLocaleDateString()}`}`;
  const paragraphs = [
    `This image was deleted from the job by ${by}${at}. Nothing more can be drawn or changed here.`,
    'What was stored before the deletion stays in its history (Replay shows it), but the image is no longer in the job\'s lists, counts or exports.',
  ];
  if (lost) paragraphs.push(`${lost} change${lost === 1 ? '' : 's'} of yours had not reached the server before the deletion: ${lost === 1 ? 'it was' : 'they were'} not kept and ${lost === 1 ? 'is' : 'are'} taken back from the image.`);
  banner.replaceChildren(...paragraphs.map((text) => h('p', {}, text)));
  banner.dataset.by = deletion.by?.username ?? '';
  banner.dataset.lost = String(lost);
  banner.hidden = false;
}
store.onApplied = (event, before, after) => onApplied(event, before, after);

// Messages: refusals and others' changes, in words, in one notification area (docs/ui.md) ---------------

const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);

// What a message needs of a shape or draft the page holds now (null: none with that id).
function factsOf(shapeId) {
  if (!shapeId) return null;
  const view = store.view();
  if (view.shapes.has(shapeId)) return shapeFacts(view.shapes.get(shapeId));
  if (view.drafts.has(shapeId)) return shapeFacts(view.drafts.get(shapeId), { draft: true });
  return null;
}

// A shape id in a server message, by name: held now, or remembered from a command or a cause.
function nameOfId(shapeId) {
  let facts = factsOf(shapeId) ?? memory.latest(shapeId)?.shape;
  for (const entry of sent.values()) if (!facts && entry.command.shape_id === shapeId) facts = entry.shape;
  return shapeName(facts, labels);
}

// A refusal the page makes itself (or a socket error): its message is already a sentence; a small mark
// shows where it happened.
function refuse(code, message, at) {
  notices.show({ text: withNames(message, nameOfId), code, kind: 'refusal' });
  if (at) renderer.mark(at);
}

// The server refused a command of ours: say it in words, naming the shape, and the person when someone
// else removed it.
async function explainRefusal(entry, code, message) {
  const command = entry?.command ?? null;
  const shapeId = command?.shape_id ?? null;
  if (entry?.at) renderer.mark(entry.at);
  if (code === 'unknown_shape' && shapeId) {
    const cause = memory.latest(shapeId);
    if (cause?.removed) return showCause(cause, commandInvolvement(command), code);
    // Who removed it comes as an event on another channel, maybe after this refusal: wait for it a little.
    // Past that, it is shown without a name, and the event, if it comes, puts the name in the same message.
    clearTimeout(held.get(shapeId)?.timer);
    const waiting = { entry, code, key: `gone:${shapeId}`, timer: 0 };
    waiting.timer = setTimeout(() => {
      waiting.timer = 0;
      const gone = entry.shape ? `${capital(shapeName(entry.shape, labels))} is no longer on the image` : 'That shape is no longer on the image';
      notices.show({ text: `${gone}: someone removed it.`, code, key: waiting.key });
    }, HOLD_REFUSAL_MS);
    held.set(shapeId, waiting);
    return;
  }
  let drafter = null;
  if (code === 'not_your_draft' && entry?.shape?.actor) drafter = await people.name(entry.shape.actor, null);
  const text = refusalText({ code, message, command, shape: entry?.shape ?? null, labels, drafter, name: nameOfId });
  notices.show({ text: text ?? withNames(message, nameOfId), code });
}

// "ann1 deleted chair #3 while you were moving it": one message per cause (its key), whether a refusal
// or the event itself told of it first; with a code it is the refusal's.
async function showCause(cause, involvement, code = null, key = cause.key) {
  const who = cause.actor === me.id ? 'You' : await people.name(cause.actor, cause.seq);
  const text = `${causeText(cause, who, labels)}${involvementText(involvement, cause.removed)}.`;
  notices.show({ text, code, key, kind: code ? 'refusal' : 'notice' });
}

// What I am doing to a shape now, if anything: dragging it, a command of mine on its way, or selected.
function involvementNow(shapeId) {
  if (dragging?.shapeId === shapeId) return dragging.kind === 'shape' ? 'moving' : 'editing';
  for (const { command } of store.pending.values()) {
    const involvement = command.shape_id === shapeId && commandInvolvement(command);
    if (involvement) return involvement;
  }
  if (ui.selectedId === shapeId || ui.picked.has(shapeId)) return 'selected';
  return null;
}

// Every event the store applies: remember what it did to each shape; a refusal waiting for it is told
// now; another person's change to a shape I am editing is told even without a refusal.
function onApplied(event, before, after) {
  for (const cause of memory.note(event, before, after)) {
    const waiting = cause.removed && held.get(cause.shapeId);
    if (waiting) {
      held.delete(cause.shapeId);
      // Still waiting: the refusal is shown now, with the name; already shown: it gets the name in place.
      const key = waiting.timer ? cause.key : waiting.key;
      clearTimeout(waiting.timer);
      showCause(cause, commandInvolvement(waiting.entry.command), waiting.code, key);
      continue; // the refusal is this cause's one message
    }
    if (cause.actor === me.id) continue;
    const involvement = involvementNow(cause.shapeId);
    if (involvement) showCause(cause, involvement);
  }
  if (event.actor === me.id && event.payload?.skipped_shape_ids?.length) tellSkipped(event, after);
  if (event.actor !== me.id) tellReview(event, after);
}

// Someone else's review decision or issue, as it happens: said in the notification area (the bar, the
// pins and the thread show it too, but a rejection or a new issue is news to the person labeling).
async function tellReview(event, after) {
  const naming = {
    numberOf: (issueId) => issuesOf(after).find((issue) => issue.id === issueId)?.number ?? null,
    shapeName: (shapeId) => shapeName(shapeFacts(after.shapes.get(shapeId)) ?? memory.latest(shapeId)?.shape, labels),
  };
  if (!reviewEventText(event, '', naming)) return;
  const who = await people.name(event.actor, event.seq);
  notices.show({ text: reviewEventText(event, who, naming), key: `review:${event.seq}` });
}

// My undo, redo or discard left shapes alone that someone else changed since: say which, and who.
async function tellSkipped(event, after) {
  const what = { undone: 'Your undo', redone: 'Your redo', changes_discarded: 'Discarding your changes' }[event.type];
  if (!what) return;
  const ids = event.payload.skipped_shape_ids;
  const names = ids.map((id) => shapeName(shapeFacts(after.shapes.get(id)) ?? memory.latest(id)?.shape, labels));
  const others = ids.map((id) => memory.latest(id)).filter((cause) => cause && cause.actor !== me.id);
  const who = [...new Set(await Promise.all(others.map((cause) => people.name(cause.actor, cause.seq))))];
  const list = names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ').replace(/, ([^,]*)$/, ' and $1');
  const one = ids.length === 1;
  const by = who.length ? `${who.join(' and ')} changed ${one ? 'it' : 'them'} since` : `${one ? 'it was' : 'they were'} changed by someone else since`;
  notices.show({ text: `${what} left ${list} as ${one ? 'it is' : 'they are'}: ${by}.`, key: `skipped:${event.seq}` });
}

// Drawing --------------------------------------------------------------------------------------------------

let frame = 0;
let panelDirty = true;

function redraw() {
  if (!frame) frame = requestAnimationFrame(draw);
}

function redrawPanel() {
  panelDirty = true;
  redraw();
}

function draw() {
  frame = 0;
  if (!store.state) return;
  const view = store.view();
  if (ui.selectedId && !view.shapes.has(ui.selectedId)) ui.selectedId = null;
  const vertex = ui.selectedVertex;
  if (vertex && (vertex.shapeId !== ui.selectedId || vertex.index >= view.shapes.get(vertex.shapeId).points.length)) ui.selectedVertex = null;
  for (const id of ui.picked) if (!view.shapes.has(id)) ui.picked.delete(id);
  ui.overlay = mode?.render?.(modeState, ctx) ?? {};
  ui.hoverId = pointer ? (ctx.hitTest(pointer).shapeId ?? null) : null;
  if (nudge) ui.overlay = { ...ui.overlay, override: { shapeId: nudge.shapeId, points: nudge.current } };
  renderer.render(view, viewControls.uiForRender(view, ui));
  assistLayer.render(ui.overlay.assist ?? null);
  issues.render(view);
  reviewBar.render(reviewOf(view), issues.openCount);
  document.getElementById('hint').textContent = (canLabel && pieces.hint()) || baseHint;
  if (panelDirty) {
    panel.render(view, ui);
    attributeEditor.render(ui.selectedId ? view.shapes.get(ui.selectedId) : null);
    viewControls.renderSection();
    panelDirty = false;
  }
  const status = document.getElementById('item-status');
  status.textContent = store.unsaved ? 'unsaved changes' : 'saved';
  status.dataset.saved = String(!store.unsaved);
  document.getElementById('hard').checked = view.hard_example;
  document.body.dataset.seq = String(store.state.seq);
  document.body.dataset.pending = String(store.pending.size);
}

store.subscribe(() => {
  panelDirty = true;
  redraw();
});

// The context modes get: reads, commands and a few page services, never the store itself.
const ctx = {
  me,
  view: () => store.view(),
  send,
  // send, then wait: resolves with the seq, rejects with the refusal (already shown to the person).
  sendAndWait,
  newId,
  toImage: (event) => renderer.toImage(event.clientX, event.clientY),
  toClient: (point) => renderer.toClient(point),
  scale: () => renderer.scale, // screen pixels per image pixel now
  // A point just outside the image (within the tolerance, in screen pixels) on its border; farther: null.
  clamp: (point) => clampToImage(point, item.image.width, item.image.height, clampTolerancePx / renderer.scale),
  // A move of these points cut short where the first of them meets the border.
  clampMove: (points, dx, dy) => clampMove(points, dx, dy, item.image.width, item.image.height),
  // A point put on the image however far outside it is (a rectangle's corner dragged past the border).
  clampHard: ([x, y]) => [Math.min(item.image.width, Math.max(0, x)), Math.min(item.image.height, Math.max(0, y))],
  // Snapping (docs/ui.md, "Snapping and tracing"): where a vertex put at `point` lands. Within SNAP_TO_PX
  // screen pixels of a shown shape's vertex (not `exceptShapeId`'s), exactly on it; else of its edge, on
  // the edge's nearest point; Alt held (on `event`): nowhere else. {point, target (snap.js) or null}.
  snap(point, { exceptShapeId = null, event = null } = {}) {
    const target = event?.altKey ? null : snapTarget(snapShapes(), point, SNAP_TO_PX / renderer.scale, { except: exceptShapeId });
    return { point: target ? target.point : point, target };
  },
  // The outline vertices between two points on one shown shape's outline (snap.js traceAlong), or null.
  trace: (from, to, options) => traceAlong(snapShapes(), from, to, options),
  // What the pointer is on, by geometry (pick.js): the nearest vertex within PICK_PX screen pixels (the
  // selected shape's first), else the smallest shape it is inside, else the nearest edge in reach.
  hitTest(event) {
    const at = renderer.toImage(event.clientX, event.clientY);
    return pick(snapShapes(), at, PICK_PX / renderer.scale, { selectedId: ui.selectedId });
  },
  selectedId: () => ui.selectedId,
  setMode: (name) => setMode(name),
  // The assisted tools (proposal.js): a proposal asked of the server (resolves with {polygons}, throws an
  // ApiError with its {code, message}); the sliders' values; who is waiting for an answer (the stage
  // shows it).
  assist: (tool, body) => post(`/api/items/${item.id}/assist/${tool}/`, body),
  assistOptions: () => assistOptions,
  assistBusy(asker, on) {
    if (on) assistWaiting.add(asker);
    else assistWaiting.delete(asker);
    stage.classList.toggle('assist-busy', assistWaiting.size > 0);
    document.body.dataset.assistBusy = String(assistWaiting.size > 0);
  },
  // The issue tool's click: the new-issue form at that point (on that shape, when one was hit).
  composeIssue: (at, shapeId) => issues.compose(at, shapeId),
  selectedVertex: () => ui.selectedVertex,
  select,
  selectVertex,
  togglePick,
  labelForNewShape,
  activeColor: () => labels.get(labelBar.active)?.color ?? null,
  refuse,
  redraw,
  // drag: {shapeId, kind} while a drag goes on (others' changes to that shape are told as such).
  setDragging(on, drag = null) {
    stage.classList.toggle('dragging', on);
    dragging = on && drag ? { shapeId: drag.shapeId, kind: drag.kind } : null;
  },
};

// The shapes a vertex may snap onto and trace along: the closed ones shown (a hidden one is not).
const snapShapes = () => {
  const view = store.view();
  const hidden = viewControls.hiddenIds(view, ui);
  return [...view.shapes.values()].filter((shape) => !hidden.has(shape.id));
};

// Select a shape (or nothing): it alone, with no vertex selected.
function select(shapeId, { edit: toEdit = false } = {}) {
  if (toEdit && shapeId && mode?.name !== MODES.EDIT) setMode(MODES.EDIT);
  const alone = ui.picked.size === (shapeId ? 1 : 0) && (!shapeId || ui.picked.has(shapeId));
  if (ui.selectedId === shapeId && alone && !ui.selectedVertex) return;
  ui.selectedId = shapeId;
  ui.selectedVertex = null;
  ui.picked = new Set(shapeId ? [shapeId] : []);
  redrawPanel();
}

// Select one vertex of a shape (the shape is selected with it; shapes picked with it stay picked).
function selectVertex(shapeId, index) {
  if (ui.selectedId !== shapeId) select(shapeId);
  ui.selectedVertex = { shapeId, index };
  redraw();
}

// The one deletion rule (Delete, and Backspace outside the polygon tool): the selected vertex when a
// vertex is selected, else the selected shape.
function deleteSelection() {
  const shape = ui.selectedId && store.view().shapes.get(ui.selectedId);
  if (!shape) return;
  if (viewControls.isLocked(shape.id)) return viewControls.refuseLocked(shape.id);
  const vertex = ui.selectedVertex;
  if (vertex && vertex.shapeId === shape.id && vertex.index < shape.points.length) {
    send({ type: 'remove_vertex', shape_id: shape.id, index: vertex.index }, { at: shape.points[vertex.index] });
    ui.selectedVertex = null;
    redraw();
  } else {
    send({ type: 'delete_shape', shape_id: shape.id }, { at: shape.points[0] });
    select(null);
  }
}

// Shift+click: add a shape to the picked ones or take it out (it becomes the selected one when added).
function togglePick(shapeId) {
  if (mode?.name !== MODES.EDIT) setMode(MODES.EDIT);
  ui.selectedVertex = null;
  if (ui.selectedId && !ui.picked.has(ui.selectedId)) ui.picked.add(ui.selectedId);
  if (ui.picked.has(shapeId)) {
    ui.picked.delete(shapeId);
    if (ui.selectedId === shapeId) ui.selectedId = [...ui.picked].at(-1) ?? null;
  } else {
    ui.picked.add(shapeId);
    ui.selectedId = shapeId;
  }
  redrawPanel();
}

// Pick every part of a group (its entry in File Labels); with `add`, toggle them into the picked ones.
function pickGroup(groupId, { add = false } = {}) {
  if (mode?.name !== MODES.EDIT) setMode(MODES.EDIT);
  const parts = [...store.view().shapes.values()].filter((s) => s.group_id === groupId).map((s) => s.id);
  if (!parts.length) return;
  ui.selectedVertex = null;
  if (add) {
    const all = parts.every((id) => ui.picked.has(id));
    for (const id of parts) (all ? ui.picked.delete(id) : ui.picked.add(id));
    ui.selectedId = all ? ([...ui.picked].at(-1) ?? null) : parts[0];
  } else {
    ui.picked = new Set(parts);
    ui.selectedId = parts[0];
  }
  redrawPanel();
}

function pickedShapes() {
  const shapes = store.view().shapes;
  const ids = new Set(ui.picked);
  if (ui.selectedId) ids.add(ui.selectedId);
  return [...ids].map((id) => shapes.get(id)).filter(Boolean);
}

// Group: one new group id for every picked shape (they become the parts of one object).
function groupPicked() {
  const shapes = pickedShapes();
  if (shapes.length < 2) return refuse('select_more', 'Select two or more shapes (Shift+click) to group them.', shapes[0]?.points[0] ?? null);
  const groupId = newId();
  for (const shape of shapes) send({ type: 'group_shape', shape_id: shape.id, group_id: groupId }, { at: shape.points[0] });
  redrawPanel();
}

// Ungroup: the picked shapes that are parts of a group become whole objects again.
function ungroupPicked() {
  const shapes = pickedShapes().filter((s) => s.group_id);
  if (!shapes.length) return refuse('not_grouped', 'Select a grouped shape (or a group in File Labels) to ungroup it.', null);
  for (const shape of shapes) send({ type: 'group_shape', shape_id: shape.id, group_id: null }, { at: shape.points[0] });
  redrawPanel();
}

// An assisted tool's key or button: the tool, or why it is not there (no model server configured).
function setAssistMode(name) {
  if (MODE_TABLE[name]) return setMode(name);
  const why = name === MODES.MODEL ? 'No model server is configured here (POLYLOG_ASSIST_MODEL_URL), so there is no model tool.' : 'This server does not offer that tool.';
  return refuse('assist_unavailable', why, null);
}

function setMode(name) {
  if (!MODE_TABLE[name]) name = MODES.DRAW_POLYGON;
  if (name === ISSUE_MODE && !rights.openIssue) name = MODES.EDIT;
  if (!canLabel && name !== ISSUE_MODE) name = MODES.EDIT; // auditors and reviewers look: no drawing tool
  if (deleted()) name = MODES.EDIT; // deleted from the job: looking is all that is left
  if (mode) mode.onStop?.(modeState, ctx);
  mode = MODE_TABLE[name];
  modeState = mode.onSetup(ctx);
  if (canLabel && !deleted() && name !== MODES.SPLIT && name !== ISSUE_MODE) localStorage.setItem(TOOL_KEY, name); // the chosen tool stays for the next image
  assistOptions.show(name);
  stage.className = `stage mode-${name}`;
  for (const button of document.querySelectorAll('[data-tool]')) button.classList.toggle('active', button.dataset.tool === name);
  if (deleted()) baseHint = 'Deleted from the job: select shapes to look at them; nothing can be changed.';
  else if (canLabel || name === ISSUE_MODE) baseHint = mode.hint;
  else if (rights.openIssue) baseHint = `Read only (${job.role}): shapes can't be changed here; C pins an issue, the review bar accepts or rejects.`;
  else baseHint = `Read only (${job.role}): select shapes to look at them; nothing can be changed.`;
  redraw();
}

// Label first (docs/ui.md): the active label, chosen in the label bar or with 1-9 ---------------------

const labelBar = new LabelBar(document.getElementById('label-bar'), { job, labels, canLabel, choose });
labelBar.render(); // now: the image is fitted to the space under it

// The label a shape just drawn takes: the active one, or the picker's answer when the person asked for
// the picker after closing (null: no label classes, or the picker cancelled).
async function labelForNewShape(at) {
  if (labelBar.active === null) {
    refuse('no_label_classes', 'This job has no label classes yet: a manager adds them first.', at);
    return null;
  }
  if (!labelBar.pickAfterClosing) return labelBar.active;
  const picked = await pickLabel(at);
  if (picked !== null) labelBar.active = picked;
  return picked;
}

// A label chosen (the bar, or its number key): it becomes the active one; a selected shape of another
// label is relabeled with it (relabel_shape).
function choose(labelClassId) {
  if (!labels.has(labelClassId)) return;
  labelBar.active = labelClassId;
  const shape = ui.selectedId && store.view().shapes.get(ui.selectedId);
  if (shape && canLabel && shape.label_class_id !== labelClassId) send({ type: 'relabel_shape', shape_id: shape.id, label_class_id: labelClassId }, { at: shape.points[0] });
}

// Arrow keys nudge the selected vertex, else the selected shape, by one image pixel (Shift: 10). While
// arrows are held the nudge is drawn as a drag is; when the last one is released it is sent as one
// command (move_vertex or move_shape), so a key-hold is one undo action.
const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
let nudge = null; // {shapeId, index (a vertex) or null, points (before), dx, dy, current, keys (held)}

function nudgeBy(event) {
  const shape = ui.selectedId && store.view().shapes.get(ui.selectedId);
  if (!shape) return false;
  if (!canLabel) {
    refuse('permission_denied', `Your role (${job.role}) may look but not label.`, shape.points[0]);
    return true;
  }
  if (viewControls.isLocked(shape.id)) {
    if (!event.repeat) viewControls.refuseLocked(shape.id);
    return true;
  }
  const vertex = ui.selectedVertex?.shapeId === shape.id ? ui.selectedVertex.index : null;
  if (!nudge || nudge.shapeId !== shape.id || nudge.index !== vertex) {
    if (nudge) endNudge();
    nudge = { shapeId: shape.id, index: vertex, points: shape.points, dx: 0, dy: 0, current: shape.points, keys: new Set() };
    dragging = { shapeId: shape.id, kind: vertex === null ? 'shape' : 'vertex' };
  }
  nudge.keys.add(event.key);
  const step = event.shiftKey ? 10 : 1;
  const [ux, uy] = ARROWS[event.key];
  const { width, height } = item.image;
  if (nudge.index === null) {
    [nudge.dx, nudge.dy] = clampMove(nudge.points, nudge.dx + ux * step, nudge.dy + uy * step, width, height).map(towardZero2);
    nudge.current = nudge.points.map(([x, y]) => [x + nudge.dx, y + nudge.dy]);
  } else {
    const [x0, y0] = nudge.points[nudge.index];
    nudge.dx = Math.min(width, Math.max(0, x0 + nudge.dx + ux * step)) - x0;
    nudge.dy = Math.min(height, Math.max(0, y0 + nudge.dy + uy * step)) - y0;
    nudge.current = nudge.points.map((p, i) => (i === nudge.index ? [round2(x0 + nudge.dx), round2(y0 + nudge.dy)] : p));
  }
  redraw();
  return true;
}

// The nudge held so far, sent as one command (nothing when it came to no move or the shape went).
function endNudge() {
  const done = nudge;
  nudge = null;
  dragging = null;
  redraw();
  if (!done || !store.view().shapes.has(done.shapeId) || (!done.dx && !done.dy)) return;
  if (done.index === null) {
    send({ type: 'move_shape', shape_id: done.shapeId, dx: round2(done.dx), dy: round2(done.dy) }, { at: done.current[0] });
  } else {
    const [x, y] = done.current[done.index];
    send({ type: 'move_vertex', shape_id: done.shapeId, index: done.index, x, y }, { at: [x, y] });
  }
}

// The "?" overlay: every shortcut of the page, from the table the key handlers use. ? or Esc closes it.
function showShortcuts() {
  const dialog = h(
    'dialog',
    { class: 'shortcuts', 'aria-label': 'Keyboard shortcuts', tabindex: '-1' },
    h('h2', {}, 'Shortcuts', h('button', { type: 'button', class: 'icon close', 'aria-label': 'Close', onclick: () => dialog.close() }, '×')),
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, h('th', {}, 'keys'), h('th', {}, 'what'), h('th', {}, 'where'))),
      h(
        'tbody',
        {},
        SHORTCUTS.map((row) =>
          h(
            'tr',
            { dataset: { action: row.action } },
            h('td', { class: 'keys' }, row.keys.map((keys, n) => [n ? ', ' : null, h('kbd', {}, keys)])),
            h('td', {}, row.what),
            h('td', { class: 'where' }, whereOf(row)),
          ),
        ),
      ),
    ),
    h('p', { class: 'muted' }, 'Shortcuts do nothing while typing in a field or while a dialog is open (this one: ? or Esc closes it).'),
  );
  // Wherever the focus is while it is open (a modal dialog keeps it inside, or on the body).
  const closeOnQuestion = (event) => {
    if (event.key !== '?') return;
    event.preventDefault();
    event.stopPropagation(); // closed now, the page's own handler would open it again
    dialog.close();
  };
  document.addEventListener('keydown', closeOnQuestion, true);
  dialog.addEventListener('close', () => {
    document.removeEventListener('keydown', closeOnQuestion, true);
    dialog.remove();
  });
  document.body.append(dialog);
  dialog.showModal();
  dialog.focus(); // not its close button: no focus ring on it, and Esc or ? still close it
}

function toggleHidden(shapeId = ui.selectedId) {
  if (!shapeId) return refuse('no_selection', 'Select a shape to hide or show it.', null);
  if (ui.hidden.has(shapeId)) ui.hidden.delete(shapeId);
  else ui.hidden.add(shapeId);
  redrawPanel();
}

// The label picker, where the polygon was closed; the last used label is preselected ----------------

function pickLabel(at) {
  return new Promise((resolve) => {
    const choices = [...labels.values()];
    if (!choices.length) {
      refuse('no_label_classes', 'This job has no label classes yet: a manager adds them first.', at);
      resolve(null);
      return;
    }
    const last = Number(localStorage.getItem(`polylog.job.${job.id}.label`));
    const preselected = labels.has(last) ? last : choices[0].id;
    pickerOpen = true;
    const finish = (value) => {
      pickerOpen = false;
      picker.remove();
      document.removeEventListener('pointerdown', outside, true);
      resolve(value);
      redraw();
    };
    const outside = (event) => {
      if (!picker.contains(event.target)) finish(null);
    };
    const picker = h(
      'div',
      { class: 'picker', role: 'dialog', 'aria-label': 'Choose a label' },
      h('h4', {}, 'Label'),
      h(
        'ul',
        {},
        choices.map((label, n) =>
          h(
            'li',
            {},
            h(
              'button',
              { type: 'button', class: label.id === preselected ? 'active' : '', dataset: { labelClassId: label.id }, onclick: () => finish(label.id) },
              h('span', { class: 'swatch', style: { background: label.color } }),
              label.name,
              n < 9 ? h('span', { class: 'muted' }, ` ${n + 1}`) : null,
            ),
          ),
        ),
      ),
      h('div', { class: 'keys' }, 'Enter picks · 1–9 · ↑↓ · Esc cancels'),
    );
    picker.addEventListener('keydown', (event) => {
      event.stopPropagation();
      const buttons = [...picker.querySelectorAll('button')];
      const index = buttons.indexOf(document.activeElement);
      if (event.key === 'Escape') finish(null);
      else if (/^[1-9]$/.test(event.key) && buttons[Number(event.key) - 1]) finish(choices[Number(event.key) - 1].id);
      else if (event.key === 'ArrowDown') buttons[(index + 1) % buttons.length].focus();
      else if (event.key === 'ArrowUp') buttons[(index - 1 + buttons.length) % buttons.length].focus();
      else return;
      event.preventDefault();
    });
    stage.append(picker);
    // Beside the closing point, away from the shape being closed (view_controls.js besidePlacement).
    const rect = stage.getBoundingClientRect();
    const mine = [...store.view().drafts.values()].find((draft) => draft.actor === me.id && draft.points.length);
    const box = mine ? [...renderer.toClient(bboxOf(mine.points).slice(0, 2)), ...renderer.toClient(bboxOf(mine.points).slice(2))] : null;
    const [left, top] = besidePlacement(rect, [picker.offsetWidth, picker.offsetHeight], renderer.toClient(at), box);
    picker.style.left = `${left - rect.left}px`;
    picker.style.top = `${top - rect.top}px`;
    picker.querySelector(`[data-label-class-id="${preselected}"]`).focus();
    setTimeout(() => document.addEventListener('pointerdown', outside, true));
  });
}

// Pointer: modes first; the middle button, Space+drag, and empty space in edit mode pan ---------------

let pan = null;
let spaceDown = false;
// A press that panned ends in a `click` too (the browser's, on release): that click is the pan's, never a
// mode's, so Space+drag in the polygon tool adds no vertex.
let panned = false;

svg.addEventListener('pointerdown', (event) => {
  if (pickerOpen) return;
  panned = false;
  if (event.button === 1 || (event.button === 0 && spaceDown)) {
    event.preventDefault();
    panned = true;
    pan = { x: event.clientX, y: event.clientY };
    svg.setPointerCapture(event.pointerId);
    stage.classList.add('panning');
    return;
  }
  // A locked shape (mine, view_controls.js) is selected by a press but never dragged.
  if (mode.name === MODES.EDIT && viewControls.takesPress(event, ctx.hitTest)) {
    redraw();
    return;
  }
  const handled = mode.onMouseDown?.(modeState, ctx, event);
  if (handled) svg.setPointerCapture(event.pointerId);
  else if (mode.name === MODES.EDIT && event.button === 0) {
    pan = { x: event.clientX, y: event.clientY };
    svg.setPointerCapture(event.pointerId);
  }
  redraw();
});

svg.addEventListener('pointermove', (event) => {
  if (pan) {
    renderer.panBy(event.clientX - pan.x, event.clientY - pan.y);
    pan = { x: event.clientX, y: event.clientY };
    stage.classList.add('panning');
  } else {
    viewControls.onMove(event);
    mode.onMouseMove?.(modeState, ctx, event);
    hover(event);
  }
  const [x, y] = renderer.toImage(event.clientX, event.clientY);
  socket.cursor(Math.round(x * 10) / 10, Math.round(y * 10) / 10);
});

// The shape under the pointer shows its handles (render.js draws them for it and the selected one only);
// draw() looks again where the pointer rests, so a shape just closed or moved under it shows them too.
let pointer = null; // {clientX, clientY} of the last move with no button held; null off the canvas
function hover(event) {
  if (event.buttons) return; // a drag keeps the handles it started with
  pointer = { clientX: event.clientX, clientY: event.clientY };
  if ((ctx.hitTest(pointer).shapeId ?? null) !== (ui.hoverId ?? null)) redraw();
}
svg.addEventListener('pointerleave', () => {
  pointer = null;
  if (ui.hoverId) redraw();
});

function pointerEnd(event) {
  viewControls.onRelease();
  if (pan) {
    pan = null;
    stage.classList.remove('panning');
    return;
  }
  mode.onMouseUp?.(modeState, ctx, event);
}
svg.addEventListener('pointerup', pointerEnd);
svg.addEventListener('pointercancel', pointerEnd);
svg.addEventListener('click', (event) => {
  if (panned || spaceDown) return;
  if (!pickerOpen) mode.onClick?.(modeState, ctx, event);
});
svg.addEventListener('dblclick', (event) => {
  if (lockedUnder(event)) return;
  if (!panned && !spaceDown) mode.onDoubleClick?.(modeState, ctx, event);
});
// The middle button's release is an `auxclick`: swallowed, so no browser default (paste, open) follows a pan.
svg.addEventListener('auxclick', (event) => {
  if (event.button === 1) event.preventDefault();
});
svg.addEventListener('contextmenu', (event) => {
  event.preventDefault();
  if (lockedUnder(event)) return;
  mode.onContextMenu?.(modeState, ctx, event);
});
// On the stage, not the canvas: a quick view zoomed out (render.js) leaves part of the stage uncovered.
stage.addEventListener(
  'wheel',
  (event) => {
    event.preventDefault();
    renderer.zoomAt(Math.exp(-event.deltaY * 0.0015), event.clientX, event.clientY);
  },
  { passive: false },
);
renderer.onViewChange = (r) => {
  document.getElementById('zoom-level').textContent = `${Math.round(r.scale * 100)}%`;
  issues.placePopups();
  minimap.update();
};
// In or out of fullscreen the stage changes size: the image is fitted to it again.
document.addEventListener('fullscreenchange', () => requestAnimationFrame(() => renderer.fit()));

// An edit-tool gesture on a locked shape: refused, told where (true: it was).
function lockedUnder(event) {
  if (mode.name !== MODES.EDIT) return false;
  const hit = ctx.hitTest(event);
  if (!hit.shapeId || !viewControls.isLocked(hit.shapeId)) return false;
  viewControls.refuseLocked(hit.shapeId, renderer.toImage(event.clientX, event.clientY));
  return true;
}

// Toolbar and keyboard ------------------------------------------------------------------------------------

const actions = {
  undo: () => send({ type: 'undo' }),
  redo: () => send({ type: 'redo' }),
  save: () => save(),
  zoom_in: () => renderer.zoomAt(1.25),
  zoom_out: () => renderer.zoomAt(0.8),
  fit: () => renderer.fit(),
  attributes() {
    if (!canLabel) return refuse('permission_denied', `Your role (${job.role}) may look at the attributes but not change them.`, null);
    if (!ui.selectedId) return refuse('no_selection', "Select a shape to edit its attributes.", null);
    if (!attributeEditor.focus()) {
      const label = labels.get(store.view().shapes.get(ui.selectedId)?.label_class_id);
      refuse('no_attributes', `${label?.name ?? 'This label'} declares no attributes: a manager adds them on the job page.`, null);
    }
  },
  toggle_hidden: () => toggleHidden(),
  hide_all: () => viewControls.toggle('allHidden'),
  only_selected: () => viewControls.toggle('onlySelected'),
  labels_on_canvas: () => viewControls.toggle('labelsOn'),
  toggle_lock: () => viewControls.toggleLock(),
  next_shape: () => viewControls.step(1),
  previous_shape: () => viewControls.step(-1),
  reset_shape() {
    const shape = ui.selectedId && store.view().shapes.get(ui.selectedId);
    if (!shape) return refuse('no_selection', 'Select a shape to reset it to its original geometry.', null);
    send({ type: 'reset_shape', shape_id: shape.id }, { at: shape.points[0] });
  },
  async delete_all() {
    const count = store.view().shapes.size;
    if (!count) return refuse('nothing_to_delete', 'There is no shape on this image.', null);
    const answer = await ask({
      title: 'Delete all shapes?',
      body: `Delete all ${count} shape${count === 1 ? '' : 's'} on this image? You can undo it.`,
      buttons: [{ label: 'Cancel', value: null }, { label: 'Delete all', value: 'yes', danger: true }],
    });
    if (answer === 'yes') send({ type: 'delete_all_shapes' });
  },
  fullscreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else app.requestFullscreen?.().catch((error) => refuse('fullscreen', `Fullscreen is not available: ${error.message}`, null));
  },
  next: () => go(neighbours.next, 'next'),
  previous: () => go(neighbours.previous, 'previous'),
  group: () => groupPicked(),
  ungroup: () => ungroupPicked(),
  tool_polygon: () => setMode(MODES.DRAW_POLYGON),
  tool_rectangle: () => setMode(MODES.DRAW_RECTANGLE),
  tool_freehand: () => setMode(MODES.DRAW_FREEHAND),
  tool_edit: () => setMode(MODES.EDIT),
  tool_scissors: () => setAssistMode(MODES.SCISSORS),
  tool_box_assist: () => setAssistMode(MODES.BOX_ASSIST),
  tool_wand: () => setAssistMode(MODES.WAND),
  tool_model: () => setAssistMode(MODES.MODEL),
  delete_selection: () => deleteSelection(),
  shortcuts: () => showShortcuts(),
  copy: () => clipboard.copy(),
  paste: () => clipboard.paste(),
  carry: () => (canLabel ? clipboard.carry() : refuse('permission_denied', `Your role (${job.role}) may look but not label: nothing is carried.`, null)),
  merge: () => pieces.merge(),
  subtract: () => pieces.subtract(),
  tool_split: () => pieces.split(),
  tool_issue() {
    if (!rights.openIssue) return refuse('permission_denied', `Your role (${job.role}) may read issues but not open them.`, null);
    setMode(mode?.name === ISSUE_MODE ? MODES.EDIT : ISSUE_MODE);
  },
  label(event) {
    const labelClassId = labelBar.byKey(Number(event.key));
    if (labelClassId !== null) choose(labelClassId);
  },
};

for (const button of document.querySelectorAll('[data-action]')) {
  button.addEventListener('click', () => actions[button.dataset.action]());
}
for (const button of document.querySelectorAll('[data-tool]')) {
  button.addEventListener('click', () => setMode(button.dataset.tool));
}
// Tools that change the image, off: for a role that may not label, and for everyone once the image is
// deleted from its job (then the review bar and issue tool too).
function disableEditing(why = null) {
  for (const name of ['undo', 'redo', 'reset_shape', 'delete_all', 'paste', 'carry', 'merge', 'subtract', 'tool_split']) document.querySelector(`[data-action=${name}]`).disabled = true;
  for (const name of [MODES.DRAW_POLYGON, MODES.DRAW_RECTANGLE, MODES.DRAW_FREEHAND, ...Object.keys(ASSIST_MODES)]) {
    const drawTool = document.querySelector(`[data-tool=${name}]`);
    if (!drawTool) continue; // an assisted tool this server does not offer
    drawTool.disabled = true;
    drawTool.title = why ?? `Drawing is for annotators and managers; your role is ${job.role}`;
  }
  const issueTool = document.querySelector(`[data-tool=${ISSUE_MODE}]`);
  if (why || !rights.openIssue) {
    issueTool.disabled = true;
    issueTool.title = why ?? `Issues are opened by reviewers, annotators and managers; your role is ${job.role}`;
  }
  document.body.dataset.readOnly = 'true';
  document.getElementById('save').disabled = true;
  document.getElementById('hard').disabled = true;
  if (why) for (const button of document.querySelectorAll('#review-bar button')) button.disabled = true; // and kept off by the bar's own render (stopped)
}
if (!canLabel) disableEditing();

// Keys go through the shortcut table (shortcuts.js), which the "?" overlay and docs/ui.md show: the
// tool's own rows first (the tool may pass), then the rows of every tool. Space is held for panning (a
// pointer gesture of the table).
document.addEventListener('keydown', (event) => {
  if (pickerOpen || document.querySelector('dialog[open]') || typing(event)) return;
  if (event.key === ' ') {
    spaceDown = true;
    stage.classList.add('space');
    event.preventDefault();
    return;
  }
  const own = actionFor(event, mode.name);
  if (own && mode.onKeyDown?.(modeState, ctx, event, own)) {
    event.preventDefault();
    return;
  }
  const action = actionFor(event);
  if (!action) return;
  if (action === 'nudge' && !nudgeBy(event)) return; // nothing selected: the arrows keep their default
  event.preventDefault();
  if (action !== 'nudge') actions[action](event);
});
// A Space released outside the window (or a lost focus) must not leave the page panning on every press.
window.addEventListener('blur', () => {
  spaceDown = false;
  stage.classList.remove('space');
  if (nudge) endNudge();
});
document.addEventListener('keyup', (event) => {
  if (event.key === ' ') {
    spaceDown = false;
    stage.classList.remove('space');
  }
  if (nudge && ARROWS[event.key]) {
    nudge.keys.delete(event.key);
    if (!nudge.keys.size) endNudge();
  }
  mode?.onKeyUp?.(modeState, ctx, event);
});

// Save, hard example, leaving ------------------------------------------------------------------------------

async function save() {
  try {
    await sendAndWait({ type: 'save' });
    notices.show({ text: 'Saved.', kind: 'info' });
  } catch {
    // the refusal is already shown
  }
}

document.getElementById('save').addEventListener('click', save);
document.getElementById('hard').addEventListener('change', (event) => {
  send({ type: event.target.checked ? 'mark_hard_example' : 'unmark_hard_example' });
});

function backUrl() {
  return sessionStorage.getItem(`polylog.job.${job.id}.url`) || `/jobs/${job.id}/`;
}
document.getElementById('job-link').href = backUrl();

// Leaving, by any route, asks only when I have changes since the last save (docs/ui.md, "Leaving"): the
// Back button, links (the breadcrumb, Replay, the strip's thumbnails), N/P, the browser's Back; closing
// the tab or reloading gets the browser's own prompt.
let leaving = false; // the page is on its way out: no second question

function mustAsk() {
  // Deleted from the job: no save or discard can be stored any more, so there is nothing to ask.
  if (!canLabel || deleted()) return false;
  // Mine only: others' changes are theirs to save or discard. A command of mine still on its way counts.
  return store.iHavePending() || [...store.pending.values()].some(({ command }) => command.type !== 'save');
}

// Resolves true when the page may go: nothing of mine to ask about, or Yes saved, or No discarded my
// changes (others' work stays); false on Cancel or a refusal (shown where it happened).
let asking = null;
function mayLeave() {
  if (!mustAsk()) return Promise.resolve(true);
  asking ??= (async () => {
    const answer = await ask({
      title: 'Save?',
      body: 'You have changes to this image since the last save. Yes saves the image as it stands; No discards your own changes since the last save (what others did stays); Cancel stays here.',
      buttons: [
        { label: 'Cancel', value: null },
        { label: 'No', value: 'no' },
        { label: 'Yes', value: 'yes', primary: true },
      ],
    });
    if (!answer) return false;
    try {
      await sendAndWait({ type: answer === 'yes' ? 'save' : 'discard_changes' });
      return true;
    } catch {
      return false;
    }
  })().finally(() => (asking = null));
  return asking;
}

async function leaveTo(url) {
  if (!(await mayLeave())) return;
  leaving = true;
  location.href = url;
}

function go(target, what) {
  if (!target) return refuse('no_image', `There is no ${what} image.`, null);
  return leaveTo(`/items/${target.id}/`);
}

document.getElementById('back').addEventListener('click', () => leaveTo(backUrl()));

// Links out of the page (the breadcrumb, Replay, the strip, the top bar) ask first; a new tab does not.
document.addEventListener('click', (event) => {
  const link = event.target.closest?.('a[href]');
  if (!link || event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  if ((link.target && link.target !== '_self') || link.hasAttribute('download')) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || (url.pathname === location.pathname && url.hash)) return;
  if (!mustAsk()) return;
  event.preventDefault();
  leaveTo(url.href);
});

// The browser's Back: a history entry of our own sits on top of the page's, pushed on the first
// interaction (Chromium's Back skips entries pushed without one). Back pops it and the page asks as the
// Back button does; Cancel puts it back.
let guarded = history.state?.polylogGuard === true;
function guardHistory() {
  // Not while the question is open: a click on its No must not push a new entry that Back would then pop.
  if (guarded || !canLabel || leaving || asking) return;
  guarded = true;
  history.pushState({ polylogGuard: true }, '', location.href);
}
document.addEventListener('pointerdown', guardHistory, true);
document.addEventListener('keydown', guardHistory, true);
window.addEventListener('popstate', async () => {
  if (!guarded || leaving || history.state?.polylogGuard) return;
  guarded = false;
  if (await mayLeave()) {
    leaving = true;
    history.back();
  } else {
    guardHistory();
  }
});

// Closing the tab, reloading, a form (Log out): the browser's own prompt, only with changes of mine.
window.addEventListener('beforeunload', (event) => {
  if (leaving || deleted() || !(mustAsk() || (canLabel && socket.unanswered.size))) return;
  event.preventDefault();
  event.returnValue = '';
});

// Presence ---------------------------------------------------------------------------------------------------

function showPresence(users) {
  const host = document.getElementById('presence');
  host.replaceChildren(
    ...users.map((user) =>
      h('span', { class: 'person', style: { background: personColor(user.id) }, title: user.id === me.id ? 'you' : `${user.username} is here`, dataset: { user: user.username } }, user.id === me.id ? `${user.username} (you)` : user.username),
    ),
  );
}

// Labels changed (renamed or recoloured): every shape and the panel follow ----------------------------

function onLabelsChanged() {
  renderer.shapeEls.forEach((entry) => (entry.color = null)); // repaint every shape
  labelBar.render();
  redrawPanel();
}

async function deleteLabelShapes(label) {
  const count = [...store.view().shapes.values()].filter((s) => s.label_class_id === label.id).length;
  const answer = await ask({
    title: `Delete every ${label.name}?`,
    body: `Delete the ${count} ${label.name} shape${count === 1 ? '' : 's'} on this image? You can undo it.`,
    buttons: [{ label: 'Cancel', value: null }, { label: 'Delete', value: 'yes', danger: true }],
  });
  if (answer === 'yes') send({ type: 'delete_label_shapes', label_class_id: label.id });
}

// Selecting from File Labels brings the shape into view.
const selectAndShow = (shapeId, options) => {
  select(shapeId, options);
  viewControls.reveal(shapeId);
};
const panel = new Panel({ job, labels, canLabel, isManager, viewControls, select: selectAndShow, togglePick, pickGroup, group: groupPicked, ungroup: ungroupPicked, send, toggleHidden, onLabelsChanged, redrawPanel, deleteLabelShapes });
document.getElementById('panel').append(viewControls.section());
// The selected shape's attributes (attributes.js), under File Labels.
const attributeEditor = new AttributeEditor({ labels, canLabel, send }, document.getElementById('attributes'));

// Review (review.js) and issues pinned to the spot (issues.js): the bar above the image, the markers and
// their threads, the Issues list in the panel under Attributes.
const issues = new Issues({
  stage,
  renderer,
  role: job.role,
  people,
  send: sendReview,
  refuse,
  newId,
  redraw: redrawPanel,
  shapeName: (shapeId) => shapeName(factsOf(shapeId) ?? memory.latest(shapeId)?.shape, labels),
  stopped: () => (deleted() ? DELETED_TITLE : null),
  // An issue chosen in the list is brought into view when it is off screen.
  reveal(at) {
    const rect = svg.getBoundingClientRect();
    const [cx, cy] = renderer.toClient(at);
    if (cx < rect.left || cx > rect.right || cy < rect.top || cy > rect.bottom) renderer.panBy(rect.left + rect.width / 2 - cx, rect.top + rect.height / 2 - cy);
  },
});
document.getElementById('attributes').after(issues.section);
const reviewBar = new ReviewBar(document.getElementById('review-bar'), {
  role: job.role,
  send: sendReview,
  people,
  ask,
  refuse: (code, message) => refuse(code, message, null),
  issueTool: () => actions.tool_issue(),
  issueToolOn: () => mode?.name === ISSUE_MODE,
  stopped: () => (deleted() ? DELETED_TITLE : null),
});

// Copy/paste and merge/subtract/split (clipboard.js, pieces.js): the page lends them what they need.

const pieces = new Pieces({ view: () => store.view(), ui, labels, send, refuse, setMode });
const clipboard = new Clipboard({
  job,
  item,
  shapes: pickedShapes,
  send,
  refuse,
  newId,
  notify: (text) => notices.show({ text, kind: 'info' }),
  select(ids) {
    if (mode?.name !== MODES.EDIT) setMode(MODES.EDIT);
    ui.picked = new Set(ids);
    ui.selectedId = ids.at(-1) ?? null;
    ui.selectedVertex = null;
    redrawPanel();
  },
  async next() {
    await actions.next();
    return leaving;
  },
});

// Start --------------------------------------------------------------------------------------------------------

async function start() {
  // Deleted before the page opened: the socket's item_deleted, after its catch-up, says by whom and when.
  if (item.deleted) disableEditing(DELETED_TITLE);
  try {
    await store.load();
  } catch (error) {
    refuse(error.code || 'error', error.message, null);
    return;
  }
  renderer.fit();
  setMode(localStorage.getItem(TOOL_KEY) || MODES.DRAW_POLYGON);
  socket.connect();
  clipboard.arrived(); // a selection carried from the previous image is pasted here
  document.body.dataset.ready = 'true';
  try {
    neighbours = await loadStrip(job, item.id, get);
    document.body.dataset.strip = 'ready';
  } catch (error) {
    refuse(error.code || 'error', `The job's images could not be listed: ${error.message}`, null);
  }
}

window.addEventListener('resize', () => redraw());
window.polylogLabel = { store, renderer, ui, ctx, setMode, notices }; // for the benchmark and debugging
start();
