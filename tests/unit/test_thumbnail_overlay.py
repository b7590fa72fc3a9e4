"""The thumbnail overlay: an item's closed shapes as an inert SVG the image's size."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from apps.labeling.domain import ItemState, Shape
from apps.labeling.thumbnail_overlay import UNKNOWN_COLOR, number, overlay_svg

SVG = "{http://www.w3.org/2000/svg}"


def state(*shapes: Shape, width: float = 500, height: float = 375) -> ItemState:
    return ItemState(width=width, height=height, shapes={s.id: s for s in shapes})


def shape(id: str, points, label: int | None = 1, *, closed: bool = True, number: int = 1) -> Shape:
    return Shape(id=id, actor=1, points=tuple(points), closed=closed, label_class_id=label, number=number)


def polygons(svg: str) -> list[ET.Element]:
    return ET.fromstring(svg).findall(f"{SVG}polygon")


def test_it_is_the_image_size_with_one_polygon_per_closed_shape_in_its_label_colour():
    svg = overlay_svg(
        state(
            shape("a", [(10, 10), (60, 10), (60, 40)], label=1, number=2),
            shape("b", [(100, 100), (150.26, 100), (150, 140.04)], label=2, number=1),
        ),
        {1: "#e6194b", 2: "#3CB44B"},
    )

    root = ET.fromstring(svg)
    assert (root.get("viewBox"), root.get("width"), root.get("height")) == ("0 0 500 375", "500", "375")
    drawn = polygons(svg)
    assert [p.get("fill") for p in drawn] == ["#3cb44b", "#e6194b"]  # by number: #1 under #2
    assert drawn[0].get("points") == "100,100 150.3,100 150,140"
    assert drawn[0].get("stroke") == "#3cb44b"
    assert drawn[0].get("fill-opacity") == "0.35"


def test_an_item_with_no_shapes_is_an_empty_svg():
    svg = overlay_svg(state(), {})

    assert polygons(svg) == []
    assert ET.fromstring(svg).get("viewBox") == "0 0 500 375"


def test_drafts_are_left_out():
    svg = overlay_svg(state(shape("d", [(1, 1), (50, 1), (50, 50)], label=None, closed=False)), {})

    assert polygons(svg) == []


def test_a_colour_that_is_not_rrggbb_or_a_missing_label_draws_grey():
    svg = overlay_svg(
        state(shape("a", [(1, 1), (9, 1), (9, 9)], label=1), shape("b", [(1, 1), (9, 1), (9, 9)], label=7)),
        {1: 'red" onload="alert(1)'},
    )

    assert [p.get("fill") for p in polygons(svg)] == [UNKNOWN_COLOR, UNKNOWN_COLOR]
    assert "alert" not in svg
    assert "<script" not in svg and "<style" not in svg
    elements = ET.fromstring(svg).iter()
    assert not [name for element in elements for name in element.attrib if name.startswith("on")]


def test_dense_outlines_are_simplified_for_a_thumbnail_and_keep_their_shape():
    # A circle of radius 1,000 with 2,000 vertices on a 6000x4000 image: tolerance 20 keeps a few dozen.
    circle = [
        (3000 + 1000 * math.cos(t / 1000 * math.pi), 2000 + 1000 * math.sin(t / 1000 * math.pi))
        for t in range(2000)
    ]
    svg = overlay_svg(state(shape("c", circle), width=6000, height=4000), {1: "#4363d8"})

    points = polygons(svg)[0].get("points").split()
    assert 8 <= len(points) <= 200
    for pair in points:
        x, y = (float(v) for v in pair.split(","))
        assert abs(math.hypot(x - 3000, y - 2000) - 1000) <= 20.1


def test_coordinates_are_rounded_to_one_decimal():
    assert [number(v) for v in (3.0, 3.14159, 0.04, -0.04, 1999.96)] == ["3", "3.1", "0", "0", "2000"]
