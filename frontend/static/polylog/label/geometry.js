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
