"""PASCAL VOC: the standard palette, class and object PNGs that Pillow opens as such, and a rasterisation that
agrees with pycocotools' up to the boundary convention."""

from __future__ import annotations

import io
import math
import random

import numpy as np
import pytest
import shapely
from PIL import Image

from apps.interchange import (
    ImageRecord,
    Obj,
    voc_class_index,
    voc_class_list,
    voc_masks,
    voc_palette,
)
from apps.interchange.model import ring_perimeter
from apps.interchange.voc import ring_spans
from tests.unit.test_interchange_model import CATEGORIES, require, sample_images, square

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

# The devkit's colour map, entries 0..20 (background and the 20 VOC classes).
VOC_FIRST_21 = [
    (0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0), (0, 0, 128), (128, 0, 128), (0, 128, 128),
    (128, 128, 128), (64, 0, 0), (192, 0, 0), (64, 128, 0), (192, 128, 0), (64, 0, 128), (192, 0, 128),
    (64, 128, 128), (192, 128, 128), (0, 64, 0), (128, 64, 0), (0, 192, 0), (128, 192, 0), (0, 64, 128),
]  # fmt: skip


def colours(palette: list[int]) -> list[tuple[int, ...]]:
    return [tuple(palette[i : i + 3]) for i in range(0, len(palette), 3)]


def pixels(png: bytes) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(png)))


def test_the_palette_is_the_standard_voc_colour_map() -> None:
    palette = colours(voc_palette())

    assert len(palette) == 256
    assert palette[:21] == VOC_FIRST_21
    assert palette[1] == (128, 0, 0) and palette[15] == (192, 128, 128)
    assert palette[255] == (224, 224, 192)


def test_the_palette_matches_the_one_labelme_writes_voc_pngs_with() -> None:
    imgviz = require("imgviz")

    assert colours(voc_palette()) == [tuple(int(c) for c in row) for row in imgviz.label_colormap()]


def test_the_class_list_starts_with_background_in_class_index_order() -> None:
    assert voc_class_list(CATEGORIES) == "background\ncat\ndog\ntraffic light\n"
    assert voc_class_index(CATEGORIES) == {7: 1, 3: 2, 12: 3}


def test_a_name_with_a_line_break_cannot_go_in_the_class_list() -> None:
    from apps.interchange import Category

    with pytest.raises(ValueError):
        voc_class_list([Category(1, "two\nlines", "#000000")])


def test_masks_are_palette_pngs_of_the_image_size() -> None:
    image = sample_images()[0]

    for png in voc_masks(image, voc_class_index(CATEGORIES)):
        picture = Image.open(io.BytesIO(png))
        assert picture.format == "PNG" and picture.mode == "P"
        assert picture.size == (image.width, image.height)
        assert picture.getpalette()[: 3 * 256] == voc_palette()


def test_class_pixels_are_class_indexes_and_object_pixels_object_numbers() -> None:
    image = ImageRecord(
        1,
        "a.jpg",
        40,
        30,
        (
            Obj(3, (square(0, 0, 10), square(20, 0, 10)), group="g"),
            Obj(7, (square(0, 20, 5),)),
        ),
    )

    class_png, object_png = voc_masks(image, voc_class_index(CATEGORIES))

    classes, objects = pixels(class_png), pixels(object_png)
    assert classes.shape == (30, 40)
    assert (classes == 2).sum() == 200 and (classes == 1).sum() == 25 and (classes == 0).sum() == 1200 - 225
    assert (objects == 1).sum() == 200 and (objects == 2).sum() == 25
    assert objects[5, 25] == 1 and objects[22, 2] == 2 and objects[15, 15] == 0


def test_later_objects_paint_over_earlier_ones() -> None:
    image = ImageRecord(
        1,
        "a.jpg",
        30,
        30,
        (Obj(7, (square(0, 0, 20),)), Obj(3, (square(10, 10, 20),)), Obj(7, (square(25, 10, 5),))),
    )

    class_png, object_png = voc_masks(image, voc_class_index(CATEGORIES))

    objects = pixels(object_png)
    assert objects[15, 15] == 2 and objects[5, 5] == 1 and objects[12, 27] == 3
    assert (objects == 1).sum() == 400 - 100 and (objects == 2).sum() == 400 - 25
    assert pixels(class_png)[15, 15] == 2 and pixels(class_png)[12, 27] == 1


def test_a_pixel_is_in_when_its_centre_is_and_shared_edges_leave_no_gap_or_overlap() -> None:
    left, right = square(0, 0, 10), square(10, 0, 10)
    image = ImageRecord(1, "a.jpg", 30, 30, (Obj(7, (left,)), Obj(7, (right,))))

    objects = pixels(voc_masks(image, voc_class_index(CATEGORIES))[1])

    assert (objects == 1).sum() == 100 and (objects == 2).sum() == 100
    # A half-pixel-wide sliver covers no pixel centre; one reaching past the centres covers that column.
    assert ring_spans(((3.0, 0.0), (3.4, 0.0), (3.4, 5.0), (3.0, 5.0)), 30, 30) == {}
    assert ring_spans(((3.0, 0.0), (3.6, 0.0), (3.6, 2.0), (3.0, 2.0)), 30, 30) == {0: [(3, 4)], 1: [(3, 4)]}


def test_an_image_with_too_many_objects_for_an_8_bit_png_is_refused() -> None:
    crowded = ImageRecord(1, "a.jpg", 10, 10, tuple(Obj(7, (square(1, 1, 2),)) for _ in range(255)))

    with pytest.raises(ValueError, match="255 objects"):
        voc_masks(crowded, voc_class_index(CATEGORIES))


def star(rng: random.Random, width: int, height: int) -> tuple[tuple[float, float], ...]:
    """A random star-shaped polygon, partly outside the image before clamping, like hand-drawn outlines."""
    count = rng.randint(3, 30)
    cx, cy, radius = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(3, 80)
    ring = []
    for k in range(count):
        r = radius * rng.uniform(0.3, 1.0)
        x = cx + r * math.cos(2 * math.pi * k / count)
        y = cy + r * math.sin(2 * math.pi * k / count)
        ring.append((min(max(x, 0.0), width), min(max(y, 0.0), height)))
    return tuple(ring)


def test_pixel_counts_agree_with_pycocotools_up_to_the_boundary_convention() -> None:
    mask_api = require("pycocotools.mask")
    rng = random.Random(20240501)
    width, height = 200, 150
    rings = [star(rng, width, height) for _ in range(150)] + [
        ring for image in sample_images() for obj in image.objects for ring in obj.parts
    ]

    for ring in rings:
        image = ImageRecord(1, "a.jpg", width, height, (Obj(7, (ring,)),))
        ours = pixels(voc_masks(image, {7: 1})[0]) == 1
        flat = [c for point in ring for c in point]
        theirs = mask_api.decode(mask_api.frPyObjects([flat], height, width))[:, :, 0].astype(bool)

        assert abs(int(ours.sum()) - int(theirs.sum())) <= ring_perimeter(ring) + 4
        # Where the two disagree, the pixel centre lies on the outline, give or take half a pixel.
        rows, columns = np.nonzero(ours ^ theirs)
        if len(rows):
            distances = shapely.distance(shapely.LinearRing(ring), shapely.points(columns + 0.5, rows + 0.5))
            assert distances.max() <= 0.5
        if theirs.sum() >= 500:
            assert (ours & theirs).sum() / (ours | theirs).sum() >= 0.95
