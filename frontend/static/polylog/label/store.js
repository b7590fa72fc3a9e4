// The item's client state: loaded from GET items/<id>/state/, advanced by the server's events (the truth),
// with the person's own commands drawn at once as a predicted overlay until their events arrive.

import { get } from '../api.js';

// Events whose effect needs what the public state does not carry (undo stacks, originals, the last
// save): after one of them the state is read again at that seq.
const READ_AGAIN = new Set(['undone', 'redone', 'changes_discarded', 'shape_reset']);

// Review lives in the item's stream (issue 24, docs/review.md): these events change no shape, are nobody's
// pending change and are not undone; the fold keeps `review` and `issues` as the state view has them.
export const REVIEW_EVENTS = new Set(['review_accepted', 'review_rejected', 'review_reopened', 'issue_opened', 'issue_commented', 'issue_resolved', 'issue_reopened']);
const NO_REVIEW = { status: 'none', reason: null, actor: null, seq: null };

// Shapes carry their number (#n, docs/ui.md "Shape numbers"); next_number is the one the next new shape
// gets, so the events that create shapes can number them as the server did (null: a server without numbers).
function fromView(view) {
  return {
    seq: view.seq,
    saved_seq: view.saved_seq,
    width: view.image.width,
    height: view.image.height,
    hard_example: view.hard_example,
    next_number: view.next_number ?? null,
    shapes: new Map(view.shapes.map((s) => [s.id, { id: s.id, number: s.number ?? null, label_class_id: s.label_class_id, points: s.points, group_id: s.group_id ?? null, attributes: s.attributes ?? {} }])),
    drafts: new Map(view.drafts.map((d) => [d.id, { id: d.id, number: d.number ?? null, actor: d.actor, points: d.points }])),
    review: view.review ?? NO_REVIEW,
    issues: view.issues ?? [],
    // Whether the labels changed since the last save (review events are no change): the server's
    // `pending` says so exactly; a server without it, any event after the save.
    edited: Array.isArray(view.pending) ? view.pending.length > 0 || view.drafts.length > 0 : view.seq > view.saved_seq,
  };
}

// The review and issues after a review event at `seq` (the rules of apps/labeling/domain/review.py).
function applyReview(state, type, p, actor, seq) {
  const issue = (id, change) => state.issues.map((i) => (i.id === id ? change(i) : i));
  switch (type) {
    case 'review_accepted':
      return { review: { status: 'accepted', reason: null, actor, seq } };
    case 'review_rejected':
      return { review: { status: 'rejected', reason: p.reason, actor, seq } };
    case 'review_reopened':
      return { review: { status: 'to_review', reason: null, actor, seq } };
    case 'issue_opened':
      if (state.issues.some((i) => i.id === p.issue_id)) return {};
      return { issues: [...state.issues, { id: p.issue_id, x: p.x, y: p.y, shape_id: p.shape_id ?? null, text: p.text, author: actor, status: 'open', seq, comments: [] }] };
    case 'issue_commented':
      return { issues: issue(p.issue_id, (i) => ({ ...i, comments: [...i.comments, { text: p.text, actor, seq }] })) };
    case 'issue_resolved':
      return { issues: issue(p.issue_id, (i) => ({ ...i, status: 'resolved' })) };
    case 'issue_reopened':
      return { issues: issue(p.issue_id, (i) => ({ ...i, status: 'open' })) };
    default:
      return {};
  }
}

