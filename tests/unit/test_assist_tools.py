"""The OpenCV tools on synthetic pictures (tests/assist_images.py): box to polygon, magic wand and
intelligent scissors find the drawn shape, and every proposal is a polygon the domain accepts."""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
import pytest
import shapely

from apps.assist import box, scissors, wand
from apps.assist.images import ByteLRU
from apps.assist.prompts import BoxPrompt, LabeledPoint, ScissorsPrompt, WandPrompt
from apps.assist.proposals import Proposal
from apps.labeling.domain.geometry import check_polygon
from tests.assist_images import disc_pixels, iou, rectangle_pixels


def assert_acceptable(proposal: Proposal, pixels: np.ndarray) -> None:
    """What accepting it as an add_polygon needs: the domain's own check passes."""
    height, width = pixels.shape[:2]
    check_polygon([tuple(p) for p in proposal.points], width, height, 1000)
    assert 0 < proposal.score <= 1


def on_circle(centre: tuple[float, float], radius: float, degrees: float) -> tuple[float, float]:
    angle = math.radians(degrees)
    return centre[0] + radius * math.cos(angle), centre[1] + radius * math.sin(angle)


# Box to polygon -----------------------------------------------------------------------------------


def test_box_around_a_disc_proposes_the_disc() -> None:
    pixels, disc = disc_pixels()

    found = box.box_proposals(pixels, BoxPrompt((45, 20, 155, 130), (), 1.0))

    assert iou(found[0].points, disc) > 0.9
    assert found[0].score == max(p.score for p in found)
    for proposal in found:
        assert_acceptable(proposal, pixels)


def test_box_around_a_rectangle_proposes_the_rectangle() -> None:
    pixels, rectangle = rectangle_pixels()

    found = box.box_proposals(pixels, BoxPrompt((35, 25, 165, 125), (), 1.0))

    assert iou(found[0].points, rectangle) > 0.9
    assert_acceptable(found[0], pixels)


def test_box_clicks_refine_which_object_is_meant() -> None:
    """Two discs in one box: a background click on the left one and a foreground click on the right one
    leave the right one proposed."""
    left, left_disc = disc_pixels(240, 120, (70, 60), 35, seed=3)
    right, right_disc = disc_pixels(240, 120, (170, 60), 35, seed=4)
    ys, xs = np.mgrid[0:120, 0:240]
    pixels = np.where(((xs - 170) ** 2 + (ys - 60) ** 2 <= 35**2)[..., None], right, left)
    clicks = (LabeledPoint(70, 60, 0), LabeledPoint(170, 60, 1))

    found = box.box_proposals(pixels, BoxPrompt((20, 10, 220, 110), clicks, 1.0))

    assert iou(found[0].points, right_disc) > 0.85
    assert shapely.polygons(found[0].points).intersection(left_disc).area < 0.1 * left_disc.area
    assert_acceptable(found[0], pixels)


def test_box_over_the_whole_image_still_has_a_background_to_learn_from() -> None:
    pixels, disc = disc_pixels()

    found = box.box_proposals(pixels, BoxPrompt((0, 0, 200, 150), (), 1.0))

    assert iou(found[0].points, disc) > 0.8
    assert_acceptable(found[0], pixels)


def test_box_proposes_the_part_holding_a_foreground_click_before_a_larger_one_clicked_away() -> None:
    """A background click on the larger part (its hole filled by the outline) says it is not the object."""
    larger, smaller = shapely.box(10, 10, 60, 60), shapely.box(100, 10, 130, 40)

    plain = box.proposals_of([larger, smaller], 200, 100, 0.0, 1000)
    clicked = box.proposals_of(
        [larger, smaller], 200, 100, 0.0, 1000, wanted=((115.0, 25.0),), unwanted=((35.0, 35.0),)
    )

    assert shapely.polygons(plain[0].points).equals(larger)
    assert shapely.polygons(clicked[0].points).equals(smaller)
    assert clicked[0].score == pytest.approx(900 / 3400)


