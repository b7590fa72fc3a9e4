"""LabelMe: a document per image that labelme itself loads and that reads back to the same objects; the reader
joins shapes by (label, group_id) as labelme does and refuses each malformed shape with its own code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apps.interchange import ImageRecord, Obj, labelme_document, labelme_read
from tests.conftest import png_bytes
from tests.unit.test_interchange_model import CATEGORIES, require, sample_images, square

LABELS = {category.id: category.name for category in CATEGORIES}


# Writing ---------------------------------------------------------------------------------------------


def test_a_document_reads_back_to_the_same_objects_labels_and_vertices() -> None:
    for image in sample_images():
        name = f"labels/{image.file_name.rsplit('/', 1)[-1]}.json"
        document = labelme_document(image, CATEGORIES, image_path=f"../{image.file_name}")

        back, refusals = labelme_read(name, json.dumps(document).encode())

        assert refusals == []
        assert back is not None
        assert (back.file_name, back.width, back.height) == (image.file_name, image.width, image.height)
        assert [o.label for o in back.objects] == [LABELS[o.category_id] for o in image.objects]
        for obj, back_obj in zip(image.objects, back.objects, strict=True):
            assert (back_obj.group is None) == (len(obj.parts) == 1)
            assert len(back_obj.parts) == len(obj.parts)
            for ring, back_ring in zip(obj.parts, back_obj.parts, strict=True):
                assert len(back_ring) == len(ring)
                for (x, y), (bx, by) in zip(ring, back_ring, strict=True):
                    assert abs(x - bx) <= 1e-6 and abs(y - by) <= 1e-6


def test_the_parts_of_an_object_share_a_group_id_and_single_parts_have_none() -> None:
    document = labelme_document(sample_images()[0], {c.id: c for c in CATEGORIES}, image_path="cat_001.jpg")

    assert [(s["label"], s["group_id"]) for s in document["shapes"]] == [
        ("cat", None),
        ("dog", 1),
        ("dog", 1),
        ("traffic light", None),
    ]
    assert document["shapes"][0] == {
        "label": "cat",
        "points": [[10.5, 10.25], [40.123456789, 12.0], [35.0, 50.333333333], [12.0, 45.1]],
        "group_id": None,
        "description": "",
        "shape_type": "polygon",
        "flags": {},
        "mask": None,
    }
    assert {k: v for k, v in document.items() if k != "shapes"} == {
        "version": "5.5.0",
        "flags": {},
        "imagePath": "cat_001.jpg",
        "imageData": None,
        "imageHeight": 80,
        "imageWidth": 100,
    }


def test_group_ids_are_numbered_per_document() -> None:
    two_groups = ImageRecord(
        1,
        "a.jpg",
        50,
        50,
        (Obj(7, (square(1, 1, 2), square(5, 5, 2))), Obj(7, (square(10, 1, 2), square(20, 5, 2)))),
    )

    document = labelme_document(two_groups, CATEGORIES, image_path="a.jpg")

    assert [s["group_id"] for s in document["shapes"]] == [1, 1, 2, 2]


def test_labelme_loads_the_document_and_draws_each_object_as_one_instance(tmp_path: Path) -> None:
    label_file = require("labelme._label_file")
    shape_tools = require("labelme.utils.shape")
    image = sample_images()[2]
    (tmp_path / "bird.png").write_bytes(png_bytes(image.width, image.height))
    path = tmp_path / "bird.json"
    path.write_text(json.dumps(labelme_document(image, CATEGORIES, image_path="bird.png")), encoding="utf-8")

    loaded = label_file.LabelFile(str(path))

    assert len(loaded.shapes) == 4
    _, instances = shape_tools.shapes_to_label(
        (image.height, image.width), loaded.shapes, {"cat": 1, "dog": 2}
    )
    assert int(instances.max()) == 2  # the three squares are one instance, the cat another


# Reading ---------------------------------------------------------------------------------------------


def shape(label: str = "cat", points: Any = None, group_id: Any = None, shape_type: Any = "polygon") -> dict:
    return {
        "label": label,
        "points": [list(p) for p in square(10, 10, 10)] if points is None else points,
        "group_id": group_id,
        "shape_type": shape_type,
        "flags": {},
        "description": "",
    }


def doc(shapes: list[Any], **extra: Any) -> bytes:
    body = {
        "version": "5.5.0",
        "flags": {},
        "shapes": shapes,
        "imagePath": "cat.jpg",
        "imageData": None,
        "imageHeight": 80,
        "imageWidth": 100,
        **extra,
    }
    return json.dumps(body).encode()


def vertices(image: Any) -> list[tuple[float, float]]:
    return [p for obj in image.objects for ring in obj.parts for p in ring]


REFUSED_SHAPES = [
    ("unsupported_shape", shape(shape_type="point", points=[[30, 30]])),
    ("unsupported_shape", shape(shape_type="line", points=[[30, 30], [40, 40]])),
    ("unsupported_shape", shape(shape_type="linestrip", points=[[30, 30], [40, 40], [50, 30]])),
    ("unsupported_shape", shape(shape_type="circle", points=[[30, 30], [40, 40]])),
    ("unsupported_shape", shape(shape_type="mask", points=[[30, 30], [40, 40]])),
    ("too_few_points", shape(points=[[30, 30], [40, 40], [30, 30]])),
    ("out_of_bounds", shape(points=[[30, 30], [40, 30], [40, 81.01]])),
    ("invalid_coordinates", shape(points=[[30, 30], [40, 30], [40, None]])),
    ("invalid_coordinates", shape(shape_type="rectangle", points=[[30, 30], [float("nan"), 40]])),
    ("invalid_shape", shape(shape_type="rectangle", points=[[30, 30], [40, 40], [50, 50]])),
    ("invalid_shape", shape(points=[[30, 30, 1], [40, 30, 1], [40, 40, 1]])),
    ("invalid_shape", shape(label=5)),
    ("invalid_shape", shape(group_id="a")),
    ("invalid_shape", "cat"),
]


@pytest.mark.parametrize(("code", "bad"), REFUSED_SHAPES)
def test_a_malformed_shape_is_refused_with_its_code_and_contributes_nothing(code: str, bad: Any) -> None:
    image, refusals = labelme_read("a/b.json", doc([shape("cat"), bad, shape("dog")]))

    assert [(r.record, r.code) for r in refusals] == [("a/b.json shapes[1]", code)]
    assert image is not None
    assert [o.label for o in image.objects] == ["cat", "dog"]
    assert vertices(image) == [(10, 10), (20, 10), (20, 20), (10, 20)] * 2


def test_non_finite_literals_in_the_json_are_refused_as_invalid_coordinates() -> None:
    data = doc([shape(points=[[1, 1], [5, 1], [5, 5]])]).replace(b"[5, 5]", b"[5, Infinity]")

    image, refusals = labelme_read("b.json", data)

    assert [(r.record, r.code) for r in refusals] == [("b.json shapes[0]", "invalid_coordinates")]
    assert image is not None and image.objects == ()


def test_shapes_sharing_label_and_group_id_are_one_object_of_several_parts() -> None:
    shapes = [
        shape("sofa", [[1, 1], [9, 1], [9, 9]], group_id=0),
        shape("person", [[20, 20], [30, 20], [30, 30]]),
        shape("sofa", [[40, 40], [50, 40], [50, 50]], group_id=0),
        shape("person", [[60, 60], [70, 60], [70, 70]], group_id=0),
        shape("sofa", [[1, 50], [9, 50], [9, 59]], group_id=4),
    ]

    image, refusals = labelme_read("b.json", doc(shapes))

    assert refusals == []
    assert image is not None
    assert [(o.label, len(o.parts), o.group) for o in image.objects] == [
        ("sofa", 2, "labelme-0-sofa"),
        ("person", 1, None),
        ("person", 1, None),
        ("sofa", 1, None),
    ]
    assert image.objects[0].parts[1] == ((40, 40), (50, 40), (50, 50))


def test_group_strings_are_plain_when_a_group_id_has_one_label() -> None:
    shapes = [shape("sofa", group_id=2), shape("sofa", [[40, 40], [50, 40], [50, 50]], group_id=2)]

    image, _ = labelme_read("b.json", doc(shapes))

    assert image is not None and [o.group for o in image.objects] == ["labelme-2"]


def test_a_refused_part_refuses_the_rest_of_its_object() -> None:
    shapes = [
        shape("sofa", [[1, 1], [9, 1], [9, 9]], group_id=0),
        shape("sofa", [[40, 40], [50, 40], [500, 50]], group_id=0),
        shape("sofa", [[60, 60], [70, 60], [70, 70]], group_id=0),
        shape("cat"),
    ]

    image, refusals = labelme_read("b.json", doc(shapes))

    assert [(r.record, r.code) for r in refusals] == [
        ("b.json shapes[0]", "incomplete_object"),
        ("b.json shapes[1]", "out_of_bounds"),
        ("b.json shapes[2]", "incomplete_object"),
    ]
    assert image is not None and [o.label for o in image.objects] == ["cat"]


def test_a_rectangle_becomes_a_four_point_polygon_whichever_corners_were_drawn() -> None:
    rectangle = shape(shape_type="rectangle", points=[[30, 40], [10, 20]])

    image, refusals = labelme_read("b.json", doc([rectangle]))

    assert refusals == []
    assert image is not None
    assert image.objects[0].parts == (((10, 20), (30, 20), (30, 40), (10, 40)),)


def test_a_shape_without_a_shape_type_is_a_polygon_as_in_labelme() -> None:
    image, refusals = labelme_read("b.json", doc([shape(shape_type=None)]))

    assert refusals == [] and image is not None and len(image.objects) == 1


def test_vertices_within_a_pixel_outside_are_clamped_onto_the_edge() -> None:
    image, refusals = labelme_read("b.json", doc([shape(points=[[-0.4, 0], [100.6, 0], [50, 80.38]])]))

    assert refusals == []
    assert image is not None and image.objects[0].parts == (((0, 0), (100, 0), (50, 80)),)


def test_other_labels_starting_with_an_underscore_are_ordinary_labels() -> None:
    image, refusals = labelme_read("b.json", doc([shape("_background_"), shape("__ignore__x")]))

    assert refusals == []
    assert image is not None and [o.label for o in image.objects] == ["_background_", "__ignore__x"]


@pytest.mark.parametrize(
    ("name", "image_path", "expected"),
    [
        ("a/b.json", "b.jpg", "a/b.jpg"),
        ("a/labels/b.json", "..\\images\\b.jpg", "a/images/b.jpg"),
        ("b.json", "./sub/b.jpg", "sub/b.jpg"),
    ],
)
def test_the_image_is_found_beside_the_document(name: str, image_path: str, expected: str) -> None:
    image, _ = labelme_read(name, doc([], imagePath=image_path))

    assert image is not None and image.file_name == expected


@pytest.mark.parametrize("image_path", ["../b.jpg", "/tmp/b.jpg", "C:\\Users\\me\\b.jpg", ""])
def test_an_image_path_leaving_the_import_refuses_the_document(image_path: str) -> None:
    image, refusals = labelme_read("b.json", doc([shape()], imagePath=image_path))

    assert image is None
    assert [(r.record, r.code) for r in refusals] == [("b.json", "invalid_image_path")]


def test_bad_json_refuses_the_document() -> None:
    image, refusals = labelme_read("a/b.json", b'{"shapes": [')

    assert image is None
    assert [(r.record, r.code) for r in refusals] == [("a/b.json", "invalid_json")]


@pytest.mark.parametrize(
    "data",
    [
        b"[]",
        b'{"imagePath": "b.jpg"}',
        b'{"shapes": [], "imagePath": 3}',
        b'{"shapes": [], "imagePath": "b.jpg", "imageWidth": -4, "imageHeight": 3}',
        b'{"shapes": [], "imagePath": "b.jpg", "imageWidth": "wide", "imageHeight": 3}',
    ],
)
def test_json_that_is_not_a_labelme_document_is_refused(data: bytes) -> None:
    image, refusals = labelme_read("b.json", data)

    assert image is None
    assert [(r.record, r.code) for r in refusals] == [("b.json", "invalid_document")]


def test_without_a_size_the_image_size_is_unknown_and_vertices_unchecked() -> None:
    image, refusals = labelme_read(
        "b.json", doc([shape(points=[[1, 1], [900, 1], [900, 900]])], imageWidth=None)
    )

    assert refusals == []
    assert image is not None and (image.width, image.height) == (None, 80)
    assert image.objects[0].parts == (((1, 1), (900, 1), (900, 900)),)


def test_a_document_without_shapes_is_an_image_with_no_objects() -> None:
    image, refusals = labelme_read("b.json", doc([]))

    assert refusals == [] and image is not None and image.objects == ()


def test_an_oriented_rectangle_becomes_the_polygon_of_its_four_corners() -> None:
    corners = [[20, 10], [30, 20], [20, 30], [10, 20]]

    image, refusals = labelme_read("b.json", doc([shape(shape_type="oriented_rectangle", points=corners)]))

    assert refusals == []
    assert image is not None and image.objects[0].parts == (((20, 10), (30, 20), (20, 30), (10, 20)),)


def test_ignore_regions_are_read_as_void_objects_grouped_like_any_label() -> None:
    shapes = [
        shape("cat"),
        shape("__ignore__", group_id=2),
        shape("__ignore__", group_id=2),
        shape("__ignore__"),
    ]

    image, refusals = labelme_read("b.json", doc(shapes))

    assert refusals == []
    assert image is not None
    assert [(o.label, len(o.parts)) for o in image.objects] == [
        ("cat", 1),
        ("__ignore__", 2),
        ("__ignore__", 1),
    ]


def test_refusals_count_each_refused_object_once() -> None:
    bad = [[30, 30], [40, 30], [40, None]]
    shapes = [
        shape("cat", points=bad, group_id=1),  # an object of three shapes, two of them bad: one object
        shape("cat", group_id=1),
        shape("cat", points=bad, group_id=1),
        shape("dog", shape_type="point", points=[[3, 3]]),  # one object
        shape(label=5),  # a shape no object can hold: counted as one
        shape("dog"),
    ]

    image, refusals = labelme_read("b.json", doc(shapes))

    assert [(r.code, r.objects) for r in refusals] == [
        ("invalid_coordinates", 1),
        ("incomplete_object", 0),
        ("invalid_coordinates", 0),
        ("unsupported_shape", 1),
        ("invalid_shape", 1),
    ]
    assert image is not None and [o.label for o in image.objects] == ["dog"]