// The state after one event; shapes that do not change keep their objects, so the renderer can skip them.
// Tolerant: an event about a shape this state does not hold changes nothing (predictions can be stale).
export function applyEvent(state, type, payload, actor) {
  const p = payload;
  if (REVIEW_EVENTS.has(type)) return { ...state, ...applyReview(state, type, p, actor, state.seq + 1) };
  const next = { ...state, edited: type !== 'saved' };
  const editShapes = () => (next.shapes = next.shapes === state.shapes ? new Map(state.shapes) : next.shapes);
  const editDrafts = () => (next.drafts = next.drafts === state.drafts ? new Map(state.drafts) : next.drafts);
  // A geometry edit applies to a closed shape or to a draft, whichever holds the id.
  const editPoints = (id, change) => {
    if (state.shapes.has(id)) {
      const shape = state.shapes.get(id);
      editShapes().set(id, { ...shape, points: change(shape.points) });
    } else if (state.drafts.has(id)) {
      const draft = state.drafts.get(id);
      const points = change(draft.points);
      if (points.length) editDrafts().set(id, { ...draft, points });
      else editDrafts().delete(id);
    }
  };
  const remove = (id) => {
    if (state.shapes.has(id)) editShapes().delete(id);
    if (state.drafts.has(id)) editDrafts().delete(id);
  };
  // A shape created by this event takes the next number (numbers are never given twice); an event that
  // creates several numbers them in order.
  const newNumber = () => {
    if (next.next_number === null || next.next_number === undefined) return null;
    next.next_number += 1;
    return next.next_number - 1;
  };
  switch (type) {
    case 'vertex_added': {
      const draft = state.drafts.get(p.shape_id);
      if (draft) editDrafts().set(p.shape_id, { ...draft, points: [...draft.points, [p.x, p.y]] });
      else if (!state.shapes.has(p.shape_id)) editDrafts().set(p.shape_id, { id: p.shape_id, number: newNumber(), actor, points: [[p.x, p.y]] });
      break;
    }
    case 'polygon_closed': {
      const draft = state.drafts.get(p.shape_id);
      if (!draft) break;
      editDrafts().delete(p.shape_id);
      editShapes().set(p.shape_id, { id: p.shape_id, number: draft.number, label_class_id: p.label_class_id, points: draft.points, group_id: p.group_id ?? null, attributes: {} });
      break;
    }
    case 'polygon_added':
      if (state.shapes.has(p.shape_id)) break;
      editShapes().set(p.shape_id, { id: p.shape_id, number: newNumber(), label_class_id: p.label_class_id, points: p.points, group_id: p.group_id ?? null, attributes: {} });
      break;
    case 'draft_discarded':
    case 'shape_deleted':
      remove(p.shape_id);
      break;
    case 'all_shapes_deleted':
    case 'label_shapes_deleted':
      for (const id of p.shape_ids) remove(id);
      break;
    case 'shapes_merged': {
      // `into` takes the union's outline (the server computed it); the others are gone.
      const into = state.shapes.get(p.into);
      for (const id of p.shape_ids) if (id !== p.into) remove(id);
      if (into) editShapes().set(p.into, { ...into, points: p.points });
      break;
    }
    case 'shape_subtracted':
    case 'shape_split': {
      // The first part is the shape itself; the others are new shapes of its label, numbered in order, in
      // the cut's group (a subtract names it) or the shape's own (a split); every part keeps its values.
      const shape = state.shapes.get(p.shape_id);
      if (!shape || !p.parts.length) break;
      const group_id = type === 'shape_subtracted' ? (p.group_id ?? null) : (shape.group_id ?? null);
      const [first, ...others] = p.parts;
      editShapes().set(p.shape_id, { ...shape, points: first.points, group_id });
      for (const part of others) {
        editShapes().set(part.shape_id, { id: part.shape_id, number: newNumber(), label_class_id: shape.label_class_id, points: part.points, group_id, attributes: shape.attributes ?? {} });
      }
      break;
    }
    case 'shapes_pasted':
      // Several new shapes at once (a paste), numbered in order as the server numbers them.
      for (const pasted of p.shapes) {
        if (state.shapes.has(pasted.shape_id)) continue;
        editShapes().set(pasted.shape_id, { id: pasted.shape_id, number: newNumber(), label_class_id: pasted.label_class_id, points: pasted.points, group_id: pasted.group_id ?? null, attributes: {} });
      }
      break;
    case 'vertex_moved':
      editPoints(p.shape_id, (pts) => pts.map((pt, i) => (i === p.index ? [p.x, p.y] : pt)));
      break;
    case 'vertex_inserted':
      editPoints(p.shape_id, (pts) => [...pts.slice(0, p.index), [p.x, p.y], ...pts.slice(p.index)]);
      break;
    case 'vertex_removed':
      editPoints(p.shape_id, (pts) => pts.filter((_, i) => i !== p.index));
      break;
    case 'shape_moved':
      editPoints(p.shape_id, (pts) => pts.map(([x, y]) => [x + p.dx, y + p.dy]));
      break;
    case 'shape_relabeled':
    case 'shape_grouped': {
      // A relabel starts the shape at its new class's defaults (the values answered the old class).
      const shape = state.shapes.get(p.shape_id);
      if (shape) editShapes().set(p.shape_id, { ...shape, ...(type === 'shape_relabeled' ? { label_class_id: p.label_class_id, attributes: {} } : { group_id: p.group_id ?? null }) });
      break;
    }
    case 'attributes_set': {
      // The values that changed; null: back to the class's default (the shape carries no value for it).
      const shape = state.shapes.get(p.shape_id);
      if (!shape) break;
      const attributes = { ...(shape.attributes ?? {}) };
      for (const [name, value] of Object.entries(p.values)) {
        if (value === null) delete attributes[name];
        else attributes[name] = value;
      }
      editShapes().set(p.shape_id, { ...shape, attributes });
      break;
    }
    case 'saved':
      next.saved_seq = state.seq + 1;
      // A labeled save goes to review, an empty one leaves nothing to review; an accepted item's save
      // that changed nothing stays accepted, which only the server can tell (Store.receive reads it).
      if (state.review && state.review.status !== 'accepted') {
        next.review = state.shapes.size ? { status: 'to_review', reason: null, actor: null, seq: state.seq + 1 } : NO_REVIEW;
      }
      break;
    case 'hard_example_marked':
      next.hard_example = true;
      break;
    case 'hard_example_unmarked':
      next.hard_example = false;
      break;
    default:
      break;
  }
  return next;
}

