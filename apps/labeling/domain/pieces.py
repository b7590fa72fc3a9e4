"""The pieces that merge, subtract and split make of closed shapes.

shapely 2 computes them; each comes out as a ring the domain keeps (listed once, inside the image, turning
the way the shape it came from turns and starting at its first vertex that survives) and is validated as
any polygon is, or the command is refused in people's words. Pure, like the rest of the domain: decide
calls these, and the events carry the rings, so replaying never runs shapely again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import shapely
from shapely.ops import split as shapely_split

from .errors import Rejected
from .geometry import check_finite, check_polygon, fmt
from .state import Point, Shape

# Square pixels. A piece or a hole smaller than this is a sliver that borders which almost coincide leave
# behind (float rounding, or a hand that missed by a hair): subtract and split drop such pieces and all
# three fill such holes, rather than make shapes and holes that nobody can see or export as a pixel.
SLIVER_AREA = 1.0


def _name(shape: Shape) -> str:
    return f"shape #{shape.number}"


def names(shapes: Sequence[Shape]) -> str:
    """ "shape #1", "shapes #1 and #2", "shapes #1, #2 and #4"."""
    numbers = [f"#{s.number}" for s in shapes]
    if len(numbers) == 1:
        return f"shape {numbers[0]}"
    return f"shapes {', '.join(numbers[:-1])} and {numbers[-1]}"


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _polygon(shape: Shape) -> shapely.Polygon:
    polygon = shapely.polygons(shape.points)
    if not polygon.is_valid:
        raise Rejected(
            "self_intersecting",
            f"{capital(_name(shape))} crosses itself (it was imported so); fix its outline first.",
        )
    return polygon


def _polygons(geometry: shapely.Geometry) -> list[shapely.Polygon]:
    """The polygons of a result, whatever collection shapely returns them in, largest first."""
    found = [g for g in shapely.get_parts(geometry) if isinstance(g, shapely.Polygon) and not g.is_empty]
    return sorted(found, key=lambda p: -p.area)


def _without_pinholes(polygon: shapely.Polygon) -> shapely.Polygon:
    holes = [ring for ring in polygon.interiors if shapely.Polygon(ring).area >= SLIVER_AREA]
    return polygon if len(holes) == len(polygon.interiors) else shapely.Polygon(polygon.exterior, holes)


def _ring(
    polygon: shapely.Polygon, source: Shape, outline: shapely.Polygon, width: float, height: float
) -> tuple[Point, ...]:
    """The polygon's outline as the domain keeps a shape's points: listed once, clamped into the image
    (an intersection computed on the image's border can land a rounding error outside it), with no -0.0
    (PostgreSQL's jsonb would drop the sign and break the hash chain), turning as `source` (whose polygon
    is `outline`) does and starting at the first of its vertices that is still there, so "vertex 1" stays
    where it was."""
    coords = shapely.get_coordinates(polygon.exterior)[:-1]
    if shapely.is_ccw(polygon.exterior) != shapely.is_ccw(outline.exterior):
        coords = coords[::-1]
    xs, ys = coords[:, 0].clip(0.0, width) + 0.0, coords[:, 1].clip(0.0, height) + 0.0
    points = list(zip(xs.tolist(), ys.tolist(), strict=True))
    present = set(points)
    first = next((point for point in source.points if point in present), None)
    start = 0 if first is None else points.index(first)
    return (*points[start:], *points[:start])


def _checked(points: tuple[Point, ...], what: str, width: float, height: float, max_vertices: int):
    try:
        check_polygon(points, width, height, max_vertices)
    except Rejected as error:
        if error.code == "too_many_vertices":
            raise Rejected(
                "too_many_vertices",
                f"{what} would have {len(points)} vertices; a polygon has at most {max_vertices}.",
            ) from None
        raise Rejected(
            "result_not_simple", f"{what} would not be a simple polygon: {error.message}"
        ) from None
    return points


def _rings(
    pieces: list[shapely.Polygon],
    source: Shape,
    outline: shapely.Polygon,
    width: float,
    height: float,
    max_vertices: int,
) -> list[tuple[Point, ...]]:
    rings = []
    for n, piece in enumerate(pieces):
        what = capital(_name(source)) if n == 0 else f"Part {n + 1} of {_name(source)}"
        ring = _ring(piece, source, outline, width, height)
        rings.append(_checked(ring, what, width, height, max_vertices))
    return rings


def merged(
    shapes: Sequence[Shape], into: Shape, width: float, height: float, max_vertices: int
) -> tuple[Point, ...]:
    """The outline of the union of `shapes` (which include `into`), as `into`'s new points."""
    polygons = [_polygon(shape) for shape in shapes]
    outline = next(p for s, p in zip(shapes, polygons, strict=True) if s.id == into.id)
    pieces = _polygons(shapely.union_all(polygons))
    if len(pieces) > 1:
        inside = outline.representative_point()
        home = next(piece for piece in pieces if piece.intersects(inside))
        apart = [
            s for s, p in zip(shapes, polygons, strict=True) if not home.intersects(p.representative_point())
        ]
        joined = [s for s in shapes if s not in apart]
        raise Rejected(
            "shapes_not_touching",
            f"{capital(names(apart))} neither {'overlaps' if len(apart) == 1 else 'overlap'} nor "
            f"{'shares' if len(apart) == 1 else 'share'} a border with {names(joined)}, so they cannot "
            "become one polygon.",
        )
    union = _without_pinholes(pieces[0])
    if len(union.interiors):
        raise Rejected(
            "result_has_hole",
            f"{capital(names(shapes))} enclose a hole, which a polygon cannot have: cover the hole with "
            "another shape of the label and merge that too.",
        )
    what = f"The merge of {names(shapes)}"
    ring = _ring(union, into, outline, width, height)
    return _checked(ring, what, width, height, max_vertices)


def subtracted(
    shape: Shape, by: Shape, width: float, height: float, max_vertices: int
) -> list[tuple[Point, ...]]:
    """What is left of `shape` once `by` is cut out of it: one ring or several, largest first."""
    polygon, cutter = _polygon(shape), _polygon(by)
    if not polygon.intersects(cutter) or polygon.touches(cutter):
        raise Rejected(
            "shapes_not_overlapping",
            f"{capital(_name(by))} does not overlap {_name(shape)}: there is nothing to cut out.",
        )
    pieces = [piece for piece in _polygons(polygon.difference(cutter)) if piece.area >= SLIVER_AREA]
    if not pieces:
        raise Rejected(
            "empty_result",
            f"{capital(_name(by))} covers all of {_name(shape)}: nothing of it would be left "
            "(delete it instead).",
        )
    pieces = [_without_pinholes(piece) for piece in pieces]
    if any(len(piece.interiors) for piece in pieces):
        raise Rejected(
            "result_has_hole",
            f"Cutting {_name(by)} out of {_name(shape)} would leave a hole in it, which a polygon cannot "
            f"have: split {_name(shape)} across {_name(by)} first, then cut it out of each part.",
        )
    return _rings(pieces, shape, polygon, width, height, max_vertices)


def split(
    shape: Shape, line: Sequence[Point], width: float, height: float, max_vertices: int
) -> list[tuple[Point, ...]]:
    """The parts of `shape` cut along the polyline `line`, largest first (two or more)."""
    if len(line) > max_vertices:
        raise Rejected("too_many_vertices", f"A cutting line has at most {max_vertices} points.")
    for i, (x, y) in enumerate(line):
        check_finite(x, y, what=f"Line point {i}")
        # A line may start off the image (drawn from outside a shape at its edge), but not far off it:
        # far-away coordinates overflow the computation of where it crosses.
        if not (-width <= x <= 2 * width and -height <= y <= 2 * height):
            raise Rejected(
                "line_outside_image",
                f"Line point {i} ({fmt(x)}, {fmt(y)}) lies too far outside the {fmt(width)}x{fmt(height)} image.",
            )
    polygon = _polygon(shape)
    not_across = Rejected(
        "line_does_not_cross",
        f"The line does not cut {_name(shape)} in two: draw it across the shape, from outside it to outside it.",
    )
    if len(set(line)) < 2:
        raise not_across
    every = _polygons(shapely_split(polygon, shapely.LineString(line)))
    # polygonize leaves out a piece whose inner point it places wrongly: the parts must cover the shape.
    if not math.isclose(sum(p.area for p in every), polygon.area, rel_tol=1e-9, abs_tol=1e-9):
        raise Rejected("result_not_simple", f"Cutting {_name(shape)} along that line gave no clean parts.")
    pieces = [piece for piece in every if piece.area >= SLIVER_AREA]
    if len(pieces) < 2:
        raise not_across
    pieces = [_without_pinholes(piece) for piece in pieces]
    if any(len(piece.interiors) for piece in pieces):
        raise Rejected(
            "result_has_hole",
            f"The line closes a loop inside {_name(shape)}, which would leave a hole in a part: a polygon "
            "cannot have one. Draw the loop out to the shape's border.",
        )
    return _rings(pieces, shape, polygon, width, height, max_vertices)
