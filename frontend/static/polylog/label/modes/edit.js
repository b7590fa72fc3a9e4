// Edit tool: click a shape to select it; drag it to move it; drag a vertex of the selected shape;
// double-click an edge to insert a vertex; Alt+click or right-click a vertex (or select it and press
// Delete) to remove it; Delete removes the selected shape; Shift+click picks several shapes (to group
// them). Sends commands; the store draws them.

import { DRAG_PX, MODES } from '../constants.js';
import { nearestEdge, round2 } from '../geometry.js';

export default {
  name: MODES.EDIT,
  hint: 'Drag a shape or a vertex · double-click an edge to add a vertex · Alt+click / right-click a vertex to remove it · Del deletes',

  onSetup() {
    return { drag: null, activeVertex: null };
  },

  onMouseDown(state, ctx, event) {
    if (event.button !== 0) return false;
    const hit = ctx.hitTest(event);
    const at = ctx.toImage(event);
    if (event.shiftKey) {
      // Shift+click picks shapes together (to group them); it moves nothing.
      if (hit.kind === 'vertex' || hit.kind === 'shape') {
        ctx.togglePick(hit.shapeId);
        state.activeVertex = null;
        return true;
      }
      return false;
    }
    if (hit.kind === 'vertex' && hit.shapeId === ctx.selectedId()) {
      const shape = ctx.view().shapes.get(hit.shapeId);
      if (event.altKey) {
        ctx.send({ type: 'remove_vertex', shape_id: hit.shapeId, index: hit.index }, { at: shape.points[hit.index] });
        state.activeVertex = null;
        return true;
      }
      state.activeVertex = { shapeId: hit.shapeId, index: hit.index };
      state.drag = { kind: 'vertex', shapeId: hit.shapeId, index: hit.index, start: at, client: [event.clientX, event.clientY], points: shape.points, moved: false };
      return true;
    }
    if (hit.kind === 'vertex' || hit.kind === 'shape') {
      const shape = ctx.view().shapes.get(hit.shapeId);
      if (ctx.selectedId() !== hit.shapeId) state.activeVertex = null;
      ctx.select(hit.shapeId);
      state.drag = { kind: 'shape', shapeId: hit.shapeId, start: at, client: [event.clientX, event.clientY], points: shape.points, moved: false };
      return true;
    }
    ctx.select(null);
    state.activeVertex = null;
    return false; // the page pans on empty space
  },

  onMouseMove(state, ctx, event) {
    const drag = state.drag;
    if (!drag) return;
    if (!drag.moved && Math.hypot(event.clientX - drag.client[0], event.clientY - drag.client[1]) < DRAG_PX) return;
    drag.moved = true;
    const [x, y] = ctx.toImage(event);
    if (drag.kind === 'vertex') {
      drag.current = drag.points.map((p, i) => (i === drag.index ? [x, y] : p));
    } else {
      const dx = x - drag.start[0];
      const dy = y - drag.start[1];
      drag.current = drag.points.map(([px, py]) => [px + dx, py + dy]);
      drag.delta = [dx, dy];
    }
    ctx.setDragging(true);
    ctx.redraw();
  },

  onMouseUp(state, ctx, event) {
    const drag = state.drag;
    state.drag = null;
    ctx.setDragging(false);
    if (!drag || !drag.moved) {
      ctx.redraw();
      return;
    }
    const [x, y] = ctx.toImage(event);
    if (drag.kind === 'vertex') {
      ctx.send({ type: 'move_vertex', shape_id: drag.shapeId, index: drag.index, x: round2(x), y: round2(y) }, { at: [x, y] });
    } else {
      const [dx, dy] = drag.delta;
      ctx.send({ type: 'move_shape', shape_id: drag.shapeId, dx: round2(dx), dy: round2(dy) }, { at: [x, y] });
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
    state.activeVertex = { shapeId: shape.id, index: edge.index + 1 };
  },

  onContextMenu(state, ctx, event) {
    const hit = ctx.hitTest(event);
    if (hit.kind !== 'vertex') return false;
    const shape = ctx.view().shapes.get(hit.shapeId);
    ctx.send({ type: 'remove_vertex', shape_id: hit.shapeId, index: hit.index }, { at: shape.points[hit.index] });
    state.activeVertex = null;
    return true;
  },

  onKeyDown(state, ctx, event) {
    const selected = ctx.selectedId();
    if ((event.key === 'Delete' || event.key === 'Backspace') && selected) {
      const shape = ctx.view().shapes.get(selected);
      if (!shape) return false;
      if (state.activeVertex?.shapeId === selected && state.activeVertex.index < shape.points.length) {
        ctx.send({ type: 'remove_vertex', shape_id: selected, index: state.activeVertex.index }, { at: shape.points[state.activeVertex.index] });
      } else {
        ctx.send({ type: 'delete_shape', shape_id: selected }, { at: shape.points[0] });
        ctx.select(null);
      }
      state.activeVertex = null;
      return true;
    }
    if (event.key === 'Escape' && selected) {
      ctx.select(null);
      state.activeVertex = null;
      return true;
    }
    return false;
  },

  onStop(state, ctx) {
    state.drag = null;
    ctx.setDragging(false);
  },

  render(state) {
    const out = { activeVertex: state.activeVertex };
    if (state.drag?.moved) out.override = { shapeId: state.drag.shapeId, points: state.drag.current };
    return out;
  },
};
