// Polygon tool: click to add a vertex (just outside the image it lands on the border; farther out it is
// refused with a message); click the first vertex (or Enter) to close it with the active label (or the
// label picker, when the person asked for it); Escape drops the draft; Backspace removes its last vertex
// (and only that: in this tool it never deletes a shape). A vertex snaps onto a neighbour's vertex or edge
// (Alt: not), and a click on a neighbour's outline right after a vertex on it traces along it (T: the
// other way round). Sends commands; the store draws them.

import { MODES, SNAP_PX } from '../constants.js';

function myDraft(state, ctx) {
  const drafts = ctx.view().drafts;
  if (state.shapeId && drafts.has(state.shapeId)) return drafts.get(state.shapeId);
  return null;
}

// Whether a client point is on (near) the draft's first vertex, measured on screen.
function onFirstVertex(ctx, draft, clientX, clientY) {
  if (!draft || draft.points.length < 3) return false;
  const [fx, fy] = ctx.toClient(draft.points[0]);
  return Math.hypot(fx - clientX, fy - clientY) <= SNAP_PX;
}

// Trace along a neighbour: when the draft's last vertex and `to` lie on one shape's outline, its vertices
// between them, the shorter way round (or the other way after T); null when there is nothing to trace,
// Alt is held, or the way passes a vertex the draft already has.
function tracePlan(state, ctx, draft, to, preferId, event) {
  if (!draft || event?.altKey) return null;
  const trace = ctx.trace(draft.points.at(-1), to, { preferId, otherWay: state.otherWay });
  const has = (p) => draft.points.some((q) => q[0] === p[0] && q[1] === p[1]);
  return trace && !trace.between.some(has) ? trace : null;
}

// The traced vertices go in first: one add_vertex each (no batch command; each is one undo step).
function sendTrace(state, ctx, draft, to, preferId, event) {
  const trace = tracePlan(state, ctx, draft, to, preferId, event);
  for (const [x, y] of trace?.between ?? []) ctx.send({ type: 'add_vertex', shape_id: draft.id, x, y }, { at: [x, y] });
  state.otherWay = false;
}

async function close(state, ctx, at) {
  const draft = myDraft(state, ctx);
  if (!draft) return;
  if (draft.points.length < 3) {
    ctx.refuse('too_few_vertices', 'A polygon needs at least 3 vertices; keep clicking.', at ?? draft.points.at(-1));
    return;
  }
  state.picking = true;
  const labelClassId = await ctx.labelForNewShape(at ?? draft.points[0]);
  state.picking = false;
  if (labelClassId === null) return; // no label, or the picker cancelled: the draft stays as it is
  ctx.send({ type: 'close_polygon', shape_id: draft.id, label_class_id: labelClassId }, { at: at ?? draft.points[0] });
}

export default {
  name: MODES.DRAW_POLYGON,
  hint: 'Click adds a vertex (snaps onto neighbours; Alt: not) · two clicks on a neighbour trace it (T: other way) · first vertex or Enter closes (active label) · Esc drops · Backspace removes the last vertex',

  onSetup(ctx) {
    // A reload keeps the drafts (they are state): carry on with our latest one.
    const mine = [...ctx.view().drafts.values()].filter((d) => d.actor === ctx.me.id);
    return { shapeId: mine.at(-1)?.id ?? null, hover: null, hot: false, picking: false, snap: null, alt: false, otherWay: false };
  },

  onClick(state, ctx, event) {
    if (event.button !== 0 || state.picking) return;
    const draft = myDraft(state, ctx);
    if (onFirstVertex(ctx, draft, event.clientX, event.clientY)) {
      sendTrace(state, ctx, draft, draft.points[0], null, event); // back along the neighbour to the start
      close(state, ctx, draft.points[0]);
      return;
    }
    const raw = ctx.toImage(event);
    const snapped = ctx.snap(raw, { event });
    const point = snapped.target ? snapped.point : ctx.clamp(raw);
    if (!point) {
      ctx.refuse('outside_image', 'That is outside the image: click on it, or just beside its edge to put a vertex on the border.', raw);
      return;
    }
    const [x, y] = point;
    if (draft) {
      // The second click of a double click lands on the vertex just added: not a new vertex.
      const [lx, ly] = ctx.toClient(draft.points.at(-1));
      const [cx, cy] = ctx.toClient(point);
      if (Math.hypot(lx - cx, ly - cy) < 2) return;
      if (snapped.target) sendTrace(state, ctx, draft, point, snapped.target.shapeId, event);
    } else {
      state.shapeId = ctx.newId();
    }
    ctx.send({ type: 'add_vertex', shape_id: state.shapeId, x, y }, { at: [x, y] });
    state.otherWay = false;
  },

  onMouseMove(state, ctx, event) {
    const at = ctx.toImage(event);
    const draft = myDraft(state, ctx);
    state.hot = onFirstVertex(ctx, draft, event.clientX, event.clientY);
    const snapped = state.hot ? { point: draft.points[0], target: null } : ctx.snap(at, { event });
    state.snap = snapped.target;
    state.alt = event.altKey;
    state.hover = snapped.target ? snapped.point : (ctx.clamp(at) ?? at); // the preview ends where a click would put the vertex
    ctx.redraw();
  },

  // action: this tool's row of the shortcut table (shortcuts.js) the key matched.
  onKeyDown(state, ctx, event, action) {
    const draft = myDraft(state, ctx);
    if (state.picking) return false;
    if (action === 'close_draft' && draft) {
      close(state, ctx, draft.points[0]);
      return true;
    }
    if (action === 'trace_other_way' && draft) {
      state.otherWay = !state.otherWay;
      ctx.redraw();
      return true;
    }
    if (action === 'discard_draft' && draft) {
      ctx.send({ type: 'discard_draft', shape_id: draft.id }, { at: draft.points.at(-1) });
      state.shapeId = null;
      return true;
    }
    if (action === 'remove_last_vertex') {
      // In this tool Backspace is the draft's: without one it does nothing (a repeated press that emptied
      // the draft must not go on to delete the selected shape).
      if (draft) ctx.send({ type: 'remove_vertex', shape_id: draft.id, index: draft.points.length - 1 }, { at: draft.points.at(-1) });
      return true;
    }
    return false;
  },

  onStop(state) {
    state.hover = null;
    state.snap = null;
  },

  render(state, ctx) {
    const draft = myDraft(state, ctx);
    const snap = state.snap && !state.picking ? state.snap : null;
    if (!draft || !state.hover || state.picking) return { firstVertexHot: state.hot, snap };
    // The way a click here would trace, drawn before the click (T flips it).
    const plan = state.hot || snap ? tracePlan(state, ctx, draft, state.hover, snap?.shapeId ?? null, { altKey: state.alt }) : null;
    const trace = plan ? [draft.points.at(-1), ...plan.between, state.hover] : null;
    return { preview: [draft.points.at(-1), state.hover], firstVertexHot: state.hot, snap, trace };
  },
};
