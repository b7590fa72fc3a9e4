// Freehand tool: press and drag along an outline; on release the stroke is simplified (Douglas-Peucker,
// FREEHAND_TOLERANCE_PX screen pixels, so a stroke drawn zoomed in keeps more detail in image pixels),
// kept on the image and sent as one `add_polygon` of the active label: one event, one undo action, no
// draft. Shift keeps the outline open: a drag released with Shift held is a freehand stretch of it, a
// Shift+click a straight side to that point; the next drag or click without Shift (its stretch or point
// added), Enter, or a click on the first point sends the whole outline, still as one add_polygon. Until
// then the outline is this page's own: nothing is sent, Esc drops it, Backspace takes back its last part.
// A stroke's two ends and a clicked point snap onto a neighbour's vertex or edge as a polygon-tool click
// does (Alt: not) and are sent exactly; the points between follow the hand and are rounded.

import { DRAG_PX, FREEHAND_TOLERANCE_PX, MODES, SNAP_PX } from '../constants.js';
import { dist, ringArea, round2 } from '../geometry.js';
import { simplify } from '../simplify.js';

// The outline the parts make, as it would be sent: on the image, in hundredths (a snapped point, one of
// `exact`, as it is), no point twice in a row, and no last point on top of the first (a stroke that came
// back to where it started closes there).
function outline(parts, exact, ctx) {
  const points = [];
  for (const part of parts) {
    for (const point of part) {
      const [x, y] = exact.has(point) ? point : ctx.clampHard(point).map(round2);
      const previous = points.at(-1);
      if (!previous || previous[0] !== x || previous[1] !== y) points.push([x, y]);
    }
  }
  const onScreen = (point) => ctx.toClient(point);
  while (points.length > 1 && dist(onScreen(points.at(-1)), onScreen(points[0])) <= FREEHAND_TOLERANCE_PX) points.pop();
  return points;
}

// The points of one drag (image pixels) a pointer event brings: every coalesced move, where the browser
// has them, so a fast stroke keeps its shape.
function movesOf(event) {
  const moves = event.getCoalescedEvents?.() ?? [];
  return moves.length ? moves : [event];
}

// Where a press, a release or a click puts its point: onto a neighbour (snapped, exact), else `place` (the
// clamp) of the pointer; null when `place` refuses it.
function placed(state, ctx, event, place) {
  const snapped = ctx.snap(ctx.toImage(event), { event });
  if (!snapped.target) return place(ctx.toImage(event));
  const point = [...snapped.point];
  state.exact.add(point);
  return point;
}

async function finish(state, ctx, at) {
  const points = outline(state.parts, state.exact, ctx);
  state.parts = [];
  state.exact = new WeakSet();
  state.hover = null;
  state.snap = null;
  ctx.redraw();
  const scale = ctx.scale();
  if (points.length < 3 || ringArea(points) * scale * scale < DRAG_PX * DRAG_PX) {
    ctx.refuse('too_small', 'That stroke is too short to be an outline: hold the button and drag around the object.', at);
    return;
  }
  state.picking = true;
  const labelClassId = await ctx.labelForNewShape(points[0]);
  state.picking = false;
  if (labelClassId === null) return;
  ctx.send({ type: 'add_polygon', shape_id: ctx.newId(), label_class_id: labelClassId, points }, { at: points[0] });
}

function onFirstPoint(state, ctx, event) {
  const first = state.parts[0]?.[0];
  if (!first || state.parts.flat().length < 3) return false;
  const [fx, fy] = ctx.toClient(first);
  return Math.hypot(fx - event.clientX, fy - event.clientY) <= SNAP_PX;
}

