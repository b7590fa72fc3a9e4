// Magic wand (W): a click floods the colour around the clicked pixel within the Colour tolerance slider
// (POST items/<id>/assist/wand/) and the outline of the flooded region, simplified to the Simplify slider,
// is proposed. Another click proposes again from there (replacing the proposal); a slider let go floods
// again from the same point. The proposal (label/proposal.js): drag its vertices, Enter accepts it as one
// add_polygon of the active label, Esc drops it. Nothing is sent to the item until it is accepted.

import { MODES } from '../constants.js';
import { Asker, Proposal, acceptKey, pressDown, pressUp, promptPoint, showAnswer } from '../proposal.js';

function ask(state, ctx) {
  const { x, y } = state.point;
  const options = ctx.assistOptions();
  const body = { point: [x, y], tolerance: options.tolerance, simplify: options.simplify };
  state.asker.ask(ctx, body, showAnswer(state, ctx, [x, y]));
}

function drop(state, ctx) {
  state.asker.cancel();
  state.proposal.drop(ctx);
  state.point = null;
}

export default {
  name: MODES.WAND,
  hint: 'Magic wand: click a region of similar colour (Colour tolerance above) · drag the proposal’s vertices · Enter accepts (active label) · Esc drops',

  onSetup() {
    return { point: null, press: null, proposal: new Proposal(), asker: new Asker('wand') };
  },

  onMouseDown: pressDown,

  onMouseMove(state, ctx, event) {
    if (state.proposal.move(ctx, event)) return;
    state.press?.move(ctx, event); // nothing drawn for it: not redrawn
  },

  onMouseUp(state, ctx, event) {
    const press = pressUp(state, ctx);
    if (!press || press.moved) return; // a drag is nothing here (Space+drag pans)
    const point = promptPoint(ctx, event, 1);
    if (!point) return;
    drop(state, ctx);
    state.point = point;
    ask(state, ctx);
    ctx.redraw();
  },

  onKeyDown(state, ctx, event, action) {
    if (state.proposal.accepting) return false;
    if (acceptKey(state, ctx, action, drop)) return true;
    if (action === 'drop_proposal' && (state.point || state.proposal.shown)) {
      drop(state, ctx);
      ctx.redraw();
      return true;
    }
    return false;
  },

  // A slider let go: flooded again from the same point, unless the proposal was edited by hand.
  onOptionsChange(state, ctx) {
    if (state.point && !state.proposal.edited) ask(state, ctx);
  },

  onStop(state, ctx) {
    state.press = null;
    drop(state, ctx);
  },

  render(state, ctx) {
    if (!state.point && !state.proposal.shown) return {};
    return { assist: { prompts: state.point ? [state.point] : [], proposal: state.proposal.overlay(ctx) } };
  },
};
