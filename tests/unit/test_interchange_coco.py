"""COCO: the export streams, loads in pycocotools and reads back to the same objects; the reader refuses
each malformed record with its own code and takes nothing of it."""

from __future__ import annotations

import io
import json
import math
import random
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.interchange import Category, ImageRecord, Obj, ParsedImport, coco_read, coco_write
from apps.interchange.coco import coco_chunks
from tests.unit.test_interchange_model import CATEGORIES, require, sample_images, square

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

LABELS = {category.id: category.name for category in CATEGORIES}


def written(images: Any, categories: Any = CATEGORIES) -> str:
    out = io.StringIO()
    coco_write(images, categories, out)
    return out.getvalue()


def assert_same_objects(images: list[ImageRecord], parsed: ParsedImport) -> None:
    """Every image, label, part and vertex came back (vertices within 1e-6), in order."""
    assert [image.file_name for image in parsed.images] == [image.file_name for image in images]
    for image, back in zip(images, parsed.images, strict=True):
        assert (back.width, back.height) == (image.width, image.height)
        assert [o.label for o in back.objects] == [LABELS[o.category_id] for o in image.objects]
        for obj, back_obj in zip(image.objects, back.objects, strict=True):
            assert len(back_obj.parts) == len(obj.parts)
            assert (back_obj.group is None) == (len(obj.parts) == 1)
            for ring, back_ring in zip(obj.parts, back_obj.parts, strict=True):
                assert len(back_ring) == len(ring)
                for (x, y), (bx, by) in zip(ring, back_ring, strict=True):
                    assert abs(x - bx) <= 1e-6 and abs(y - by) <= 1e-6


# Writing ---------------------------------------------------------------------------------------------


def test_export_reads_back_to_the_same_objects_labels_and_vertices() -> None:
    images = sample_images()

    parsed = coco_read(written(images).encode())

    assert parsed.refusals == ()
    assert parsed.categories == ("cat", "dog", "traffic light")
    assert_same_objects(images, parsed)


def test_a_multi_part_object_is_one_annotation_with_one_polygon_per_part() -> None:
    document = json.loads(written(sample_images()))

    three_parts = [a for a in document["annotations"] if a["image_id"] == 5 and a["category_id"] == 3]
    assert len(three_parts) == 1
    assert three_parts[0]["segmentation"] == [
        [1, 1, 21, 1, 21, 21, 1, 21],
        [30, 1, 50, 1, 50, 21, 30, 21],
        [1, 25, 21, 25, 21, 45, 1, 45],
    ]
    assert three_parts[0]["area"] == 1200
    assert three_parts[0]["bbox"] == [1, 1, 49, 44]
    assert three_parts[0]["iscrowd"] == 0


def test_ids_categories_and_images_are_as_coco_readers_expect() -> None:
    document = json.loads(written(sample_images()))

    assert [a["id"] for a in document["annotations"]] == list(range(1, 6))
    assert document["licenses"] == [] and isinstance(document["info"], dict)
    assert document["categories"] == [
        {"id": 7, "name": "cat", "supercategory": ""},
        {"id": 3, "name": "dog", "supercategory": ""},
        {"id": 12, "name": "traffic light", "supercategory": ""},
    ]
    assert document["images"][2] == {
        "id": 5,
        "file_name": "birds/deep/bird 003.jpg",
        "width": 64,
        "height": 48,
    }


def test_floats_are_written_so_they_read_back_exactly() -> None:
    image = ImageRecord(1, "a.jpg", 10, 10, (Obj(7, (((0.1, 0.2), (1 / 3, 9.999999999999), (5.5, 2 / 7)),)),))

    parsed = coco_read(written([image]).encode())

    assert parsed.images[0].objects[0].parts[0] == ((0.1, 0.2), (1 / 3, 9.999999999999), (5.5, 2 / 7))


def test_the_export_loads_in_pycocotools_and_every_annotation_has_a_mask(tmp_path: Path) -> None:
    coco_module = require("pycocotools.coco")
    path = tmp_path / "instances.json"
    path.write_text(written(sample_images()), encoding="utf-8")

    coco = coco_module.COCO(str(path))

    assert sorted(coco.getImgIds()) == [1, 2, 5]
    assert len(coco.getAnnIds()) == 5
    for annotation in coco.loadAnns(coco.getAnnIds()):
        image = coco.loadImgs(annotation["image_id"])[0]
        mask = coco.annToMask(annotation)
        assert mask.shape == (image["height"], image["width"])
        # pycocotools' pixel count and our shoelace area differ by the boundary convention only.
        assert (
            abs(int(mask.sum()) - annotation["area"])
            <= 2 * (annotation["bbox"][2] + annotation["bbox"][3]) + 4
        )
    three_parts = coco.loadAnns(coco.getAnnIds(imgIds=[5], catIds=[3]))[0]
    assert int(coco.annToMask(three_parts).sum()) == 3 * 20 * 20


