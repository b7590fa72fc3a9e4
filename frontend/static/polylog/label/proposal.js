// What the assisted tools share (docs/ui.md, "Assisted outlines"): the server only proposes; the page shows
// a proposal as a dashed outline with handles on its vertices, which can be dragged before accepting it.
// Enter accepts it as ONE `add_polygon` of the active label (one event, one undo action); Esc drops it and
// nothing is sent. Until accepted a proposal is this page's own, as the freehand tool's open outline is:
// no command, no draft, nothing written on the server, nothing others see.
//
// - Proposal: the outline and the dragging of its vertices, its acceptance and dropping.
// - Asker: the requests of one tool, one in flight at a time, the latest one wins: asked again meanwhile,
//   the newest request waits and replaces any other waiting one, and an answer to a request that is no
//   longer the latest is not used. A refusal ({code, message}) is shown in the notification area.
// - Press: a press of the left button, told apart as a click or a drag.
// - pressDown, pressMove, pressUp, showAnswer, acceptKey, dropKey: the handlers the prompt tools (wand, box,
//   model) share.
// - AssistLayer: the SVG of it all (proposal, anchors and paths, prompts, box), in the overlay layer.

import { DRAG_PX, PICK_PX } from './constants.js';
import { round2 } from './geometry.js';

const SVG = 'http://www.w3.org/2000/svg';

function el(tag, attrs, parent) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
  parent.append(element);
  return element;
}

const pointsAttr = (points) => (points ?? []).map(([x, y]) => `${x},${y}`).join(' ');
const screenDistance = (ctx, point, event) => {
  const [x, y] = ctx.toClient(point);
  return Math.hypot(x - event.clientX, y - event.clientY);
};

// The outline as it is sent: on the image, in hundredths, no point twice in a row, no last point on the
// first (the ring closes itself).
export function cleanRing(points, ctx) {
  const ring = [];
  for (const point of points) {
    const [x, y] = ctx.clampHard(point).map(round2);
    const previous = ring.at(-1);
    if (!previous || previous[0] !== x || previous[1] !== y) ring.push([x, y]);
  }
  while (ring.length > 1 && ring.at(-1)[0] === ring[0][0] && ring.at(-1)[1] === ring[0][1]) ring.pop();
  return ring;
}

export class Proposal {
  constructor() {
    this.points = null; // image pixels, or null: no proposal
    this.score = null;
    this.drag = null; // the index of the vertex being dragged
    this.edited = false; // a vertex was dragged since the server proposed it
    this.accepting = false; // waiting for the label picker (Ask after closing)
  }

  get shown() {
    return this.points !== null;
  }

  show({ points, score = null }) {
    this.points = points.map(([x, y]) => [x, y]);
    this.score = score;
    this.drag = null;
    this.edited = false;
  }

  drop(ctx) {
    if (this.drag !== null) ctx.setDragging(false);
    this.points = null;
    this.drag = null;
    this.edited = false;
  }

  // The vertex handle under the pointer (the nearest within PICK_PX screen pixels), or -1.
  handleAt(ctx, event) {
    let best = -1;
    let bestDistance = PICK_PX;
    (this.points ?? []).forEach((point, index) => {
      const distance = screenDistance(ctx, point, event);
      if (distance <= bestDistance) [best, bestDistance] = [index, distance];
    });
    return best;
  }

  // A press on a handle starts dragging that vertex (true: the press is the proposal's).
  press(ctx, event) {
    if (event.button !== 0 || !this.shown || this.accepting) return false;
    const index = this.handleAt(ctx, event);
    if (index < 0) return false;
    this.drag = index;
    ctx.setDragging(true);
    return true;
  }

  move(ctx, event) {
    if (this.drag === null) return false;
    this.points[this.drag] = ctx.clampHard(ctx.toImage(event));
    this.edited = true;
    ctx.redraw();
    return true;
  }

  release(ctx) {
    if (this.drag === null) return false;
    this.drag = null;
    ctx.setDragging(false);
    ctx.redraw();
    return true;
  }