export default {
  name: MODES.DRAW_FREEHAND,
  hint: 'Drag along an outline: on release it is a polygon of the active label (its ends snap onto neighbours; Alt: not) · Shift keeps it open (Shift+drag a stretch, Shift+click a straight side; Enter closes) · Esc drops · Space+drag pans',

  onSetup() {
    // parts: the open outline's stretches and points (image pixels), each a list of points; exact: the
    // points snapped onto a neighbour (sent unrounded); stroke: the drag going on; snap: where the pointer
    // would snap now (drawn as the polygon tool draws it).
    return { parts: [], exact: new WeakSet(), stroke: null, hover: null, snap: null, picking: false };
  },

  onMouseDown(state, ctx, event) {
    if (event.button !== 0 || state.picking) return false;
    const raw = ctx.toImage(event);
    const start = placed(state, ctx, event, ctx.clamp);
    if (!start) {
      ctx.refuse('outside_image', 'Start the outline on the image, or just beside its edge.', raw);
      return false;
    }
    state.stroke = { points: [start], client: [event.clientX, event.clientY], moved: false };
    return true;
  },

  onMouseMove(state, ctx, event) {
    const stroke = state.stroke;
    const snapped = ctx.snap(ctx.toImage(event), { event });
    state.snap = snapped.target; // where a press, a release or a click would land
    if (!stroke) {
      // The straight side a click would add, when an outline is open.
      state.hover = state.parts.length ? (snapped.target ? snapped.point : ctx.clampHard(ctx.toImage(event))) : null;
      ctx.redraw();
      return;
    }
    if (!stroke.moved && Math.hypot(event.clientX - stroke.client[0], event.clientY - stroke.client[1]) < DRAG_PX) return ctx.redraw();
    stroke.moved = true;
    for (const move of movesOf(event)) stroke.points.push(ctx.clampHard(ctx.toImage(move)));
    ctx.redraw();
  },

  onMouseUp(state, ctx, event) {
    const stroke = state.stroke;
    state.stroke = null;
    if (!stroke) return;
    if (!stroke.moved) {
      // A click: a straight side of an open outline (or its first point, with Shift); on the first point
      // it closes the outline. A plain click with no outline open draws nothing.
      if (onFirstPoint(state, ctx, event)) return finish(state, ctx, state.parts[0][0]);
      if (!state.parts.length && !event.shiftKey) return ctx.redraw();
      state.parts.push([stroke.points[0]]);
    } else {
      // The release snaps as the press did: a stroke may end on a neighbour's border exactly.
      const end = placed(state, ctx, event, ctx.clampHard);
      if (state.exact.has(end)) stroke.points.push(end);
      state.parts.push(simplify(stroke.points, FREEHAND_TOLERANCE_PX / ctx.scale()));
    }
    if (event.shiftKey) return ctx.redraw(); // Shift keeps the outline open
    return finish(state, ctx, stroke.points.at(-1));
  },

  // action: this tool's row of the shortcut table (shortcuts.js) the key matched.
  onKeyDown(state, ctx, event, action) {
    if (state.picking) return false;
    if (action === 'cancel_outline' && (state.stroke || state.parts.length)) {
      state.stroke = null; // the rest of the drag, and its release, draw nothing
      state.parts = [];
      state.hover = null;
      ctx.redraw();
      return true;
    }
    if (action === 'close_outline' && state.parts.length && !state.stroke) {
      finish(state, ctx, state.parts.at(-1).at(-1));
      return true;
    }
    if (action === 'remove_last_part') {
      // In this tool Backspace is the outline's: it never goes on to delete the selected shape.
      if (!state.stroke) state.parts.pop();
      ctx.redraw();
      return true;
    }
    return false;
  },

  onStop(state) {
    state.parts = [];
    state.stroke = null;
    state.hover = null;
    state.snap = null;
  },

  render(state, ctx) {
    const points = state.parts.flat();
    if (state.stroke) points.push(...(state.stroke.moved ? state.stroke.points : state.stroke.points.slice(0, 1)));
    else if (state.hover && points.length) points.push(state.hover);
    const snap = state.picking ? null : state.snap;
    if (!points.length) return { snap };
    return { preview: points, previewColor: ctx.activeColor(), snap };
  },
};