class CountingOut(io.StringIO):
    """A text sink that counts the image entries written to it so far."""

    images_written = 0

    def write(self, text: str) -> int:
        self.images_written += text.count('"file_name"')
        return super().write(text)


def test_export_consumes_the_images_lazily_one_at_a_time() -> None:
    produced = 0
    out = CountingOut()

    def images() -> Iterator[ImageRecord]:
        nonlocal produced
        for number in range(1, 2001):
            produced += 1
            # Every earlier image is written out before the export asks for the next one.
            assert out.images_written == number - 1
            yield ImageRecord(number, f"i/{number}.jpg", 50, 40, (Obj(7, (square(1, 1, 5),)),))

    coco_write(images(), CATEGORIES, out)

    assert produced == 2000
    document = json.loads(out.getvalue())
    assert len(document["images"]) == 2000
    assert len(document["annotations"]) == 2000
    assert document["annotations"][-1] == {
        "id": 2000,
        "image_id": 2000,
        "category_id": 7,
        "segmentation": [[1, 1, 6, 1, 6, 6, 1, 6]],
        "area": 25.0,
        "bbox": [1, 1, 5, 5],
        "iscrowd": 0,
        "attributes": {"occluded": False},
    }


def test_an_empty_export_is_valid_json() -> None:
    assert json.loads(written([], [])) == {
        "info": {"description": "Exported from polylog", "version": "1.0"},
        "licenses": [],
        "categories": [],
        "images": [],
        "annotations": [],
    }


def test_export_refuses_an_object_of_a_category_it_does_not_list() -> None:
    with pytest.raises(ValueError, match="category 99"):
        written([ImageRecord(1, "a.jpg", 10, 10, (Obj(99, (square(1, 1, 2),)),))])


def test_export_refuses_a_non_finite_coordinate_rather_than_write_invalid_json() -> None:
    with pytest.raises(ValueError):
        written([ImageRecord(1, "a.jpg", 10, 10, (Obj(7, (((0, 0), (float("nan"), 1), (2, 2)),)),))])


# Reading ---------------------------------------------------------------------------------------------


def document(annotations: list[Any], **extra: Any) -> bytes:
    """A small COCO file: images 1 (100x80, 'a.jpg') and 2 (50x40, 'b/c.jpg'), categories 1 'cat', 2 'dog'."""
    body = {
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 100, "height": 80},
            {"id": 2, "file_name": "b/c.jpg", "width": 50, "height": 40},
        ],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        "annotations": annotations,
        **extra,
    }
    return json.dumps(body).encode()


def annotation(annotation_id: int = 1, image_id: Any = 1, category_id: Any = 1, **fields: Any) -> dict:
    fields.setdefault("segmentation", [[10, 10, 20, 10, 20, 20, 10, 20]])
    fields.setdefault("iscrowd", 0)
    return {"id": annotation_id, "image_id": image_id, "category_id": category_id, **fields}


def all_vertices(parsed: ParsedImport) -> list[tuple[float, float]]:
    return [p for image in parsed.images for obj in image.objects for ring in obj.parts for p in ring]


REFUSED_ANNOTATIONS = [
    ("unknown_image", annotation(2, image_id=9)),
    ("unknown_category", annotation(2, category_id=9)),
    ("unsupported_segmentation", annotation(2, iscrowd=1)),
    ("unsupported_segmentation", annotation(2, segmentation={"counts": "abc", "size": [80, 100]})),
    ("unsupported_segmentation", annotation(2, segmentation=[])),
    ("too_few_points", annotation(2, segmentation=[[60, 60, 70, 70, 60, 60, 70, 70]])),
    ("out_of_bounds", annotation(2, segmentation=[[60, 60, 70, 60, 70, 81.5]])),
    ("invalid_coordinates", annotation(2, segmentation=[[60, 60, 70, 60, 70, "7"]])),
    ("invalid_polygon", annotation(2, segmentation=[[60, 60, 70, 60, 70]])),
    ("invalid_polygon", annotation(2, segmentation="60 60 70 60 70 70")),
    ("invalid_annotation_record", ["not", "an", "object"]),
]