  // Accept: one add_polygon of the active label (or the picker's, with Ask after closing); the proposal is
  // gone once sent (the shape shows at once, as predicted). A refusal of the command is told as any other
  // (the page's messages), and the proposal comes back as it was sent, its handles editable, so that
  // nothing the person did is lost: mend it and press Enter again, or drop it. Only when the tool shows no
  // other proposal by then (one asked for meanwhile is not overwritten).
  async accept(ctx) {
    if (!this.shown || this.accepting) return;
    const points = cleanRing(this.points, ctx);
    if (points.length < 3) {
      ctx.refuse('too_few_vertices', 'This proposal has fewer than 3 vertices: drop it (Esc) and try again.', this.points[0] ?? null);
      return;
    }
    this.accepting = true;
    const labelClassId = await ctx.labelForNewShape(points[0]);
    this.accepting = false;
    if (labelClassId === null) return; // no label, or the picker cancelled: the proposal stays
    const sent = { points: this.points, score: this.score, edited: this.edited };
    this.drop(ctx);
    const answer = ctx.sendAndWait({ type: 'add_polygon', shape_id: ctx.newId(), label_class_id: labelClassId, points }, { at: points[0] });
    ctx.redraw();
    answer.catch(() => this.restore(ctx, sent));
  }

  // A refused acceptance: the proposal back as it was sent (see accept).
  restore(ctx, { points, score, edited }) {
    if (this.shown) return;
    this.show({ points, score });
    this.edited = edited;
    ctx.redraw();
  }

  overlay(ctx) {
    if (!this.shown) return null;
    return { points: this.points, color: ctx.activeColor(), edited: this.edited, dragging: this.drag };
  }
}

export class Asker {
  // tool: the route's name (scissors, box, wand, model); gapMs: the least time between two requests' starts
  // (the scissors' live preview: a pointer moving over a fast server would send as many requests as the
  // per-user rate allows).
  constructor(tool, { gapMs = 0 } = {}) {
    this.tool = tool;
    this.gapMs = gapMs;
    this.latest = 0; // the token of the latest request asked (`ask`)
    this.epoch = 0; // bumped by cancel: the sure requests of an earlier epoch are not used
    this.pumping = false; // a request is in flight, or about to go
    this.running = null; // the request in flight
    this.waiting = null; // the latest request, waiting for it
    this.sure = []; // requests sent whatever is asked after them, in order, before `waiting` (`askSure`)
    this.startedAt = -Infinity;
  }

  // ask(ctx, body, {at, onAnswer, onError, always}): the latest wins. onAnswer(answer) is called only when
  // this is still the latest request once answered, always(answer) for any answer; a refusal of the latest
  // is shown (at: where, for its mark) and onError(error) called.
  ask(ctx, body, handlers) {
    this.latest += 1;
    this.waiting = { ...handlers, body, token: this.latest };
    this.pump(ctx);
  }

  // A request that is sent even when others are asked after it (one stretch of the scissors' outline, the
  // close), before the latest `ask`, one at a time as the rest.
  askSure(ctx, body, handlers) {
    this.sure.push({ ...handlers, body, sure: true, epoch: this.epoch });
    this.pump(ctx);
  }

  // The request in flight or waiting whose body passes `test`, kept: a waiting one becomes sure (it is sent
  // even when another is asked after it). False: none.
  keep(test) {
    if (this.running && test(this.running.body)) return true;
    if (!this.waiting || !test(this.waiting.body)) return false;
    this.sure.push({ ...this.waiting, sure: true, epoch: this.epoch });
    this.waiting = null;
    return true;
  }

  // The latest request, if it is still waiting, is not sent.
  dropWaiting() {
    this.latest += 1;
    this.waiting = null;
  }

  // Answers still to come are not used; nothing waiting is sent.
  cancel() {
    this.latest += 1;
    this.epoch += 1;
    this.waiting = null;
    this.sure = [];
  }

  current(request) {
    return request.sure ? request.epoch === this.epoch : request.token === this.latest;
  }

