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


def check_polygon(points: Sequence[Point], width: float, height: float, max_vertices: int) -> None:
    """Refuse a closed polygon that is not a simple, non-degenerate ring inside the image."""
    if len(points) > max_vertices:
        raise Rejected(
            "too_many_vertices", f"A polygon has at most {max_vertices} vertices; this one has {len(points)}."
        )
    for i, (x, y) in enumerate(points):
        check_finite(x, y, what=f"Vertex {i}")
    distinct = len(set(points))
    if distinct < 3:
        raise Rejected(
            "too_few_vertices", f"A polygon needs at least 3 distinct vertices; this one has {distinct}."
        )
    for i, (x, y) in enumerate(points):
        check_inside(x, y, width, height, index=i)
    polygon = shapely.Polygon(points)
    if polygon.area == 0:
        raise Rejected("zero_area", "The polygon has no area: its vertices lie on one line.")
    if not polygon.is_valid:
        reason = shapely.is_valid_reason(polygon)
        raise Rejected("self_intersecting", f"The polygon crosses itself ({reason}).")