def test_box_joins_a_part_holding_a_foreground_click_to_the_largest() -> None:
    """A foreground click on a piece apart from the proposal shown says the piece belongs to the object:
    one polygon holding both and the gap between them, not the piece alone ahead of the object (on a VOC
    photo the piece alone came first, IoU 0.13 against 0.53 before the click)."""
    larger, smaller, other = (
        shapely.box(10, 10, 60, 60),
        shapely.box(70, 20, 90, 40),
        shapely.box(150, 10, 190, 50),
    )

    found = box.proposals_of([larger, smaller, other], 200, 100, 0.0, 1000, wanted=((80.0, 30.0),))

    joined = shapely.polygons(found[0].points)
    assert joined.covers(larger) and joined.covers(smaller)
    assert joined.covers(shapely.box(60, 25, 70, 35))  # the gap between them, at the piece's height
    assert not joined.intersects(other)
    assert joined.area < larger.area + smaller.area + 20 * 20  # a bridge, not the hull of both
    assert shapely.polygons(found[1].points).equals(other)
    check_polygon([tuple(p) for p in found[0].points], 200, 100, 1000)


def test_box_cuts_a_small_and_a_large_copy_of_one_picture_alike() -> None:
    """One working size whatever the box's: the same picture at 1x and 4x gets the same outline (scaled)."""
    small, disc = disc_pixels()
    large = np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)

    at_1x = box.box_proposals(small, BoxPrompt((45, 20, 155, 130), (), 1.0))
    at_4x = box.box_proposals(large, BoxPrompt((180, 80, 620, 520), (), 4.0))

    scaled_down = [[x / 4, y / 4] for x, y in at_4x[0].points]
    # Each copy is cut over regions of its own pixels (box.py), not over one resampled crop: close, not equal.
    assert iou(scaled_down, shapely.polygons(at_1x[0].points)) > 0.95
    assert iou(scaled_down, disc) > 0.97 and iou(at_1x[0].points, disc) > 0.97