@pytest.mark.parametrize(("code", "record"), REFUSED_ANNOTATIONS)
def test_a_malformed_annotation_is_refused_with_its_code_and_contributes_nothing(
    code: str, record: Any
) -> None:
    parsed = coco_read(document([annotation(1), record, annotation(3, image_id=2, category_id=2)]))

    assert [(r.record, r.code) for r in parsed.refusals] == [("annotations[1]", code)]
    assert [len(image.objects) for image in parsed.images] == [1, 1]
    assert all_vertices(parsed) == [(10, 10), (20, 10), (20, 20), (10, 20)] * 2


def test_one_bad_part_refuses_the_whole_annotation_never_a_partial_object() -> None:
    good_then_bad = [[10, 10, 20, 10, 20, 20], [30, 30, 40, 30, float("inf"), 40]]

    parsed = coco_read(document([annotation(1, segmentation=good_then_bad)]))

    assert [(r.record, r.code) for r in parsed.refusals] == [("annotations[0]", "invalid_coordinates")]
    assert "Polygon 1" in parsed.refusals[0].message
    assert all_vertices(parsed) == []


def test_non_finite_literals_in_the_json_are_refused_as_invalid_coordinates() -> None:
    data = document([annotation(1)]).replace(b"[[10, 10,", b"[[NaN, 10,")

    parsed = coco_read(data)

    assert [(r.record, r.code) for r in parsed.refusals] == [("annotations[0]", "invalid_coordinates")]


def test_a_vertex_within_a_pixel_outside_is_clamped_and_taken() -> None:
    parsed = coco_read(document([annotation(1, segmentation=[[-0.5, 0, 100.9, 0, 100.2, 80.7]])]))

    assert parsed.refusals == ()
    assert parsed.images[0].objects[0].parts == (((0.0, 0.0), (100.0, 0.0), (100.0, 80.0)),)


def test_a_self_intersecting_polygon_is_carried_for_the_integration_to_judge() -> None:
    bow_tie = [10, 10, 20, 20, 20, 10, 10, 20]

    parsed = coco_read(document([annotation(1, segmentation=[bow_tie])]))

    assert parsed.refusals == ()
    assert parsed.images[0].objects[0].parts == (((10, 10), (20, 20), (20, 10), (10, 20)),)


def test_a_closing_point_repeated_as_some_tools_write_it_is_dropped() -> None:
    parsed = coco_read(document([annotation(1, segmentation=[[10, 10, 20, 10, 20, 20, 10, 10]])]))

    assert parsed.images[0].objects[0].parts == (((10, 10), (20, 10), (20, 20)),)


def test_annotations_are_grouped_under_their_image_and_multi_part_ones_get_a_group() -> None:
    two_parts = [[10, 10, 20, 10, 20, 20], [1, 1, 5, 1, 5, 5]]

    parsed = coco_read(
        document(
            [annotation(4, image_id=2, category_id=2), annotation(8, segmentation=two_parts), annotation(9)]
        )
    )

    first, second = parsed.images
    assert first.file_name == "a.jpg" and [(o.label, len(o.parts), o.group) for o in first.objects] == [
        ("cat", 2, "coco-8"),
        ("cat", 1, None),
    ]
    assert second.file_name == "b/c.jpg" and [(o.label, o.group) for o in second.objects] == [("dog", None)]


@pytest.mark.parametrize(
    "image",
    [
        {"id": 3, "width": 10, "height": 10},
        {"id": 3, "file_name": "d.jpg", "height": 10},
        {"id": 3, "file_name": "d.jpg", "width": 10, "height": 0},
        {"id": 3, "file_name": "d.jpg", "width": "10", "height": 10},
        {"id": 3, "file_name": "d.jpg", "width": 10**400, "height": 10},
        {"file_name": "d.jpg", "width": 10, "height": 10},
        {"id": 1, "file_name": "d.jpg", "width": 10, "height": 10},
        "d.jpg",
    ],
)
def test_an_image_record_without_id_file_name_or_size_is_refused_with_its_annotations(image: Any) -> None:
    data = json.loads(document([annotation(1), annotation(2, image_id=3)]))
    data["images"].append(image)

    parsed = coco_read(json.dumps(data).encode())

    assert [(r.record, r.code) for r in parsed.refusals] == [
        ("images[2]", "invalid_image_record"),
        ("annotations[1]", "unknown_image"),
    ]
    assert [image.file_name for image in parsed.images] == ["a.jpg", "b/c.jpg"]
    assert [len(image.objects) for image in parsed.images] == [1, 0]


