// Box to polygon (X): drag a box around the object; the server (POST items/<id>/assist/box/, GrabCut inside
// the box, its largest outline, simplified to the Simplify slider) proposes its outline. Shift+click marks
// a point of the object, Alt+click or right-click a point of the background: each asks again with every
// mark and refines the proposal. A new drag starts over with a new box. The proposal (label/proposal.js):
// drag its vertices, Enter accepts it as one add_polygon of the active label, Esc drops it with the box
// and its marks. Nothing is sent to the item until it is accepted.

import { MODES } from '../constants.js';
import { Asker, Proposal, acceptKey, dropKey, pressDown, pressMove, pressUp, promptPoint, showAnswer } from '../proposal.js';

const MAX_POINTS = 50; // the server's bound on the marks of one box

function ask(state, ctx) {
  const { box, points } = state.prompt;
  const at = points.length ? [points.at(-1).x, points.at(-1).y] : [box[0], box[1]];
  state.asker.ask(ctx, { box, points, tolerance: ctx.assistOptions().simplify }, showAnswer(state, ctx, at));
}

// A mark (1: object, 0: background) inside the current box's prompt, and the proposal asked again.
function mark(state, ctx, event, label) {
  if (!state.prompt) {
    ctx.refuse('no_box', 'Drag a box around the object first; then Shift+click marks the object, Alt+click the background.', ctx.toImage(event));
    return;
  }
  if (state.prompt.points.length >= MAX_POINTS) {
    ctx.refuse('too_many_points', `A box takes at most ${MAX_POINTS} marks: drag a new box to start over.`, ctx.toImage(event));
    return;
  }
  const point = promptPoint(ctx, event, label);
  if (!point) return;
  state.prompt.points.push(point);
  ask(state, ctx);
  ctx.redraw();
}

function drop(state, ctx) {
  state.asker.cancel();
  state.proposal.drop(ctx);
  state.prompt = null;
}

export default {
  name: MODES.BOX_ASSIST,
  hint: 'Box to polygon: drag a box around the object · Shift+click marks the object, Alt+click or right-click the background · drag the proposal’s vertices · Enter accepts (active label) · Esc drops',

  onSetup(ctx) {
    // The image's regions made ahead on the server (POST items/<id>/assist/box/prepare/), so the first box
    // does not wait for them. Nothing to show when refused (the rate, say): the first box makes them.
    ctx.assist('box/prepare', {}).catch(() => {});
    // prompt: {box, points} asked last; press: the left-button press going on.
    return { prompt: null, press: null, proposal: new Proposal(), asker: new Asker('box') };
  },

  onMouseDown: pressDown,
  onMouseMove: pressMove,

  onMouseUp(state, ctx, event) {
    const press = pressUp(state, ctx);
    if (!press) return;
    ctx.redraw();
    if (!press.moved) {
      if (press.shiftKey) mark(state, ctx, event, 1);
      else if (press.altKey) mark(state, ctx, event, 0);
      return; // a plain click: nothing (a box is dragged)
    }
    const box = press.box(ctx);
    if (!box) return; // a line, or a box too small on screen
    drop(state, ctx);
    state.prompt = { box, points: [] };
    ask(state, ctx);
  },

  onContextMenu(state, ctx, event) {
    if (!state.proposal.accepting) mark(state, ctx, event, 0);
  },

  onKeyDown(state, ctx, event, action) {
    if (state.proposal.accepting) return false;
    if (acceptKey(state, ctx, action, drop)) return true;
    return dropKey(state, ctx, action, state.prompt, drop);
  },

  // A slider let go: the box (and its marks) asked again, unless the proposal was edited by hand.
  onOptionsChange(state, ctx) {
    if (state.prompt && !state.proposal.edited) ask(state, ctx);
  },

  onStop(state, ctx) {
    state.press = null;
    drop(state, ctx);
  },

  render(state, ctx) {
    const dragged = state.press?.shownBox(ctx) ?? null; // a new box: the last one's proposal is not shown
    const box = dragged ?? state.prompt?.box ?? null;
    if (!box && !state.proposal.shown) return {};
    return { assist: { box, prompts: dragged ? [] : (state.prompt?.points ?? []), proposal: dragged ? null : state.proposal.overlay(ctx) } };
  },
};