  // One request at a time: the sure ones in order, then the latest; the page shows it is waiting meanwhile.
  async pump(ctx) {
    if (this.pumping) return;
    this.pumping = true;
    ctx.assistBusy(this, true);
    try {
      for (;;) {
        const wait = this.startedAt + this.gapMs - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const request = this.sure.shift() ?? this.waiting;
        if (!request) break;
        if (request === this.waiting) this.waiting = null;
        this.running = request;
        this.startedAt = performance.now();
        try {
          const answer = await ctx.assist(this.tool, request.body);
          request.always?.(answer);
          if (this.current(request)) request.onAnswer?.(answer);
        } catch (error) {
          if (this.current(request)) {
            ctx.refuse(error.code || 'assist_error', error.message || 'The assistant did not answer.', request.at ?? null);
            request.onError?.(error);
          }
        }
        this.running = null;
        ctx.redraw();
      }
    } finally {
      this.pumping = false;
      this.running = null;
      ctx.assistBusy(this, false);
    }
  }
}

// A left-button press: where it began, and whether it moved far enough to be a drag.
export class Press {
  constructor(ctx, event) {
    this.client = [event.clientX, event.clientY];
    this.start = ctx.toImage(event);
    this.end = this.start;
    this.moved = false;
    this.shiftKey = event.shiftKey;
    this.altKey = event.altKey;
  }

  move(ctx, event) {
    if (!this.moved && Math.hypot(event.clientX - this.client[0], event.clientY - this.client[1]) < DRAG_PX) return;
    this.moved = true;
    this.end = ctx.clampHard(ctx.toImage(event));
  }

  // The box being dragged, as drawn: [x0, y0, x1, y1] on the image, or null before the press moved.
  shownBox(ctx) {
    if (!this.moved) return null;
    const [sx, sy] = ctx.clampHard(this.start);
    const [ex, ey] = this.end;
    return [Math.min(sx, ex), Math.min(sy, ey), Math.max(sx, ex), Math.max(sy, ey)];
  }

  // The dragged box [x0, y0, x1, y1] on the image, or null when it is too small on screen (a click).
  box(ctx) {
    const box = this.shownBox(ctx)?.map(round2);
    if (!box) return null;
    const [cl, ct] = ctx.toClient([box[0], box[1]]);
    const [cr, cb] = ctx.toClient([box[2], box[3]]);
    if (cr - cl < DRAG_PX || cb - ct < DRAG_PX || box[2] <= box[0] || box[3] <= box[1]) return null;
    return box;
  }
}

// A prompt point {x, y, label (1: the object, 0: background)} where a click put it, kept on the image;
// null (refused with a message) when the click was farther outside than the clamp.
export function promptPoint(ctx, event, label) {
  const raw = ctx.toImage(event);
  const point = ctx.clamp(raw);
  if (!point) {
    ctx.refuse('outside_image', 'That is outside the image: click on it.', raw);
    return null;
  }
  const [x, y] = ctx.clampHard(point).map(round2);
  return { x, y, label };
}

// What the prompt tools (wand, box, model) do alike: their state holds a `proposal` and the `press` going
// on, and drop(state, ctx) clears a tool's prompts with its proposal.

// A left press: on a proposal's vertex it drags the vertex, else it begins state.press (a click or a drag).
export function pressDown(state, ctx, event) {
  if (event.button !== 0 || state.proposal.accepting) return false;
  if (state.proposal.press(ctx, event)) return true;
  state.press = new Press(ctx, event);
  return true;
}

// The pointer moved: a vertex dragged, else the press followed and redrawn (its box is drawn as it goes).
export function pressMove(state, ctx, event) {
  if (state.proposal.move(ctx, event)) return;
  if (!state.press) return;
  state.press.move(ctx, event);
  ctx.redraw();
}

// The left button let go: the press it ends, for the tool; null after a vertex's drag, or with no press.
export function pressUp(state, ctx) {
  if (state.proposal.release(ctx)) return null;
  const press = state.press;
  state.press = null;
  return press;
}

// The handlers of an answer: its best polygon becomes the proposal.
export function showAnswer(state, ctx, at) {
  return {
    at,
    onAnswer(answer) {
      state.proposal.show(answer.polygons[0]);
      ctx.redraw();
    },
  };
}

