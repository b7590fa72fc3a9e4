// Split tool (K, with a shape selected): draw a line across the selected shape, from outside it to outside
// it, and it is cut along the line into two or more shapes (one `split_shape`, one undo action). Press,
// drag and release draws the line; or click its two ends (the line follows the pointer between the
// clicks). The line may start or end beside the image. After the cut the page goes back to the edit tool
// with the shape selected; Esc drops the line, and a second Esc goes back without cutting. Sends
// commands; the store draws their events.

import { DRAG_PX, MODES } from '../constants.js';
import { round2 } from '../geometry.js';

export default {
  name: MODES.SPLIT,
  hint: 'Draw a line across the selected shape (drag, or click both ends), from outside it to outside it · Esc goes back',

  onSetup() {
    return { start: null, end: null, client: null, pressed: false, dragged: false, second: false };
  },

  onMouseDown(state, ctx, event) {
    if (event.button !== 0) return false;
    const at = ctx.toImage(event);
    if (!state.start) {
      Object.assign(state, { start: at, end: at, client: [event.clientX, event.clientY], dragged: false, second: false });
    } else {
      Object.assign(state, { end: at, second: true });
    }
    state.pressed = true;
    return true;
  },

  onMouseMove(state, ctx, event) {
    if (!state.start) return;
    state.end = ctx.toImage(event);
    if (state.pressed && Math.hypot(event.clientX - state.client[0], event.clientY - state.client[1]) >= DRAG_PX) state.dragged = true;
    ctx.redraw();
  },

  onMouseUp(state, ctx, event) {
    if (!state.start || !state.pressed) return;
    state.pressed = false;
    state.end = ctx.toImage(event);
    if (!state.dragged && !state.second) return; // the first click: the line now follows the pointer
    const line = [state.start, state.end].map(([x, y]) => [round2(x), round2(y)]);
    Object.assign(state, { start: null, end: null });
    const shape = ctx.view().shapes.get(ctx.selectedId());
    if (!shape) {
      ctx.refuse('no_selection', 'The shape to split is gone: select another one.', line[1]);
      return;
    }
    ctx.send({ type: 'split_shape', shape_id: shape.id, line }, { at: line[0] });
    ctx.setMode(MODES.EDIT);
    ctx.select(shape.id);
  },

  onKeyDown(state, ctx, event, action) {
    if (action !== 'cancel_split') return false;
    if (state.start) Object.assign(state, { start: null, end: null, pressed: false });
    else ctx.setMode(MODES.EDIT);
    ctx.redraw();
    return true;
  },

  onStop(state) {
    Object.assign(state, { start: null, end: null, pressed: false });
  },

  render(state) {
    if (!state.start) return {};
    return { preview: [state.start, state.end], previewColor: '#e03131' };
  },
};