def test_an_image_path_leaving_the_import_is_refused() -> None:
    data = json.loads(document([]))
    data["images"].append({"id": 3, "file_name": "../outside.jpg", "width": 10, "height": 10})

    parsed = coco_read(json.dumps(data).encode())

    assert [(r.record, r.code) for r in parsed.refusals] == [("images[2]", "invalid_image_path")]


def test_a_malformed_category_is_refused_and_its_annotations_with_it() -> None:
    data = json.loads(document([annotation(1, category_id=5)]))
    data["categories"].append({"id": 5})

    parsed = coco_read(json.dumps(data).encode())

    assert [(r.record, r.code) for r in parsed.refusals] == [
        ("categories[2]", "invalid_category_record"),
        ("annotations[0]", "unknown_category"),
    ]
    assert parsed.categories == ("cat", "dog")


def test_labels_are_the_category_names_in_listed_order_once_each() -> None:
    data = json.loads(document([]))
    data["categories"] = [{"id": 4, "name": "zebra"}, {"id": 1, "name": "ant"}, {"id": 2, "name": "zebra"}]

    assert coco_read(json.dumps(data).encode()).categories == ("zebra", "ant")


@pytest.mark.parametrize("data", [b"{not json", b"\xff\xfe\x00garbage", b"", b"[" * 100_000])
def test_bad_json_is_one_refusal_of_the_file_and_nothing_else(data: bytes) -> None:
    parsed = coco_read(data)

    assert parsed.categories == () and parsed.images == ()
    assert [(r.record, r.code) for r in parsed.refusals] == [("file", "invalid_json")]


@pytest.mark.parametrize("data", [b"[]", b'{"images": []}', b'{"images": {}, "categories": []}'])
def test_json_that_is_not_a_coco_document_is_refused_whole(data: bytes) -> None:
    parsed = coco_read(data)

    assert parsed.images == ()
    assert [(r.record, r.code) for r in parsed.refusals] == [("file", "invalid_document")]


def test_a_file_without_annotations_lists_its_images_with_no_objects() -> None:
    data = json.loads(document([]))
    del data["annotations"]

    parsed = coco_read(json.dumps(data).encode())

    assert parsed.refusals == ()
    assert [(image.file_name, image.objects) for image in parsed.images] == [("a.jpg", ()), ("b/c.jpg", ())]


def test_category_ids_are_kept_in_the_export() -> None:
    categories = [Category(40, "x", "#000000")]

    exported = json.loads(
        written([ImageRecord(1, "a.jpg", 9, 9, (Obj(40, (square(0, 0, 3),)),))], categories)
    )

    assert exported["categories"][0]["id"] == 40 and exported["annotations"][0]["category_id"] == 40


# Size ------------------------------------------------------------------------------------------------


def big_images(count: int) -> Iterator[ImageRecord]:
    """`count` 640x480 images of 10 objects of 30 vertices each, made one at a time."""
    rng = random.Random(7)
    objects = tuple(
        Obj(
            CATEGORIES[number % 3].id,
            (
                tuple(
                    (
                        320 + 150 * rng.uniform(0.5, 1) * math.cos(2 * math.pi * k / 30),
                        240 + 150 * rng.uniform(0.5, 1) * math.sin(2 * math.pi * k / 30),
                    )
                    for k in range(30)
                ),
            ),
        )
        for number in range(10)
    )
    for number in range(1, count + 1):
        yield ImageRecord(number, f"big/{number:05}.jpg", 640, 480, objects)


def traced_peak(count: int, path: Path) -> int:
    tracemalloc.start()
    try:
        with path.open("w", encoding="utf-8") as out:
            coco_write(big_images(count), CATEGORIES, out)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_export_memory_does_not_grow_with_the_number_of_images(tmp_path: Path) -> None:
    small = traced_peak(50, tmp_path / "small.json")
    large = traced_peak(1000, tmp_path / "large.json")

    # 20 times the images, about the same memory: only the set of image ids already written grows.
    assert large <= small + 512 * 1024, (small, large)


@pytest.mark.slow
def test_a_ten_thousand_image_export_is_written_whole(tmp_path: Path) -> None:
    """The size of the bench's export, checked for what it writes; its time is measured by `make bench`
    (tests/bench/interchange.py), not asserted here."""
    path = tmp_path / "instances.json"

    with path.open("w", encoding="utf-8") as out:
        coco_write(big_images(10_000), CATEGORIES, out)

    document = json.loads(path.read_text(encoding="utf-8"))
    assert len(document["images"]) == 10_000
    assert len(document["annotations"]) == 100_000
    assert len({annotation["id"] for annotation in document["annotations"]}) == 100_000
    assert all(len(a["segmentation"][0]) == 60 for a in document["annotations"][::997])


