"""The box tool's per-image preparation (apps/assist/regions.py): regions of one cell and one palette colour
whose sums are the pixels' own, the smoothness between them summed over every pixel pair that crosses, the
coarser levels adding them up; cached once per image and reused by every later box (box.cached_regions)."""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
import pytest

from apps.assist import box, regions
from apps.assist.images import ByteLRU
from apps.assist.prompts import BoxPrompt
from tests.assist_images import disc_pixels, iou


@pytest.fixture
def picture() -> np.ndarray:
    pixels, _ = disc_pixels(230, 170, (110, 80), 50)
    return pixels


def test_regions_hold_every_pixel_and_their_sums_are_the_pixels(picture: np.ndarray) -> None:
    found = regions.prepare(picture)
    blurred = cv2.GaussianBlur(picture, (3, 3), 0).reshape(-1, 3).astype(np.float64)

    base = found.levels[0]
    assert base.count.sum() == picture.shape[0] * picture.shape[1]
    assert np.allclose(base.moments[:, :3].sum(0), blurred.sum(0))
    products = [blurred[:, a] * blurred[:, b] for a in range(3) for b in range(a, 3)]
    assert np.allclose(base.moments[:, 3:].sum(0), [p.sum() for p in products])
    # each region's sums are those of its own pixels
    region = int(found.region_map[80, 110])
    mine = blurred[found.region_map.ravel() == region]
    assert base.count[region] == len(mine)
    assert np.allclose(base.moments[region, :3], mine.sum(0))


def test_a_region_lies_in_one_cell(picture: np.ndarray) -> None:
    found = regions.prepare(picture)
    base = found.levels[0]
    ys, xs = np.mgrid[0 : picture.shape[0], 0 : picture.shape[1]]
    cells = (ys // base.cell) * base.columns + xs // base.cell

    assert (base.cell_of[found.region_map] == cells).all()


def test_the_pairs_sum_the_smoothness_of_every_pixel_pair_that_crosses_two_regions(
    picture: np.ndarray,
) -> None:
    found = regions.prepare(picture)
    blurred = cv2.GaussianBlur(picture, (3, 3), 0).astype(np.float64)
    labels = found.region_map
    height, width = labels.shape
    expected, squared, pairs = 0.0, 0.0, 0
    for dy, dx, distance in regions.NEIGHBOURS:
        ya, yb = slice(0, height - dy), slice(dy, height)
        xa, xb = (
            (slice(0, width - dx), slice(dx, width)) if dx >= 0 else (slice(-dx, width), slice(0, width + dx))
        )
        d2 = ((blurred[ya, xa] - blurred[yb, xb]) ** 2).sum(-1)
        squared, pairs = squared + d2.sum(), pairs + d2.size
        expected += (np.exp(-found.beta * d2) / distance)[labels[ya, xa] != labels[yb, xb]].sum()

    assert found.beta == pytest.approx(1 / (2 * squared / pairs))
    assert found.levels[0].pairs.sum() == pytest.approx(expected, rel=1e-5)
    upper = found.levels[0].pairs.tocoo()
    assert (upper.row < upper.col).all()  # one entry per pair of regions


def test_coarser_levels_double_the_cell_and_add_up_the_regions_below(picture: np.ndarray) -> None:
    found = regions.prepare(picture)
    base = found.levels[0]

    for finer, coarser in zip(found.levels, found.levels[1:], strict=False):
        assert coarser.cell == 2 * finer.cell
        assert coarser.size < finer.size
    for level in found.levels[1:]:
        assert np.allclose(np.bincount(level.parent, base.count, level.size), level.count)
        assert np.allclose(level.moments.sum(0), base.moments.sum(0))
        # a region of a level is one palette colour of one cell
        assert len(set(zip(level.cell_of.tolist(), level.colour.tolist(), strict=True))) == level.size
        # the smoothness between its regions is that between their base regions
        crossing = level.parent[base.pairs.tocoo().row] != level.parent[base.pairs.tocoo().col]
        assert level.pairs.sum() == pytest.approx(base.pairs.tocoo().data[crossing].sum())
    assert (
        max(found.levels[-1].columns, math.ceil(picture.shape[0] / found.levels[-1].cell)) <= regions.COARSEST
    )


def test_a_large_image_gets_a_larger_base_cell() -> None:
    assert regions.base_cell(500, 375) == regions.BASE_CELL
    assert regions.base_cell(1732, 1170) == 9  # 2 megapixels: about BASE_CELLS cells


def test_the_regions_are_prepared_once_per_image_and_reused_by_a_second_box(picture: np.ndarray) -> None:
    cache = ByteLRU(lambda: 10**9)

    first = box.cached_regions(picture, cache, "image 7")
    second = box.cached_regions(picture, cache, "image 7")

    assert second is first
    assert (cache.misses, cache.hits) == (1, 1)
    assert ("regions", "image 7") in cache
    assert cache.bytes == first.nbytes > first.region_map.nbytes


def test_a_box_over_cached_regions_proposes_the_disc_without_preparing_again(
    monkeypatch: Any,
) -> None:
    pixels, disc = disc_pixels(800, 600, (400, 300), 180)
    cache = ByteLRU(lambda: 10**9)
    prepared = []
    prepare = regions.prepare
    monkeypatch.setattr(regions, "prepare", lambda *a, **k: prepared.append(k) or prepare(*a, **k))
    found = box.cached_regions(pixels, cache, "large")

    one = box.box_proposals(pixels, BoxPrompt((200, 100, 600, 500), (), 1.0), regions=found)
    two = box.box_proposals(pixels, BoxPrompt((180, 90, 640, 520), (), 1.0), regions=found)

    assert prepared == [{}]  # the image's, once; neither box made regions of its own
    assert iou(one[0].points, disc) > 0.95 and iou(two[0].points, disc) > 0.95


@pytest.mark.parametrize("shape", [(1, 1), (1, 3), (1, 60), (60, 1), (2, 1)])
def test_an_image_one_pixel_high_or_wide_gets_regions_without_pairs_across_its_missing_side(
    shape: tuple[int, int],
) -> None:
    # OpenCV took the 1x1 image's flat channels for scalars, and the pairs of a direction that has none
    # for an empty image: both failed (a 500 on the box route).
    pixels = np.zeros((*shape, 3), np.uint8)
    pixels[:, : max(1, shape[1] // 2)] = 250

    found = regions.prepare(pixels)

    base = found.levels[0]
    assert base.count.sum() == shape[0] * shape[1]
    assert np.allclose(base.moments[:, :3].sum(0), cv2.GaussianBlur(pixels, (3, 3), 0).reshape(-1, 3).sum(0))
    assert base.pairs.shape == (base.size, base.size)
