"""PASCAL VOC: the standard palette, class and object PNGs that Pillow opens as such, and a rasterisation that
agrees with pycocotools' up to the boundary convention."""

from __future__ import annotations

import io
import math
import random
from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import Image

from apps.interchange import (
    Category,
    ImageRecord,
    Obj,
    voc_class_index,
    voc_class_list,
    voc_masks,
    voc_palette,
)
from apps.interchange.model import ring_perimeter
from apps.interchange.voc import ring_spans, voc_image_path
from tests.conftest import png_bytes
from tests.unit.reference_readers import (
    datumaro_parse_label_map,
    datumaro_voc_segmentation,
    torchvision_voc_segmentation,
)
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


def test_the_class_list_starts_with_background_in_class_index_order_with_each_index_colour() -> None:
    assert voc_class_list(CATEGORIES) == (
        "background:0,0,0::\ncat:128,0,0::\ndog:0,128,0::\ntraffic light:128,128,0::\n"
    )
    assert voc_class_index(CATEGORIES) == {7: 1, 3: 2, 12: 3}


def test_datumaro_reads_the_class_list_as_the_labels_in_index_order_with_their_palette_colours(
    tmp_path: Path,
) -> None:
    path = tmp_path / "labelmap.txt"
    path.write_text(voc_class_list(CATEGORIES), encoding="utf-8")

    label_map = datumaro_parse_label_map(path)

    assert list(label_map) == ["background", "cat", "dog", "traffic light"]
    assert [desc[0] for desc in label_map.values()] == VOC_FIRST_21[:4]


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("a:b", "a_b"),
        ("two\nlines", "two_lines"),
        ("  padded ", "padded"),
        ("#hash", "_#hash"),
    ],
)
def test_names_a_labelmap_line_cannot_hold_are_written_so_datumaro_reads_every_class(
    tmp_path: Path, name: str, written: str
) -> None:
    categories = [Category(1, "cat", "#000000"), Category(2, name, "#000000"), Category(3, "dog", "#000000")]
    path = tmp_path / "labelmap.txt"
    path.write_text(voc_class_list(categories), encoding="utf-8")

    assert list(datumaro_parse_label_map(path)) == ["background", "cat", written, "dog"]


def test_a_name_that_becomes_another_after_replacing_gets_a_number(tmp_path: Path) -> None:
    categories = [Category(1, "a_b", "#000000"), Category(2, "a:b", "#000000")]
    path = tmp_path / "labelmap.txt"
    path.write_text(voc_class_list(categories), encoding="utf-8")

    assert list(datumaro_parse_label_map(path)) == ["background", "a_b", "a_b (2)"]


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


# As Datumaro and torchvision read it (tests/unit/reference_readers.py) ----------------------------------

VOID = Category(20, "__ignore__", "#e0e0c0")


def write_export(root: Path, images: list[ImageRecord], categories: tuple[Category, ...]) -> None:
    """The files of a VOC export with images, laid out as export.py lays them out."""
    index = voc_class_index(categories)
    root.mkdir(parents=True, exist_ok=True)
    (root / "labelmap.txt").write_text(voc_class_list(categories), encoding="utf-8")
    names = []
    for image in images:
        stem = image.file_name.rsplit(".", 1)[0]
        names.append(stem)
        for folder, png in zip(
            ("SegmentationClass", "SegmentationObject"), voc_masks(image, index), strict=True
        ):
            (root / folder / f"{stem}.png").parent.mkdir(parents=True, exist_ok=True)
            (root / folder / f"{stem}.png").write_bytes(png)
        (root / voc_image_path(image.file_name)).parent.mkdir(parents=True, exist_ok=True)
        (root / voc_image_path(image.file_name)).write_bytes(png_bytes(image.width, image.height))
    split = root / "ImageSets" / "Segmentation" / "train.txt"
    split.parent.mkdir(parents=True)
    split.write_text("".join(f"{name}\n" for name in names), encoding="utf-8")


EXPORTED = [
    ImageRecord(
        1,
        "a.jpg",
        40,
        30,
        (Obj(3, (square(0, 0, 10), square(20, 0, 10)), group="g"), Obj(7, (square(0, 20, 5),))),
    ),
    ImageRecord(2, "sub/b.png", 40, 30, (Obj(12, (square(5, 5, 10),)), Obj(20, (square(30, 20, 8),)))),
    ImageRecord(3, "c.jpeg", 20, 20),
]


def test_datumaro_imports_every_object_with_its_label_and_void_as_ignored(tmp_path: Path) -> None:
    write_export(tmp_path, EXPORTED, (*CATEGORIES, VOID))

    items = datumaro_voc_segmentation(tmp_path)

    assert [(i["subset"], i["id"]) for i in items] == [("train", "a"), ("train", "sub/b"), ("train", "c")]
    assert [sorted(i["masks"]) for i in items] == [
        [(1, "dog"), (2, "cat")],
        [(1, "traffic light"), (255, "ignored")],
        [],
    ]
    assert all(i["image"] is not None for i in items)


def test_void_is_255_in_both_masks_and_takes_no_object_number() -> None:
    index = voc_class_index((*CATEGORIES, VOID))
    image = ImageRecord(
        1,
        "a.jpg",
        30,
        30,
        (Obj(7, (square(0, 0, 20),)), Obj(20, (square(10, 10, 20),)), Obj(3, (square(25, 0, 5),))),
    )

    classes, objects = (pixels(png) for png in voc_masks(image, index))

    assert index[20] == 255
    assert classes[15, 15] == objects[15, 15] == 255  # painted over the cat, as labelme paints in order
    assert classes[5, 5] == 1 and objects[5, 5] == 1
    assert classes[2, 27] == 2 and objects[2, 27] == 2  # the dog is object 2: the void region took no number
    assert voc_class_list((*CATEGORIES, VOID)).splitlines()[-1] == "ignored:224,224,192::"


def test_a_class_named_ignored_keeps_its_name_and_void_gets_another(tmp_path: Path) -> None:
    path = tmp_path / "labelmap.txt"
    path.write_text(voc_class_list([Category(1, "ignored", "#000000"), VOID]), encoding="utf-8")

    assert list(datumaro_parse_label_map(path)) == ["background", "ignored", "ignored (2)"]


def test_torchvision_reads_the_train_split_images_and_class_masks(tmp_path: Path) -> None:
    voc_root = tmp_path / "VOCdevkit" / "VOC2012"
    write_export(voc_root, [EXPORTED[0], EXPORTED[2]], CATEGORIES)

    pairs = torchvision_voc_segmentation(voc_root, "train")

    assert [(image.size, np.unique(np.array(target)).tolist()) for image, target in pairs] == [
        ((40, 30), [0, 1, 2]),
        ((20, 20), [0]),
    ]


@pytest.mark.parametrize(
    ("file_name", "member"),
    [
        ("a.jpg", "JPEGImages/a.jpg"),
        ("x/a.JPEG", "JPEGImages/x/a.jpg"),
        ("a.png", "JPEGImages/a.png"),
    ],
)
def test_jpeg_images_are_named_as_torchvision_opens_them(file_name: str, member: str) -> None:
    assert voc_image_path(file_name) == member
