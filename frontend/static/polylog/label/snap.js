// Snapping and tracing on image pixels: the neighbour's vertex or edge a point snaps onto, where a point
// lies on a shape's outline, and the outline's vertices between two such places (a trace). Pure functions;
// the page converts its screen-pixel radius with the renderer's scale (ctx.snap) and the modes use that.

import { dist, project } from './geometry.js';

// Points this close (image pixels) to an outline count as on it: a vertex snapped onto an edge lies on it
// up to float rounding, never farther.
export const ON_OUTLINE = 1e-6;

// What `point` snaps onto among `shapes` (an iterable of {id, points}), within `radius` image pixels:
// the nearest vertex when one is that close (its coordinates exactly, so shared vertices are identical),
// else the nearest point of the nearest edge; null when nothing is. `except` is the shape being edited.
// {kind: 'vertex'|'edge', shapeId, index (the vertex, or the edge's first vertex), point, distance}.
export function snapTarget(shapes, point, radius, { except = null } = {}) {
  let vertex = null;
  let edge = null;
  for (const shape of shapes) {
    if (shape.id === except) continue;
    const points = shape.points;
    for (let i = 0; i < points.length; i += 1) {
      const d = dist(point, points[i]);
      if (d <= radius && (!vertex || d < vertex.distance)) vertex = { kind: 'vertex', shapeId: shape.id, index: i, point: points[i], distance: d };
      if (vertex) continue; // a vertex in reach beats every edge: no need to measure them
      const found = project(point, points[i], points[(i + 1) % points.length]);
      if (found.distance <= radius && (!edge || found.distance < edge.distance)) edge = { kind: 'edge', shapeId: shape.id, index: i, point: found.point, distance: found.distance };
    }
  }
  return vertex ?? edge;
}

// Where `point` lies on the closed outline `points`, as a place along it: vertex i is i, a point on the
// edge from vertex i to i+1 is i + t (0 < t < 1); null when it is not on the outline.
export function placeOnOutline(points, point, tolerance = ON_OUTLINE) {
  for (let i = 0; i < points.length; i += 1) if (dist(point, points[i]) <= tolerance) return i;
  for (let i = 0; i < points.length; i += 1) {
    const found = project(point, points[i], points[(i + 1) % points.length]);
    if (found.distance <= tolerance) return i + found.t;
  }
  return null;
}

// The vertices of outline `points` strictly between places `from` and `to`, walking forward (vertex
// indices going up) or backward, with the length of the walk from `from` to `to` through them.
function walk(points, from, to, forward) {
  const n = points.length;
  const start = forward ? Math.floor(from) + 1 : Math.ceil(from) - 1;
  const between = [];
  // Forward: indices in (from, to) going round; backward: indices in (to, from) going down.
  const ahead = (k) => (forward ? (k - from + n) % n : (from - k + n) % n);
  const span = forward ? (to - from + n) % n : (from - to + n) % n;
  for (let step = 0; step < n; step += 1) {
    const k = (((start + (forward ? step : -step)) % n) + n) % n;
    const along = ahead(k);
    if (along <= 0 || along >= span) break;
    between.push(points[k]);
  }
  return between;
}

const pointAt = (points, place) => {
  const i = Math.floor(place);
  const t = place - i;
  const a = points[i];
  const b = points[(i + 1) % points.length];
  return t ? [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])] : a;
};

const pathLength = (path) => path.slice(1).reduce((sum, p, i) => sum + dist(path[i], p), 0);

// The vertices of outline `points` between `from` and `to` (two points on it), the shorter way round, or
// the other way with `otherWay`; null when either point is not on the outline or they are the same place.
export function traceOutline(points, from, to, { otherWay = false } = {}) {
  const a = placeOnOutline(points, from);
  const b = placeOnOutline(points, to);
  if (a === null || b === null || a === b) return null;
  const forward = walk(points, a, b, true);
  const backward = walk(points, a, b, false);
  const lengthOf = (between) => pathLength([pointAt(points, a), ...between, pointAt(points, b)]);
  const forwardShorter = lengthOf(forward) <= lengthOf(backward);
  return forwardShorter !== otherWay ? forward : backward;
}

// A trace from `from` to `to` along the outline of one of `shapes` that both lie on: the snapped-to shape
// (`preferId`) first, else the shape whose way is the shortest. {shapeId, between: [[x, y], ...]} or null.
export function traceAlong(shapes, from, to, { preferId = null, otherWay = false } = {}) {
  let best = null;
  for (const shape of shapes) {
    const between = traceOutline(shape.points, from, to, { otherWay });
    if (!between) continue;
    const found = { shapeId: shape.id, between, length: pathLength([from, ...between, to]) };
    if (shape.id === preferId) return found;
    if (!best || found.length < best.length) best = found;
  }
  return best;
}
