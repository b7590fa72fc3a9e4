"""The SVG a thumbnail on the job page wears: an item's closed shapes in their labels' colours, simplified.

Pure: a state and colours in, text out. No user text goes in (label names stay out, colours are checked
to be #rrggbb), and there is no script or style element, so the file is inert wherever it is opened.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import shapely

from .domain import ItemState, Shape

# A thumbnail is a couple of hundred pixels wide: detail below 1/300 of the image's longer side is not seen.
DETAIL = 300
FILL_OPACITY = "0.35"
STROKE_WIDTH = "1.5"  # screen pixels, whatever the thumbnail's size (non-scaling stroke)
UNKNOWN_COLOR = "#808080"  # a shape whose label class is gone or unnamed
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def number(value: float) -> str:
    """A coordinate to one decimal, without a trailing .0."""
    text = f"{round(value, 1):.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def outline(points: tuple[tuple[float, float], ...], tolerance: float) -> list[tuple[float, float]]:
    """The polygon's vertices, simplified within `tolerance` (never into a line or nothing)."""
    if len(points) < 4 or tolerance <= 0:
        return list(points)
    simplified = shapely.polygons(points).simplify(tolerance, preserve_topology=True)
    if not isinstance(simplified, shapely.Polygon) or simplified.is_empty:
        return list(points)
    coords = list(simplified.exterior.coords)[:-1]
    return coords if len(coords) >= 3 else list(points)


def overlay_svg(state: ItemState, colors: Mapping[int, str]) -> str:
    """The closed shapes of `state` as an SVG the image's size; `colors` maps label class ids to #rrggbb.

    Shapes go in the order of their numbers, so a later shape lies on an earlier one, as on the labeling
    page. Drafts are left out: they are someone's work in progress, not what the image holds.
    """
    width, height = number(state.width), number(state.height)
    tolerance = max(state.width, state.height) / DETAIL
    shapes: list[Shape] = sorted((s for s in state.shapes.values() if s.closed), key=lambda s: s.number)
    polygons = []
    for shape in shapes:
        color = colors.get(shape.label_class_id) if shape.label_class_id is not None else None
        color = color.lower() if color is not None and _COLOR.fullmatch(color) else UNKNOWN_COLOR
        points = " ".join(f"{number(x)},{number(y)}" for x, y in outline(shape.points, tolerance))
        polygons.append(
            f'<polygon points="{points}" fill="{color}" fill-opacity="{FILL_OPACITY}" stroke="{color}"'
            f' stroke-width="{STROKE_WIDTH}" stroke-linejoin="round" vector-effect="non-scaling-stroke"/>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}"'
        f' height="{height}">{"".join(polygons)}</svg>'
    )