# Void regions and what a refusal counts ----------------------------------------------------------------------

VOID = Category(20, "__ignore__", "#e0e0c0")


def test_void_regions_are_written_as_crowd_annotations_that_evaluation_leaves_out(tmp_path: Path) -> None:
    coco_module = require("pycocotools.coco")
    image = ImageRecord(1, "a.jpg", 100, 80, (Obj(7, (square(0, 0, 10),)), Obj(20, (square(50, 50, 10),))))
    path = tmp_path / "instances.json"
    path.write_text(written([image], (*CATEGORIES, VOID)), encoding="utf-8")

    coco = coco_module.COCO(str(path))

    (void,) = coco.loadAnns(coco.getAnnIds(iscrowd=True))
    assert (void["iscrowd"], void["ignore"], coco.loadCats(void["category_id"])[0]["name"]) == (
        1,
        1,
        "__ignore__",
    )
    assert coco.annToMask(void).sum() == 100
    (cat,) = coco.loadAnns(coco.getAnnIds(iscrowd=False))
    assert cat["iscrowd"] == 0 and "ignore" not in cat


def test_a_crowd_polygon_of_the_void_category_reads_back_as_a_void_region() -> None:
    image = ImageRecord(1, "a.jpg", 100, 80, (Obj(7, (square(0, 0, 10),)), Obj(20, (square(50, 50, 10),))))

    parsed = coco_read(written([image], (*CATEGORIES, VOID)).encode())

    assert parsed.refusals == ()
    assert [o.label for o in parsed.images[0].objects] == ["cat", "__ignore__"]


def test_a_crowd_region_of_any_other_category_is_still_refused() -> None:
    parsed = coco_read(document([annotation(1, iscrowd=1)]))

    assert [r.code for r in parsed.refusals] == ["unsupported_segmentation"]


def test_refusals_count_the_annotations_they_stand_for_and_no_other_record() -> None:
    data = json.loads(
        document(
            [annotation(1, category_id=5), annotation(2, segmentation=[[1, 1]]), annotation(3, image_id=7)]
        )
    )
    data["categories"].append({"id": 5})
    data["images"].append({"id": 7, "file_name": "x.jpg"})

    parsed = coco_read(json.dumps(data).encode())

    assert [(r.code, r.objects) for r in parsed.refusals] == [
        ("invalid_category_record", 0),
        ("invalid_image_record", 0),
        ("unknown_category", 1),
        ("too_few_points", 1),
        ("unknown_image", 1),
    ]


def test_every_category_is_a_label_in_listed_order_whether_used_or_not() -> None:
    data = json.loads(document([annotation(1, category_id=2)]))
    data["categories"] = [{"id": n, "name": f"class {n:02}"} for n in range(20, 0, -1)]

    assert coco_read(json.dumps(data).encode()).categories == tuple(f"class {n:02}" for n in range(20, 0, -1))


def empty_images(count: int, start: int = 1) -> Iterator[ImageRecord]:
    for number in range(start, start + count):
        yield ImageRecord(number, f"e/{number:06}.jpg", 64, 48, ())


def test_the_ids_written_in_increasing_order_cost_8_bytes_an_image_not_a_set(tmp_path: Path) -> None:
    def peak(count: int) -> int:
        tracemalloc.start()
        try:
            for _ in coco_chunks(empty_images(count), CATEGORIES):
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(1_000), peak(21_000)

    # A set of every id costs ~80 bytes an image (1.6 MB for these 20,000 more); the array 8 (+ growth).
    assert large - small <= 20_000 * 20, (small, large)


@pytest.mark.parametrize("ids", [[1, 2, 3, 2], [5, 3, 4, 3], [3, 1, 1], [1, 1]])
def test_an_id_repeated_in_or_out_of_order_is_refused(ids: list[int]) -> None:
    records = [ImageRecord(i, f"{n}.jpg", 10, 10, ()) for n, i in enumerate(ids)]

    with pytest.raises(ValueError, match=f"Image id {ids[-1]} is exported twice"):
        written(records)


def test_ids_out_of_order_without_repeats_are_all_written() -> None:
    records = [ImageRecord(i, f"{i}.jpg", 10, 10, ()) for i in (5, 2, 9, 7, 1)]

    assert [image["id"] for image in json.loads(written(records))["images"]] == [5, 2, 9, 7, 1]
