// Douglas-Peucker simplification of a polyline, for the freehand tool's strokes. Pure, and iterative (a
// stack of index ranges, not recursion), so a stroke of thousands of points cannot overflow the stack.

// The squared distance from p to the segment ab (to a point when a and b coincide, as they do at the two
// ends of a stroke that came back to where it started).
function segmentDistance2(p, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const length2 = dx * dx + dy * dy;
  let t = length2 ? ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2 : 0;
  t = Math.max(0, Math.min(1, t));
  const ex = a[0] + t * dx - p[0];
  const ey = a[1] + t * dy - p[1];
  return ex * ex + ey * ey;
}

// The points of `points` ([[x, y], ...]) that Douglas-Peucker keeps with this tolerance (the same units
// as the points): the first and the last always, and every point farther than `tolerance` from the
// segment between the points kept around it. A new array of the same point objects, in order.
export function simplify(points, tolerance) {
  const n = points.length;
  if (n <= 2 || !(tolerance > 0)) return points.slice();
  const keep = new Uint8Array(n);
  keep[0] = 1;
  keep[n - 1] = 1;
  const limit = tolerance * tolerance;
  const stack = [0, n - 1];
  while (stack.length) {
    const last = stack.pop();
    const first = stack.pop();
    let farthest = -1;
    let max = limit;
    for (let i = first + 1; i < last; i += 1) {
      const d = segmentDistance2(points[i], points[first], points[last]);
      if (d > max) {
        max = d;
        farthest = i;
      }
    }
    if (farthest >= 0) {
      keep[farthest] = 1;
      stack.push(first, farthest, farthest, last);
    }
  }
  return points.filter((_, i) => keep[i]);
}
