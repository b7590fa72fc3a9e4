// Rectangle tool: press and drag a box; on release it becomes a 4-vertex polygon of the active label, sent
// as one `add_polygon` (one undo action). The box is kept on the image (a corner dragged past the border
// stops at it); a press that starts farther outside than the clamp tolerance is refused with a message. A
// box under DRAG_PX screen pixels either way (a click) sends nothing. A corner snaps onto another shape's
// vertex or edge (Alt: not), exactly; other corners are rounded to two decimals. Sends commands; the store
// draws them.

import { DRAG_PX, MODES } from '../constants.js';
import { round2 } from '../geometry.js';

// The rectangle from two corners (as they are: `corner` rounds them), clockwise from the top left (image y
// goes down).
export function rectangle([x0, y0], [x1, y1]) {
  const [left, right] = [Math.min(x0, x1), Math.max(x0, x1)];
  const [top, bottom] = [Math.min(y0, y1), Math.max(y0, y1)];
  return [
    [left, top],
    [right, top],
    [right, bottom],
    [left, bottom],
  ];
}

// Where a corner goes: snapped onto a neighbour exactly (snap: its target), else `place` (the clamp) of the
// pointer, rounded to two decimals; null when `place` refuses it.
function corner(ctx, event, place) {
  const snapped = ctx.snap(ctx.toImage(event), { event });
  if (snapped.target) return { point: snapped.point, snap: snapped.target };
  const point = place(ctx.toImage(event));
  return point && { point: point.map(round2), snap: null };
}

export default {
  name: MODES.DRAW_RECTANGLE,
  hint: 'Drag a box: it becomes a polygon of the active label (1-9 choose it) · Esc cancels the box · Space+drag pans',

  onSetup() {
    return { box: null, picking: false, snap: null };
  },

  onMouseDown(state, ctx, event) {
    if (event.button !== 0 || state.picking) return false;
    const raw = ctx.toImage(event);
    const start = corner(ctx, event, ctx.clamp)?.point;
    if (!start) {
      ctx.refuse('outside_image', 'Start the box on the image, or just beside its edge.', raw);
      return false;
    }
    state.box = { start, end: start, client: [event.clientX, event.clientY], moved: false };
    return true;
  },

  onMouseMove(state, ctx, event) {
    const box = state.box;
    if (!box) {
      state.snap = corner(ctx, event, ctx.clampHard).snap; // where a press would start the box
      ctx.redraw();
      return;
    }
    if (!box.moved && Math.hypot(event.clientX - box.client[0], event.clientY - box.client[1]) < DRAG_PX) return;
    box.moved = true;
    ({ point: box.end, snap: state.snap } = corner(ctx, event, ctx.clampHard));
    ctx.redraw();
  },

  async onMouseUp(state, ctx) {
    const box = state.box;
    state.box = null;
    ctx.redraw();
    if (!box?.moved) return;
    const points = rectangle(box.start, box.end);
    const [[left, top], , [right, bottom]] = points;
    const [cl, ct] = ctx.toClient([left, top]);
    const [cr, cb] = ctx.toClient([right, bottom]);
    if (cr - cl < DRAG_PX || cb - ct < DRAG_PX || right - left <= 0 || bottom - top <= 0) return; // a click, or a line
    state.picking = true;
    const labelClassId = await ctx.labelForNewShape(points[0]);
    state.picking = false;
    if (labelClassId === null) return;
    ctx.send({ type: 'add_polygon', shape_id: ctx.newId(), label_class_id: labelClassId, points }, { at: points[0] });
  },

  onKeyDown(state, ctx, event, action) {
    if (action !== 'cancel_box' || !state.box) return false;
    state.box = null;
    ctx.redraw();
    return true;
  },

  onStop(state) {
    state.box = null;
    state.snap = null;
  },

  render(state, ctx) {
    const snap = state.picking ? null : state.snap;
    if (!state.box?.moved) return { snap };
    const points = rectangle(state.box.start, state.box.end);
    return { preview: [...points, points[0]], previewColor: ctx.activeColor(), snap };
  },
};
