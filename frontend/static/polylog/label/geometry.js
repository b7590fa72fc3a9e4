// Plane geometry on image pixels: distances, the nearest edge of a ring, point projection.

export const dist = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]);

// The closest point to p on segment ab, and its distance.
export function project(p, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const length2 = dx * dx + dy * dy;
  const t = length2 ? Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2)) : 0;
  const q = [a[0] + t * dx, a[1] + t * dy];
  return { point: q, distance: dist(p, q), t };
}

// The edge of a closed ring nearest to p: {index (of the edge's first vertex), point, distance}.
export function nearestEdge(points, p) {
  let best = null;
  for (let i = 0; i < points.length; i += 1) {
    const found = project(p, points[i], points[(i + 1) % points.length]);
    if (!best || found.distance < best.distance) best = { index: i, ...found };
  }
  return best;
}

export const translate = (points, dx, dy) => points.map(([x, y]) => [x + dx, y + dy]);

export const round2 = (v) => Math.round(v * 100) / 100;

// A point placed just outside the image lands on its border: within `tolerance` (image pixels) of the
// image it is clamped into [0, width] x [0, height]; farther out it is refused (null).
export function clampToImage([x, y], width, height, tolerance) {
  const outside = Math.max(-x, x - width, -y, y - height, 0);
  if (outside > tolerance) return null;
  return [Math.min(width, Math.max(0, x)), Math.min(height, Math.max(0, y))];
}

// The part of a move (dx, dy) that keeps every point within [0, width] x [0, height]: a shape moved past
// the border stops at it. A shape already wider (or taller) than the image does not move on that axis.
// The bounds are a hair inside, so a delta rounded toward zero (towardZero2) never lands past the border
// by float arithmetic.
export function clampMove(points, dx, dy, width, height) {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const hair = 1e-6;
  const axis = (d, low, high) => (low + hair > high - hair ? 0 : Math.min(high - hair, Math.max(low + hair, d)));
  return [axis(dx, -Math.min(...xs), width - Math.max(...xs)), axis(dy, -Math.min(...ys), height - Math.max(...ys))];
}

// Two decimals, rounded toward zero: a move clamped to the border never crosses it by rounding.
export const towardZero2 = (v) => Math.trunc(v * 100) / 100;

// The area of a ring (shoelace), in square image pixels; 0 for a line or a point.
export function ringArea(points) {
  let twice = 0;
  for (let i = 0; i < points.length; i += 1) {
    const [x0, y0] = points[i];
    const [x1, y1] = points[(i + 1) % points.length];
    twice += x0 * y1 - x1 * y0;
  }
  return Math.abs(twice) / 2;
}