def test_box_whose_coarse_cut_keeps_nothing_is_cut_again_at_the_fine_level_from_the_box(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first rounds run on a coarser level; when they keep nothing, the fine level starts from the box
    itself (its full ROUNDS, mixtures learnt afresh) rather than proposing nothing."""
    pixels, disc = disc_pixels(800, 600, (400, 300), 180)
    calls: list[tuple[int, bool, int]] = []
    rounds = box._rounds

    def coarse_keeps_nothing(problem: Any, foreground: Any, mixtures: Any, count: int) -> Any:
        calls.append((len(problem.chosen), mixtures is None, count))
        if len(calls) == 1:
            return None, None
        return rounds(problem, foreground, mixtures, count)

    monkeypatch.setattr(box, "_rounds", coarse_keeps_nothing)

    found = box.box_proposals(pixels, BoxPrompt((200, 100, 600, 500), (), 1.0))

    (coarse, _, _), (fine, fresh, count) = calls
    assert coarse < fine and fresh and count == box.ROUNDS
    assert iou(found[0].points, disc) > 0.95


def test_box_on_a_flat_picture_proposes_nothing() -> None:
    pixels = np.full((100, 120, 3), 90, np.uint8)

    assert box.box_proposals(pixels, BoxPrompt((10, 10, 90, 80), (), 1.0)) == []


def test_box_on_a_large_picture_works_scaled_down_and_answers_in_image_pixels() -> None:
    pixels, disc = disc_pixels(1600, 1200, (800, 600), 360)

    found = box.box_proposals(pixels, BoxPrompt((400, 200, 1200, 1000), (), 1.0))

    assert iou(found[0].points, disc) > 0.9
    assert_acceptable(found[0], pixels)


# Magic wand ---------------------------------------------------------------------------------------


def test_wand_click_inside_a_disc_proposes_the_disc() -> None:
    pixels, disc = disc_pixels()

    found = wand.wand_proposals(pixels, WandPrompt((100, 75), 32, 1.0))

    assert len(found) == 1
    assert iou(found[0].points, disc) > 0.95
    assert_acceptable(found[0], pixels)


def test_wand_tolerance_zero_floods_only_the_exact_colour() -> None:
    pixels, disc = disc_pixels()

    found = wand.wand_proposals(pixels, WandPrompt((100, 75), 0, 0.0))

    assert shapely.polygons(found[0].points).area < 0.2 * disc.area
    assert_acceptable(found[0], pixels)


def test_wand_click_on_the_ground_outlines_the_ground_without_holes() -> None:
    pixels, _ = disc_pixels()

    found = wand.wand_proposals(pixels, WandPrompt((5, 5), 32, 1.0))

    assert iou(found[0].points, shapely.box(0, 0, 200, 150)) > 0.99
    assert_acceptable(found[0], pixels)


def test_wand_on_a_single_odd_pixel_proposes_its_square() -> None:
    pixels = np.zeros((20, 20, 3), np.uint8)
    pixels[7, 11] = (255, 255, 255)

    found = wand.wand_proposals(pixels, WandPrompt((11.5, 7.5), 10, 0.0))

    assert shapely.polygons(found[0].points).equals(shapely.box(11, 7, 12, 8))


def test_wand_on_a_single_odd_pixel_at_the_default_simplify_still_proposes_a_polygon() -> None:
    # Traced by its dominant points, the pixel's doubled square keeps fewer than a polygon's points: its
    # staircase is traced instead.
    pixels = np.zeros((20, 20, 3), np.uint8)
    pixels[7, 11] = (255, 255, 255)

    found = wand.wand_proposals(pixels, WandPrompt((11.5, 7.5), 10, 1.0))

    assert len(found) == 1
    assert shapely.box(11, 7, 12, 8).covers(shapely.polygons(found[0].points))  # simplified by a pixel
    assert_acceptable(found[0], pixels)


def test_an_outline_traced_by_its_dominant_points_has_fewer_vertices_and_stays_within_a_pixel() -> None:
    """The wand's outline when it is to be simplified anyway (box.mask_outlines with CHAIN_APPROX_TC89_L1):
    a disc's pixel staircase by its dominant points, not every step."""
    ys, xs = np.mgrid[0:200, 0:200]
    mask = (xs - 100) ** 2 + (ys - 100) ** 2 <= 70**2

    staircase = box.mask_outlines(mask)[0]
    dominant = box.mask_outlines(mask, chain=cv2.CHAIN_APPROX_TC89_L1)[0]

    assert len(dominant.exterior.coords) < 0.8 * len(staircase.exterior.coords)
    assert dominant.hausdorff_distance(staircase) < 1.0
    assert dominant.symmetric_difference(staircase).area < 0.01 * staircase.area


def test_wand_outline_covers_lines_of_single_pixels_and_parts_meeting_at_a_corner() -> None:
    """A region whose contour runs out and back along itself (a line one pixel wide sticking out) and
    touches itself (two blocks meeting at a corner): its outline at simplify 0 is its pixels' squares, but
    for slivers at the corners (a polygon may not touch itself where the blocks do). Buffering such a
    contour as it is lost the line, 14 px² (box.mask_outlines)."""
    pixels = np.zeros((30, 40, 3), np.uint8)
    pixels[5:15, 5:15] = 200  # a block,
    pixels[9, 15:25] = 200  # a line of single pixels out of its right side, bending down at its end,
    pixels[10:14, 24] = 200
    pixels[15:20, 15:20] = 200  # and a second block touching the first only at a corner
    squares = shapely.union_all(
        [shapely.box(x, y, x + 1, y + 1) for y, x in zip(*np.nonzero(pixels[:, :, 0]), strict=True)]
    )

    found = wand.wand_proposals(pixels, WandPrompt((7, 7), 10, 0.0))

    outline = shapely.polygons(found[0].points)
    assert outline.symmetric_difference(squares).area < 0.5
    line = shapely.box(15, 9, 25, 10).union(shapely.box(24, 10, 25, 14))
    assert outline.intersection(line).area > 0.97 * line.area
    assert_acceptable(found[0], pixels)


def test_wand_outline_over_the_vertex_bound_is_simplified_until_it_fits() -> None:
    """A region with a ragged border of 400 teeth: simplified in rounds of twice the tolerance, each
    from the last (proposals.ring_points), until at most max_vertices remain, near the region still."""
    pixels = np.zeros((120, 840, 3), np.uint8)
    pixels[20:100, 20:820] = 200
    pixels[18:20, 20:820:2] = 200  # a tooth every other pixel along the top

    found = wand.wand_proposals(pixels, WandPrompt((400, 60), 10, 0.0), max_vertices=100)

    assert len(found[0].points) <= 100
    assert iou(found[0].points, shapely.box(20, 19, 820, 100)) > 0.98
    assert_acceptable(found[0], pixels)


# Intelligent scissors -----------------------------------------------------------------------------


def test_scissors_between_two_points_on_a_circle_stay_near_its_border() -> None:
    pixels, disc = disc_pixels(300, 240, (150, 120), 80)
    centre = (150.5, 120.5)
    start, end = on_circle(centre, 80.5, 200), on_circle(centre, 80.5, 290)

    path = scissors.preview(pixels, ScissorsPrompt((start,), end, False, 0.0)).points

    assert path[0] == list(start)
    assert path[-1] == list(end)
    assert len(path) > 20  # it bends along the circle, not a straight line
    assert max(disc.exterior.distance(shapely.Point(p)) for p in path) < 2.5


def test_scissors_closed_through_four_anchors_outline_the_disc() -> None:
    pixels, disc = disc_pixels(300, 240, (150, 120), 80)
    anchors = tuple(on_circle((150.5, 120.5), 80.5, a) for a in (10, 100, 190, 280))

    closed = scissors.close(pixels, ScissorsPrompt(anchors, None, True, 1.0))

    assert closed is not None
    assert iou(closed.points, disc) > 0.95
    assert_acceptable(closed, pixels)


def test_scissors_tolerance_simplifies_the_closed_polygon() -> None:
    pixels, _ = disc_pixels(300, 240, (150, 120), 80)
    anchors = tuple(on_circle((150.5, 120.5), 80.5, a) for a in (10, 100, 190, 280))

    fine = scissors.close(pixels, ScissorsPrompt(anchors, None, True, 0.5))
    coarse = scissors.close(pixels, ScissorsPrompt(anchors, None, True, 8.0))

    assert fine is not None and coarse is not None
    assert len(coarse.points) < len(fine.points)
    assert_acceptable(coarse, pixels)


def test_scissors_along_a_straight_line_enclose_nothing() -> None:
    pixels, _ = rectangle_pixels()
    anchors = ((50.0, 40.0), (100.0, 40.0), (150.0, 40.0))

    assert scissors.close(pixels, ScissorsPrompt(anchors, None, True, 1.0)) is None


def test_scissors_previews_from_one_anchor_reuse_its_edge_map() -> None:
    pixels, _ = disc_pixels(600, 400, (300, 200), 120)
    cache = ByteLRU(lambda: 10**9)
    anchor = (180.0, 200.0)

    scissors.preview(pixels, ScissorsPrompt((anchor,), (200.0, 120.0), False, 1.0), cache, "picture")
    built = cache.get(("scissors", "picture", (180, 200)))
    scissors.preview(pixels, ScissorsPrompt((anchor,), (230.0, 100.0), False, 1.0), cache, "picture")
    again = cache.get(("scissors", "picture", (180, 200)))
    scissors.preview(pixels, ScissorsPrompt((anchor,), (590.0, 390.0), False, 1.0), cache, "picture")
    larger = cache.get(("scissors", "picture", (180, 200)))

    assert built is not None and again is built
    assert larger is not built and larger.reaches((590, 390))
    assert len(cache) == 1


@pytest.mark.parametrize("point", [(0.0, 0.0), (300.0, 240.0), (299.99, 0.0)])
def test_scissors_reach_the_image_corners(point: tuple[float, float]) -> None:
    pixels, _ = disc_pixels(300, 240, (150, 120), 80)

    path = scissors.preview(pixels, ScissorsPrompt(((150.0, 120.0),), point, False, 1.0)).points

    assert path[-1] == list(point)
    assert all(0 <= x <= 300 and 0 <= y <= 240 for x, y in path)


def test_scissors_too_far_for_an_edge_map_answer_a_straight_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A map is bounded (MAX_MAP_PIXELS): past it, the segment is the straight line between the two."""
    pixels, _ = disc_pixels(600, 400, (300, 200), 120)
    monkeypatch.setattr(scissors, "MAX_MAP_PIXELS", 100 * 100)

    far = scissors.preview(pixels, ScissorsPrompt(((10.0, 10.0),), (590.0, 390.0), False, 0.0)).points
    near = scissors.preview(pixels, ScissorsPrompt(((10.0, 10.0),), (30.0, 40.0), False, 0.0)).points

    assert far == [[10.0, 10.0], [590.0, 390.0]]
    assert len(near) > 2


def test_a_close_past_its_budget_of_edge_maps_still_gives_a_valid_polygon(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One request builds at most CLOSE_MAP_PIXELS of new maps; the rest of the outline is straight."""
    pixels, disc = disc_pixels(300, 240, (150, 120), 80)
    anchors = tuple(on_circle((150.5, 120.5), 80.5, a) for a in range(0, 360, 30))
    monkeypatch.setattr(scissors, "CLOSE_MAP_PIXELS", 3 * 320 * 320)

    closed = scissors.close(pixels, ScissorsPrompt(anchors, None, True, 0.5))

    assert closed is not None
    assert_acceptable(closed, pixels)
    assert iou(closed.points, disc) > 0.9  # a 12-gon's straight sides stay close to the circle
