// Model (Q; shown only when the server has a model server configured, POLYLOG_ASSIST_MODEL_URL): prompt
// the model (POST items/<id>/assist/model/, docs/assist.md) with points and a box. A click marks a point
// of the object, Alt+click or right-click a point of the background, a drag draws the box (one box: a new
// drag replaces it); each prompt asks again with all of them, and the best polygon answered is proposed.
// Backspace takes the last point back. The proposal (label/proposal.js): drag its vertices, Enter accepts it
// as one add_polygon of the active label, Esc drops it with the prompts. Nothing is sent to the item until
// it is accepted.

import { MODES } from '../constants.js';
import { Asker, Proposal, acceptKey, dropKey, pressDown, pressMove, pressUp, promptPoint, showAnswer } from '../proposal.js';

const MAX_POINTS = 50; // the server's bound on the points of one prompt

function ask(state, ctx) {
  const { points, box } = state;
  if (!points.length && !box) {
    state.asker.cancel();
    state.proposal.drop(ctx);
    return;
  }
  const last = points.at(-1);
  state.asker.ask(ctx, { points, box }, showAnswer(state, ctx, last ? [last.x, last.y] : [box[0], box[1]]));
}

function addPoint(state, ctx, event, label) {
  if (state.points.length >= MAX_POINTS) {
    ctx.refuse('too_many_points', `A prompt takes at most ${MAX_POINTS} points: accept or drop this one (Enter, Esc).`, ctx.toImage(event));
    return;
  }
  const point = promptPoint(ctx, event, label);
  if (!point) return;
  state.points.push(point);
  ask(state, ctx);
  ctx.redraw();
}

function drop(state, ctx) {
  state.asker.cancel();
  state.proposal.drop(ctx);
  state.points = [];
  state.box = null;
}

export default {
  name: MODES.MODEL,
  hint: 'Model: click the object, Alt+click or right-click the background, drag a box · drag the proposal’s vertices · Enter accepts (active label) · Esc drops · Backspace removes the last point',

  onSetup() {
    return { points: [], box: null, press: null, proposal: new Proposal(), asker: new Asker('model') };
  },

  onMouseDown: pressDown,
  onMouseMove: pressMove,

  onMouseUp(state, ctx, event) {
    const press = pressUp(state, ctx);
    if (!press) return;
    ctx.redraw();
    if (!press.moved) return addPoint(state, ctx, event, press.altKey ? 0 : 1);
    const box = press.box(ctx);
    if (!box) return;
    state.box = box;
    ask(state, ctx);
  },

  onContextMenu(state, ctx, event) {
    if (!state.proposal.accepting) addPoint(state, ctx, event, 0);
  },

  onKeyDown(state, ctx, event, action) {
    if (state.proposal.accepting) return false;
    if (acceptKey(state, ctx, action, drop)) return true;
    if (dropKey(state, ctx, action, state.points.length || state.box, drop)) return true;
    if (action === 'remove_last_prompt') {
      // In this tool Backspace is the prompt's: it never goes on to delete the selected shape.
      if (state.points.length) {
        state.points.pop();
        ask(state, ctx);
        ctx.redraw();
      }
      return true;
    }
    return false;
  },

  onStop(state, ctx) {
    state.press = null;
    drop(state, ctx);
  },

  render(state, ctx) {
    const box = state.press?.shownBox(ctx) ?? state.box;
    if (!box && !state.points.length && !state.proposal.shown) return {};
    return { assist: { box, prompts: state.points, proposal: state.proposal.overlay(ctx) } };
  },
};
