"""What every assist tool answers: proposals (polygons with a score), each one valid by the domain's rules.

A tool's raw outline (a mask's contour, an edge-following path, a model's answer) may cross itself, run past
the image's border, repeat a point or hold thousands of vertices; `clean_polygon` makes of it the polygon a
person could accept as one `add_polygon` without a refusal, or says there is none. Pure: numpy and shapely,
plus the labeling domain's own check (apps/labeling/domain/geometry.py), so a proposal and a command are
judged by the same rules.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from apps.labeling.domain.errors import Rejected
from apps.labeling.domain.geometry import check_polygon

# The domain's default (settings POLYLOG["MAX_VERTICES"]); callers with settings at hand pass theirs.
MAX_VERTICES = 1000
DECIMALS = 2  # a hundredth of a pixel: below any screen's precision, and short JSON
MIN_AREA = 1.0  # px²: a sliver below one pixel is an artefact of the outline, not an object


@dataclass(frozen=True)
class Proposal:
    """One proposed polygon: its points (image pixels, listed once) and how much the tool trusts it (0..1)."""

    points: list[list[float]]
    score: float


def as_json(proposals: Iterable[Proposal], **extra: Any) -> dict[str, Any]:
    """The answer body: `{"polygons": [{"points", "score"}, ...], **extra}` (extra: the scissors' `open`)."""
    return {
        "polygons": [{"points": p.points, "score": round(float(p.score), 4)} for p in proposals],
        **extra,
    }


def polygons_of(geometry: BaseGeometry) -> list[Polygon]:
    """The polygons inside any geometry shapely's make_valid or an intersection may give."""
    if isinstance(geometry, Polygon):
        return [geometry] if not geometry.is_empty else []
    return [part for g in getattr(geometry, "geoms", []) for part in polygons_of(g)]


def largest_polygons(points: Sequence[Sequence[float]], width: float, height: float) -> list[Polygon]:
    """The ring's valid parts inside the image of at least MIN_AREA, largest first, holes dropped (a shape
    has none)."""
    if len(points) < 3 or not all(len(p) == 2 for p in points):
        return []
    if not all(math.isfinite(float(v)) for p in points for v in p):
        return []
    ring = shapely.polygons([(float(x), float(y)) for x, y in points])
    inside = shapely.make_valid(ring).intersection(box(0, 0, width, height))
    parts = [Polygon(part.exterior) for part in polygons_of(inside) if part.area >= MIN_AREA]
    return sorted(parts, key=lambda part: part.area, reverse=True)


def clean_polygon(
    points: Sequence[Sequence[float]],
    width: float,
    height: float,
    *,
    tolerance: float = 0.0,
    max_vertices: int = MAX_VERTICES,
) -> list[list[float]] | None:
    """The largest valid polygon inside [0, width] x [0, height] that `points` outline, simplified to
    `tolerance` pixels (more when needed to stay within `max_vertices`); None when nothing with an area
    remains. The answer passes check_polygon, so accepting it never meets a refusal."""
    parts = largest_polygons(points, width, height)
    return (
        ring_points(parts[0], width, height, tolerance=tolerance, max_vertices=max_vertices)
        if parts
        else None
    )


def ring_points(
    polygon: Polygon, width: float, height: float, *, tolerance: float = 0.0, max_vertices: int = MAX_VERTICES
) -> list[list[float]] | None:
    """A valid polygon's exterior as points (listed once), simplified and checked (see clean_polygon).

    Too many vertices, or two merged by rounding: simplifying further mends both, at twice the tolerance
    each round. A round simplifies the last round's polygon rather than the first again (a noisy wand
    outline of 6,600 vertices took 8 to 17 ms a round, its 1,300-vertex simplification a tenth of that), so
    the answer strays from the outline by at most the sum of the rounds' tolerances, under twice the last."""
    step = max(float(tolerance), 0.0)
    for _ in range(24):  # each round doubles the tolerance: 24 rounds reach any image's size
        simple = polygon.simplify(step, preserve_topology=True) if step > 0 else polygon
        if isinstance(simple, Polygon) and len(simple.exterior.coords) - 1 > max_vertices:
            # Too many vertices whatever its validity: simplified again as it is (the next round's answer
            # is checked); a valid polygon's check and make_valid's copy cost ~0.5 ms each at 2,000.
            polygon, step = simple, max(step * 2, 0.5)
            continue
        parts = [simple] if simple.is_valid else polygons_of(shapely.make_valid(simple))
        parts = sorted(parts, key=lambda p: p.area, reverse=True)
        if not parts:
            return None
        found = _checked(parts[0], width, height, max_vertices)
        if found is not None:
            return found
        polygon = parts[0]
        step = max(step * 2, 0.5)
    return None


def _checked(polygon: Polygon, width: float, height: float, max_vertices: int) -> list[list[float]] | None:
    if len(polygon.exterior.coords) - 1 > max_vertices:
        return None  # check_polygon's first refusal, without rounding a few thousand points twice first
    coords = shapely.get_coordinates(polygon.exterior)[:-1]
    # Rounded first, then checked as rounded: rounding may merge two vertices or fold a thin spike. numpy
    # rounds (a thousand vertices point by point in Python took 2-3 ms, as long as the check).
    for rounded in (np.round(coords, DECIMALS), coords):
        points = [(x, y) for x, y in np.clip(rounded, 0.0, (width, height)).tolist()]
        try:
            check_polygon(points, width, height, max_vertices)
        except Rejected:
            continue
        return [[x, y] for x, y in points]
    return None
