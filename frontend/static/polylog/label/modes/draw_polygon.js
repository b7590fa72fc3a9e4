// Polygon tool: click to add a vertex (just outside the image it lands on the border; farther out it is
// refused with a message); click the first vertex (or Enter) to close it with the active label (or the
// label picker, when the person asked for it); Escape drops the draft; Backspace removes its last vertex
// (and only that: in this tool it never deletes a shape). Sends commands; the store draws them.

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
  hint: 'Click adds a vertex (just outside the image: on its edge) · first vertex or Enter closes (active label) · Esc drops · Backspace removes the last vertex · Del deletes the selection',

  onSetup(ctx) {
    // A reload keeps the drafts (they are state): carry on with our latest one.
    const mine = [...ctx.view().drafts.values()].filter((d) => d.actor === ctx.me.id);
    return { shapeId: mine.at(-1)?.id ?? null, hover: null, hot: false, picking: false };
  },

  onClick(state, ctx, event) {
    if (event.button !== 0 || state.picking) return;
    const draft = myDraft(state, ctx);
    if (onFirstVertex(ctx, draft, event.clientX, event.clientY)) {
      close(state, ctx, draft.points[0]);
      return;
    }
    const raw = ctx.toImage(event);
    const point = ctx.clamp(raw);
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
    } else {
      state.shapeId = ctx.newId();
    }
    ctx.send({ type: 'add_vertex', shape_id: state.shapeId, x, y }, { at: [x, y] });
  },

  onMouseMove(state, ctx, event) {
    const at = ctx.toImage(event);
    state.hover = ctx.clamp(at) ?? at; // the preview ends where a click would put the vertex
    state.hot = onFirstVertex(ctx, myDraft(state, ctx), event.clientX, event.clientY);
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
  },

  render(state, ctx) {
    const draft = myDraft(state, ctx);
    if (!draft || !state.hover || state.picking) return { firstVertexHot: state.hot };
    return { preview: [draft.points.at(-1), state.hover], firstVertexHot: state.hot };
  },
};
