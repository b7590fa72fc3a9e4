// Edit tool: click a shape to select it; drag it to move it (it stops at the image's border); press a
// vertex of the selected shape to select it, drag it to move it (just outside the image it lands on the
// border); double-click an edge to insert a vertex; Alt+click or right-click a vertex to remove it;
// Shift+click picks several shapes (to group them). A dragged vertex snaps onto another shape's vertex or
// edge (Alt, pressed once the drag has started: not). Delete / Backspace are the page's (one rule for every
// mode: the selected vertex, else the selected shape). Sends commands; the store draws them.

import { DRAG_PX, MODES } from '../constants.js';
import { nearestEdge, round2, towardZero2 } from '../geometry.js';

export default {
  name: MODES.EDIT,
  hint: 'Drag a shape or a vertex · double-click an edge adds a vertex · Alt+click / right-click removes one · Del / Backspace deletes the selected vertex, else the shape',

  onSetup() {
    return { drag: null };
  },

  onMouseDown(state, ctx, event) {
    if (event.button !== 0) return false;
    const hit = ctx.hitTest(event);
    const at = ctx.toImage(event);
    if (event.shiftKey) {
      // Shift+click picks shapes together (to group them); it moves nothing.
      if (hit.kind === 'vertex' || hit.kind === 'shape') {
        ctx.togglePick(hit.shapeId);
        return true;
      }
      return false;
    }
    if (hit.kind === 'vertex' && hit.shapeId === ctx.selectedId()) {
      const shape = ctx.view().shapes.get(hit.shapeId);
      if (event.altKey) {
        ctx.send({ type: 'remove_vertex', shape_id: hit.shapeId, index: hit.index }, { at: shape.points[hit.index] });
        ctx.select(hit.shapeId);
        return true;
      }
      ctx.selectVertex(hit.shapeId, hit.index);
      state.drag = { kind: 'vertex', shapeId: hit.shapeId, index: hit.index, start: at, client: [event.clientX, event.clientY], points: shape.points, moved: false };
      return true;
    }
    if (hit.kind === 'vertex' || hit.kind === 'shape') {
      // The body (or a vertex of a shape not selected yet) selects the shape alone: no vertex selected.
      const shape = ctx.view().shapes.get(hit.shapeId);
      ctx.select(hit.shapeId);
      state.drag = { kind: 'shape', shapeId: hit.shapeId, start: at, client: [event.clientX, event.clientY], points: shape.points, moved: false };
      return true;
    }
    ctx.select(null);
    return false; // the page pans on empty space
  },

  onMouseMove(state, ctx, event) {
    const drag = state.drag;
    if (!drag) return;
    if (!drag.moved && Math.hypot(event.clientX - drag.client[0], event.clientY - drag.client[1]) < DRAG_PX) return;
    drag.moved = true;
    const [x, y] = ctx.toImage(event);
    if (drag.kind === 'vertex') {
      // Snapped onto a neighbour, it lands there exactly (not rounded); else just outside the image it
      // shows on the border, where it will land; farther out where it is.
      const snapped = ctx.snap([x, y], { exceptShapeId: drag.shapeId, event });
      drag.snap = snapped.target;
      drag.target = snapped.target ? snapped.point : ctx.clamp([x, y]);
      const shown = drag.target ?? [x, y];
      drag.current = drag.points.map((p, i) => (i === drag.index ? shown : p));
    } else {
      const [dx, dy] = ctx.clampMove(drag.points, x - drag.start[0], y - drag.start[1]);
      drag.delta = [towardZero2(dx), towardZero2(dy)];
      drag.current = drag.points.map(([px, py]) => [px + drag.delta[0], py + drag.delta[1]]);
    }
    ctx.setDragging(true, drag);
    ctx.redraw();
  },

  onMouseUp(state, ctx, event) {
    const drag = state.drag;
    state.drag = null;
    ctx.setDragging(false);
    // Someone else removed the shape during the drag (the page said so): nothing to send.
    if (!drag || !drag.moved || !ctx.view().shapes.has(drag.shapeId)) {
      ctx.redraw();
      return;
    }
    const at = ctx.toImage(event);
    if (drag.kind === 'vertex') {
      if (drag.target) {
        const [x, y] = drag.snap ? drag.target : drag.target.map(round2);
        ctx.send({ type: 'move_vertex', shape_id: drag.shapeId, index: drag.index, x, y }, { at: [x, y] });
      } else {
        ctx.refuse('outside_image', 'A vertex goes on the image, or just beside it to land on its border.', at);
      }
    } else if (drag.delta[0] || drag.delta[1]) {
      ctx.send({ type: 'move_shape', shape_id: drag.shapeId, dx: drag.delta[0], dy: drag.delta[1] }, { at });
    }
    ctx.redraw();
  },

  onDoubleClick(state, ctx, event) {
    const hit = ctx.hitTest(event);
    if (hit.kind !== 'shape' || hit.shapeId !== ctx.selectedId()) return;
    const shape = ctx.view().shapes.get(hit.shapeId);
    const edge = nearestEdge(shape.points, ctx.toImage(event));
    const [x, y] = edge.point.map(round2);
    ctx.send({ type: 'insert_vertex', shape_id: shape.id, index: edge.index + 1, x, y }, { at: [x, y] });
    ctx.selectVertex(shape.id, edge.index + 1);
  },

  onContextMenu(state, ctx, event) {
    const hit = ctx.hitTest(event);
    if (hit.kind !== 'vertex') return false;
    const shape = ctx.view().shapes.get(hit.shapeId);
    ctx.send({ type: 'remove_vertex', shape_id: hit.shapeId, index: hit.index }, { at: shape.points[hit.index] });
    if (ctx.selectedId() === hit.shapeId) ctx.select(hit.shapeId);
    return true;
  },

  onKeyDown(state, ctx, event, action) {
    // Escape steps back: the selected vertex first, then the shape.
    if (action !== 'clear_selection' || !ctx.selectedId()) return false;
    const vertex = ctx.selectedVertex();
    ctx.select(vertex ? vertex.shapeId : null);
    return true;
  },

  onStop(state, ctx) {
    state.drag = null;
    ctx.setDragging(false);
  },

  render(state) {
    if (state.drag?.moved) return { override: { shapeId: state.drag.shapeId, points: state.drag.current }, snap: state.drag.snap ?? null };
    return {};
  },
};