// Enter (true when it was the key): the proposal accepted as one add_polygon; once in, the prompts dropped.
export function acceptKey(state, ctx, action, drop) {
  if (action !== 'accept_proposal' || !state.proposal.shown) return false;
  acceptThenDrop(state, ctx, drop);
  return true;
}

// Esc (true when it was the key and there was something to drop): the press going on (the rest of a drag,
// and its release, do nothing), the prompts and the proposal dropped. `prompted`: the tool has prompts.
export function dropKey(state, ctx, action, prompted, drop) {
  if (action !== 'drop_proposal' || !(state.press || prompted || state.proposal.shown)) return false;
  state.press = null;
  drop(state, ctx);
  ctx.redraw();
  return true;
}

async function acceptThenDrop(state, ctx, drop) {
  await state.proposal.accept(ctx);
  if (!state.proposal.shown) drop(state, ctx);
}

// The overlay's SVG, in the renderer's overlay layer (its --px keeps handles and strokes one size on
// screen). render(assist): assist = {proposal?: {points, color, edited, dragging}, box?: [x0, y0, x1, y1],
// prompts?: [{x, y, label}], anchors?: [[x, y]], firstHot?: bool, path?: [[x, y]], live?: [[x, y]]} or null.
export class AssistLayer {
  constructor(parent) {
    this.g = el('g', { class: 'assist' }, parent);
    this.box = el('rect', { class: 'assist-box' }, this.g);
    this.path = el('polyline', { class: 'assist-path' }, this.g);
    this.live = el('polyline', { class: 'assist-live' }, this.g);
    this.outline = el('polygon', { class: 'proposal' }, this.g);
    this.handles = el('g', { class: 'proposal-vertices' }, this.g);
    this.anchors = el('g', { class: 'assist-anchors' }, this.g);
    this.prompts = el('g', { class: 'assist-prompts' }, this.g);
  }

  render(assist) {
    const a = assist ?? {};
    this.g.style.display = assist ? '' : 'none';
    const box = a.box;
    this.box.style.display = box ? '' : 'none';
    if (box) {
      this.box.setAttribute('x', box[0]);
      this.box.setAttribute('y', box[1]);
      this.box.setAttribute('width', box[2] - box[0]);
      this.box.setAttribute('height', box[3] - box[1]);
    }
    this.path.setAttribute('points', pointsAttr(a.path));
    this.live.setAttribute('points', pointsAttr(a.live));
    const proposal = a.proposal;
    this.outline.style.display = proposal ? '' : 'none';
    this.outline.setAttribute('points', pointsAttr(proposal?.points));
    this.outline.style.stroke = proposal?.color ?? '';
    this.outline.style.fill = proposal?.color ?? '';
    this.outline.classList.toggle('edited', !!proposal?.edited);
    this.circles(this.handles, proposal?.points ?? [], 'proposal-vertex', (circle, i) => {
      circle.style.stroke = proposal.color ?? '';
      circle.classList.toggle('dragging', proposal.dragging === i);
    });
    this.circles(this.anchors, a.anchors ?? [], 'assist-anchor', (circle, i) => circle.classList.toggle('first', i === 0));
    this.anchors.classList.toggle('closable', !!a.firstHot);
    const prompts = a.prompts ?? [];
    this.circles(
      this.prompts,
      prompts.map((p) => [p.x, p.y]),
      'assist-prompt',
      (circle, i) => (circle.dataset.label = String(prompts[i].label)),
    );
  }

  // One circle per point (class `kind`, data-index), made or removed as the count changes.
  circles(group, points, kind, decorate) {
    while (group.children.length > points.length) group.lastElementChild.remove();
    while (group.children.length < points.length) el('circle', { class: kind, 'data-index': group.children.length }, group);
    points.forEach(([x, y], i) => {
      const circle = group.children[i];
      circle.setAttribute('cx', x);
      circle.setAttribute('cy', y);
      decorate(circle, i);
    });
  }
}
