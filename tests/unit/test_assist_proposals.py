"""A proposal is a polygon the domain accepts: clean_polygon clamps, mends, keeps the largest part and
simplifies, or says there is nothing; the image cache is bounded in bytes."""

from __future__ import annotations

import math

import pytest
import shapely

from apps.assist.images import ByteLRU, decode
from apps.assist.proposals import Proposal, as_json, clean_polygon
from apps.labeling.domain.geometry import check_polygon
from tests.assist_images import disc_pixels, png_of


def test_a_bow_tie_keeps_its_larger_loop() -> None:
    """(0,0)-(40,40) crosses (40,0)-(0,20) at (40/3, 40/3): loops of 133.3 and 533.3 px²."""
    points = clean_polygon([[0, 0], [40, 40], [40, 0], [0, 20]], 100, 100)

    assert points is not None
    check_polygon([tuple(p) for p in points], 100, 100, 1000)
    assert shapely.polygons(points).area == pytest.approx(1600 / 3, abs=0.1)


def test_an_outline_past_the_border_is_clipped_to_the_image() -> None:
    points = clean_polygon([[-5, -5], [20, -5], [20, 20], [-5, 20]], 10, 8)

    assert points is not None
    assert shapely.polygons(points).equals(shapely.box(0, 0, 10, 8))


@pytest.mark.parametrize(
    "outline",
    [
        [[0, 0], [1, 1], [2, 2]],  # a line
        [[0, 0], [0.5, 0], [0.5, 0.5]],  # a sliver under a pixel
        [[0, 0], [1, float("nan")], [2, 0]],
        [[0, 0], [5, 5]],
        [[50, 50], [60, 50], [60, 60]],  # wholly outside
    ],
)
def test_outlines_that_enclose_nothing_in_the_image_give_no_polygon(outline: list[list[float]]) -> None:
    assert clean_polygon(outline, 20, 20) is None


def test_a_dense_outline_is_simplified_to_the_vertex_limit() -> None:
    circle = [[50 + 40 * math.cos(t / 500), 50 + 40 * math.sin(t / 500)] for t in range(3142)]

    points = clean_polygon(circle, 100, 100, tolerance=0, max_vertices=50)

    assert points is not None and 3 <= len(points) <= 50
    check_polygon([tuple(p) for p in points], 100, 100, 50)
    assert shapely.polygons(points).area == pytest.approx(math.pi * 40**2, rel=0.02)


def test_the_answer_body_lists_polygons_with_scores() -> None:
    body = as_json([Proposal([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], 0.123456)], open=False)

    assert body == {
        "polygons": [{"points": [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], "score": 0.1235}],
        "open": False,
    }


def test_the_cache_keeps_entries_within_its_bytes_least_recently_used_first_out() -> None:
    cache = ByteLRU(lambda: 100)
    cache.put("a", "A", 40)
    cache.put("b", "B", 40)
    assert cache.get("a") == "A"  # b is now the least recently used

    cache.put("c", "C", 40)

    assert ("a" in cache, "b" in cache, "c" in cache) == (True, False, True)
    assert cache.bytes == 80


def test_the_cache_does_not_keep_what_is_larger_than_itself() -> None:
    cache = ByteLRU(lambda: 100)
    cache.put("a", "A", 40)

    made = cache.cached("huge", lambda: ("H", 101))

    assert made == "H"
    assert "huge" not in cache and "a" in cache


def test_decoding_gives_the_pixels_in_bgr_order() -> None:
    pixels, _ = disc_pixels(40, 30, (20, 15), 8)

    assert (decode(png_of(pixels)) == pixels).all()
