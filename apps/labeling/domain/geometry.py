"""Polygon validation: the geometric rules a shape must keep, with stable refusal codes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import shapely

from .errors import Rejected

Point = tuple[float, float]


def fmt(v: float) -> str:
    return f"{v:g}"


def check_finite(x: float, y: float, *, what: str = "Vertex") -> None:
    if not (math.isfinite(x) and math.isfinite(y)):
        raise Rejected("non_finite_coordinate", f"{what} ({x}, {y}) is not a pair of finite numbers.")


def check_inside(x: float, y: float, width: float, height: float, *, index: int | None = None) -> None:
    if not (0 <= x <= width and 0 <= y <= height):
        name = "Vertex" if index is None else f"Vertex {index}"
        raise Rejected(
            "polygon_outside_image",
            f"{name} ({fmt(x)}, {fmt(y)}) lies outside the {fmt(width)}x{fmt(height)} image.",
        )


def without_closing_point(points: tuple[Point, ...]) -> tuple[Point, ...]:
    """A ring written with its first point repeated at the end, as some formats do, listed once."""
    if len(points) > 3 and points[0] == points[-1]:
        return points[:-1]
    return points


def check_polygon(
    points: Sequence[Point], width: float, height: float, max_vertices: int, *, may_cross: bool = False
) -> None:
    """Refuse a closed polygon that is not a simple, non-degenerate ring inside the image; with
    `may_cross`, one that crosses itself is let through (see `crosses_itself`)."""
    if len(points) > max_vertices:
        raise Rejected(
            "too_many_vertices", f"A polygon has at most {max_vertices} vertices; this one has {len(points)}."
        )
    # Whole lists first, vertex by vertex only to name the first one that is wrong: a 1,000-vertex polygon
    # is checked on every edit. NaN and infinities carry through a sum; an overflow only takes the long way.
    xs, ys = [x for x, _ in points], [y for _, y in points]
    finite = math.isfinite(sum(xs) + sum(ys))
    if not finite:
        for i, (x, y) in enumerate(points):
            check_finite(x, y, what=f"Vertex {i}")
    distinct = len(set(points))
    if distinct < 3:
        raise Rejected(
            "too_few_vertices", f"A polygon needs at least 3 distinct vertices; this one has {distinct}."
        )
    if distinct < len(points):
        seen: set[Point] = set()
        index, (x, y) = next((i, p) for i, p in enumerate(points) if p in seen or seen.add(p))  # type: ignore[func-returns-value]
        raise Rejected("duplicate_vertex", f"Vertex {index} ({fmt(x)}, {fmt(y)}) repeats an earlier vertex.")
    if not (finite and min(xs) >= 0 and max(xs) <= width and min(ys) >= 0 and max(ys) <= height):
        for i, (x, y) in enumerate(points):
            check_inside(x, y, width, height, index=i)
    polygon = shapely.polygons(points)
    # The hull, not the polygon: a symmetric bow-tie has a signed area of 0 but is not degenerate.
    if polygon.area == 0 and polygon.convex_hull.area == 0:
        raise Rejected("zero_area", "The polygon has no area: its vertices lie on one line.")
    if not may_cross and not polygon.is_valid:
        reason = shapely.is_valid_reason(polygon)
        raise Rejected("self_intersecting", f"The polygon crosses itself ({reason}).")


def crosses_itself(points: Sequence[Point]) -> bool:
    """Whether a closed ring is not simple. Drawing never makes one (check_polygon refuses it), but an
    imported polygon may be one: formats allow them and their reference tools rasterise them."""
    return len(points) >= 3 and not shapely.polygons(points).is_valid
