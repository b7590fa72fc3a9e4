// What the pointer is on, by geometry on image pixels (docs/ui.md, "Dense images"): never the topmost
// element under it, so on a dense image the nearest vertex wins over a neighbour's handle drawn above it.
// Pure functions; the page passes the shapes shown and its radius in image pixels (screen pixels / scale).

import { dist, project } from './geometry.js';

// A shape's bounding box, kept per points array (a shape's points are replaced, never changed in place).
const boxes = new WeakMap();
export function boxOf(points) {
  let box = boxes.get(points);
  if (!box) {
    box = [Infinity, Infinity, -Infinity, -Infinity];
    for (const [x, y] of points) {
      if (x < box[0]) box[0] = x;
      if (y < box[1]) box[1] = y;
      if (x > box[2]) box[2] = x;
      if (y > box[3]) box[3] = y;
    }
    boxes.set(points, box);
  }
  return box;
}

const near = (box, [x, y], radius) => x >= box[0] - radius && x <= box[2] + radius && y >= box[1] - radius && y <= box[3] + radius;

// Even-odd rule: is `point` inside the ring `points`?
export function inside(points, [x, y]) {
  let within = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i, i += 1) {
    const [xi, yi] = points[i];
    const [xj, yj] = points[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) within = !within;
  }
  return within;
}

function area(points) {
  let twice = 0;
  for (let i = 0, j = points.length - 1; i < points.length; j = i, i += 1) twice += points[j][0] * points[i][1] - points[i][0] * points[j][1];
  return Math.abs(twice) / 2;
}

function nearestVertex(points, point, radius) {
  let best = null;
  for (let i = 0; i < points.length; i += 1) {
    const d = dist(point, points[i]);
    if (d <= radius && (!best || d < best.distance)) best = { index: i, distance: d };
  }
  return best;
}

// What a press at `point` takes among `shapes` ({id, points}, the ones shown), within `radius` image
// pixels: (1) the selected shape's nearest vertex in reach; (2) else the nearest vertex of any shape in
// reach; (3) else the smallest shape the point is inside (a shape nested in another wins); (4) else the
// shape whose edge is nearest in reach (a press just outside an outline still takes it). {kind: 'vertex'|'shape'|'none', shapeId, index}.
export function pick(shapes, point, radius, { selectedId = null } = {}) {
  let vertex = null;
  let edge = null;
  let body = null;
  for (const shape of shapes) {
    const points = shape.points;
    if (!points.length) continue;
    const box = boxOf(points);
    if (!near(box, point, radius)) continue;
    const found = nearestVertex(points, point, radius);
    if (found) {
      const selected = shape.id === selectedId;
      const better = !vertex || (selected && !vertex.selected) || (selected === vertex.selected && found.distance < vertex.distance);
      if (better) vertex = { shapeId: shape.id, index: found.index, distance: found.distance, selected };
    }
    if (vertex) continue; // a vertex in reach beats every edge and body
    for (let i = 0; i < points.length; i += 1) {
      const d = project(point, points[i], points[(i + 1) % points.length]).distance;
      if (d <= radius && (!edge || d < edge.distance)) edge = { shapeId: shape.id, distance: d };
    }
    if (inside(points, point)) {
      const size = area(points);
      if (!body || size < body.area) body = { shapeId: shape.id, area: size };
    }
  }
  if (vertex) return { kind: 'vertex', shapeId: vertex.shapeId, index: vertex.index };
  if (body) return { kind: 'shape', shapeId: body.shapeId };
  if (edge) return { kind: 'shape', shapeId: edge.shapeId };
  return { kind: 'none' };
}