// The event a command of ours will produce, to draw it before the server answers (null: wait for it).
function predicted(command) {
  const { type, ...fields } = command;
  switch (type) {
    case 'add_vertex':
      return ['vertex_added', fields];
    case 'close_polygon':
      return ['polygon_closed', fields];
    case 'discard_draft':
      return ['draft_discarded', fields];
    case 'add_polygon':
      return ['polygon_added', fields];
    case 'paste_shapes':
      return ['shapes_pasted', fields];
    case 'move_vertex':
      return ['vertex_moved', fields];
    case 'insert_vertex':
      return ['vertex_inserted', fields];
    case 'remove_vertex':
      return ['vertex_removed', fields];
    case 'move_shape':
      return ['shape_moved', fields];
    case 'relabel_shape':
      return ['shape_relabeled', fields];
    case 'group_shape':
      return ['shape_grouped', fields];
    case 'set_attributes':
      return ['attributes_set', fields];
    case 'delete_shape':
      return ['shape_deleted', fields];
    case 'mark_hard_example':
      return ['hard_example_marked', {}];
    case 'unmark_hard_example':
      return ['hard_example_unmarked', {}];
    default:
      return null;
  }
}

export class ItemStore {
  constructor({ itemId, me }) {
    this.itemId = itemId;
    this.me = me;
    this.state = null;
    this.pending = new Map(); // command_id -> {command, ackSeq}
    this.queue = []; // events that arrived while the state was being read again
    this.reading = false;
    this.listeners = new Set();
    this.cachedView = null;
    this.onGap = null; // set by the page: ask the socket for the missing events
    // Set by the page: called with (event, state before, state after) for every event applied, so it can
    // tell what others did to the shapes (the messages, docs/ui.md).
    this.onApplied = null;
    // Whether I have pending changes (docs/ui.md, "Leaving"): the server's `pending` (the people with
    // changes since the last save) when the state read last carried it, else null; and whether an event of
    // mine (other than `saved`) arrived after that read.
    this.serverPending = null;
    this.mineSinceRead = false;
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit() {
    this.cachedView = null;
    for (const listener of this.listeners) listener(this);
  }

  async load() {
    const view = await get(`/api/items/${this.itemId}/state/`);
    this.state = fromView(view);
    if (Array.isArray(view.pending)) this.takePending(view);
    else this.mineSinceRead = await this.mineAfter(view.saved_seq, view.seq);
    this.settle();
    this.emit();
  }

  // A state read that carries the server's `pending` decides; without it, what this page saw still counts.
  takePending(view) {
    if (!Array.isArray(view.pending)) return;
    this.serverPending = new Set(view.pending);
    this.mineSinceRead = false;
  }

  // Without the server's `pending`: whether an event of mine other than `saved` is among seq (from, to].
  async mineAfter(from, to) {
    let after = from;
    while (after !== null && after < to) {
      const page = await get(`/api/items/${this.itemId}/events/?after=${after}&limit=500`);
      if (page.results.some((e) => e.seq <= to && e.actor === this.me.id && e.type !== 'saved' && !REVIEW_EVENTS.has(e.type))) return true;
      after = page.next_after;
    }
    return false;
  }

  // Mine: a change of my own since the last save (the Back dialog and every other way out ask only then).
  iHavePending() {
    return this.mineSinceRead || !!this.serverPending?.has(this.me.id);
  }

  // What one applied event says about pending changes: `saved` ends everyone's; an event of mine starts
  // mine (my `changes_discarded` ends them, when the server does not say).
  notePending(event) {
    if (event.type === 'saved') {
      this.mineSinceRead = false;
      if (this.serverPending) this.serverPending = new Set();
    } else if (event.actor === this.me.id && !REVIEW_EVENTS.has(event.type)) {
      this.mineSinceRead = event.type !== 'changes_discarded';
    }
  }

  // One event frame from the server, in seq order.
  receive(event) {
    if (this.reading) {
      this.queue.push(event);
      return;
    }
    if (event.seq <= this.state.seq) return; // already have it (a catch-up after a reload)
    if (event.seq > this.state.seq + 1) {
      this.onGap?.(this.state.seq);
      return;
    }
    this.notePending(event);
    if (READ_AGAIN.has(event.type) || (event.type === 'saved' && this.state.review?.status === 'accepted')) {
      this.readAgain(event);
      return;
    }
    const before = this.state;
    this.state = { ...applyEvent(this.state, event.type, event.payload, event.actor), seq: event.seq };
    this.onApplied?.(event, before, this.state);
    if (event.actor === this.me.id) this.matchPrediction(event);
    this.settle();
    this.emit();
  }

  // Our own event arrived before the ack of its command: its prediction must go now, or it would be
  // applied twice. A connection's commands are handled in order, so it is the first pending one that
  // predicts this event.
  matchPrediction(event) {
    for (const [id, entry] of this.pending) {
      const guess = predicted(entry.command);
      if (guess && guess[0] === event.type && (guess[1].shape_id ?? null) === (event.payload.shape_id ?? null)) {
        this.pending.delete(id);
        return;
      }
    }
  }

  // The state after `event`, read from the server (its effect needs what the client does not hold).
  async readAgain(event) {
    this.reading = true;
    const before = this.state;
    try {
      const view = await get(`/api/items/${this.itemId}/state/?at_seq=${event.seq}`);
      this.state = fromView(view);
      this.takePending(view);
    } finally {
      this.reading = false;
    }
    if (this.state !== before) this.onApplied?.(event, before, this.state);
    const queued = this.queue.splice(0);
    this.settle();
    this.emit();
    for (const event of queued) this.receive(event);
  }

  // Our command is on its way: draw its predicted effect until its event is in the state.
  expect(commandId, command) {
    this.pending.set(commandId, { command, ackSeq: null });
    this.emit();
  }

  acked(commandId, seq) {
    const entry = this.pending.get(commandId);
    if (!entry) return;
    entry.ackSeq = seq;
    this.settle();
    this.emit();
  }

  refused(commandId) {
    if (this.pending.delete(commandId)) this.emit();
  }

  // Predictions whose events the state now holds are dropped.
  settle() {
    for (const [id, entry] of this.pending) {
      if (entry.ackSeq !== null && entry.ackSeq <= this.state.seq) this.pending.delete(id);
    }
  }

  get unsaved() {
    return this.state.edited ?? this.state.seq > this.state.saved_seq;
  }

  // What to draw: the state with our pending commands applied on top.
  view() {
    if (this.cachedView) return this.cachedView;
    let view = this.state;
    for (const { command } of this.pending.values()) {
      const guess = predicted(command);
      if (guess) view = applyEvent(view, guess[0], guess[1], this.me.id);
    }
    this.cachedView = view;
    return view;
  }
}
