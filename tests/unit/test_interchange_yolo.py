"""YOLO segmentation: one normalised line per polygon that parses back to the vertices, and a data.yaml whose
names survive a YAML reader."""

from __future__ import annotations

import pytest

from apps.interchange import Category, ImageRecord, Obj, yolo_class_index, yolo_data_yaml, yolo_lines
from tests.unit.test_interchange_model import CATEGORIES, require, sample_images, square


def parse(text: str) -> list[tuple[int, list[float]]]:
    lines = []
    for line in text.splitlines():
        number, *values = line.split()
        lines.append((int(number), [float(v) for v in values]))
    return lines


def test_lines_parse_back_to_the_vertices_within_a_millionth_of_the_size() -> None:
    index = yolo_class_index(CATEGORIES)
    for image in sample_images():
        parsed = parse(yolo_lines(image, index))

        rings = [(index[o.category_id], ring) for o in image.objects for ring in o.parts]
        assert len(parsed) == len(rings)
        for (number, values), (class_number, ring) in zip(parsed, rings, strict=True):
            assert number == class_number
            assert len(values) == 2 * len(ring)
            assert all(0.0 <= v <= 1.0 for v in values)
            for (x, y), (u, v) in zip(ring, zip(values[0::2], values[1::2], strict=True), strict=True):
                assert abs(u * image.width - x) <= 1e-6 * image.width
                assert abs(v * image.height - y) <= 1e-6 * image.height


def test_a_multi_part_object_is_one_line_per_part_with_its_class() -> None:
    image = ImageRecord(1, "a.jpg", 100, 50, (Obj(3, (square(0, 0, 10), square(50, 25, 25)), group="g"),))

    assert yolo_lines(image, yolo_class_index(CATEGORIES)) == (
        "1 0 0 0.1 0 0.1 0.2 0 0.2\n1 0.5 0.5 0.75 0.5 0.75 1 0.5 1\n"
    )


def test_classes_are_zero_based_in_category_order() -> None:
    assert yolo_class_index(CATEGORIES) == {7: 0, 3: 1, 12: 2}


def test_an_image_without_objects_has_an_empty_label_file() -> None:
    assert yolo_lines(ImageRecord(1, "a.jpg", 10, 10), yolo_class_index(CATEGORIES)) == ""


def test_values_are_written_with_at_most_six_decimals() -> None:
    image = ImageRecord(1, "a.jpg", 3, 7, (Obj(7, (((1, 1), (2, 1), (2, 6)),)),))

    assert yolo_lines(image, {7: 0}) == "0 0.333333 0.142857 0.666667 0.142857 0.666667 0.857143\n"


def test_data_yaml_names_every_class_by_index() -> None:
    text = yolo_data_yaml(CATEGORIES)

    assert (
        text == 'path: .\ntrain: images\nval: images\nnames:\n  0: "cat"\n  1: "dog"\n  2: "traffic light"\n'
    )


@pytest.mark.parametrize(
    "name", ["yes", "null", "3", "a: b", "- x", '"quoted"', "back\\slash", "tab\there", "日本 🐈", "#hash"]
)
def test_data_yaml_names_stay_the_same_strings_through_a_yaml_reader(name: str) -> None:
    yaml = require("yaml")

    data = yaml.safe_load(yolo_data_yaml([Category(1, "cat", "#000000"), Category(2, name, "#000000")]))

    assert data == {"path": ".", "train": "images", "val": "images", "names": {0: "cat", 1: name}}
