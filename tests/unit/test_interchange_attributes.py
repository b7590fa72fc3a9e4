"""Attributes in COCO and LabelMe files: written as CVAT writes COCO's `attributes` and as labelme keeps
per-shape `flags` and `description`, read back by the readers, and typed by their declaration on import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apps.interchange import coco_read, labelme_document, labelme_read
from apps.interchange.coco import coco_annotation, coco_chunks
from apps.interchange.labelme import description_attributes, description_text
from apps.interchange.model import ImageRecord, Obj, Refused, attribute_text, attribute_value
from apps.labeling.domain.attributes import parse_declarations
from tests.conftest import png_bytes
from tests.unit.test_interchange_cvat import CAR, DEFAULTS, TREE, VALUES
from tests.unit.test_interchange_model import require, square

SPECS = {spec.name: spec for spec in CAR.attributes}


def image() -> ImageRecord:
    return ImageRecord(
        4,
        "x/a.png",
        60,
        50,
        (
            Obj(1, (square(1, 1, 5),), None, VALUES),
            Obj(2, (square(10, 10, 5),), None, ()),
            Obj(1, (square(20, 20, 5), square(30, 30, 5)), "g", DEFAULTS),
        ),
    )


# COCO --------------------------------------------------------------------------------------------------


def test_coco_writes_attributes_as_cvat_does_occluded_first_then_every_declared_value() -> None:
    first, second, third = json.loads("".join(coco_chunks([image()], (CAR, TREE))))["annotations"]

    assert first["attributes"] == {
        "occluded": True,
        "colour": "blue & <green>",
        "count": 3.5,
        "note": 'two\nlines "<x>"',
    }
    assert list(first["attributes"]) == ["occluded", "colour", "count", "note"]
    assert second["attributes"] == {"occluded": False}
    assert third["attributes"] == {"occluded": False, "colour": "red", "count": 0.0, "note": ""}


def test_coco_reads_an_annotations_attributes_back_leaving_out_what_is_no_value() -> None:
    annotation = coco_annotation(Obj(1, (square(1, 1, 5),), None, VALUES), 1, 4)
    annotation["attributes"] |= {"nested": {"a": 1}, "many": [1, 2], "none": None}
    document = {
        "images": [{"id": 4, "file_name": "a.png", "width": 60, "height": 50}],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [annotation],
    }

    (obj,) = coco_read(json.dumps(document).encode()).images[0].objects

    assert obj.attributes == VALUES


def test_pycocotools_loads_an_export_with_attributes(tmp_path: Path) -> None:
    coco_module = require("pycocotools.coco")
    path = tmp_path / "instances.json"
    path.write_text("".join(coco_chunks([image()], (CAR, TREE))), encoding="utf-8")

    coco = coco_module.COCO(str(path))

    assert coco.loadAnns(1)[0]["attributes"]["colour"] == "blue & <green>"


# LabelMe -----------------------------------------------------------------------------------------------


def test_labelme_puts_checkboxes_in_flags_and_the_others_in_the_description_on_every_part() -> None:
    shapes = labelme_document(image(), (CAR, TREE), "a.png")["shapes"]

    assert shapes[0]["flags"] == {"occluded": True}
    assert shapes[0]["description"] == 'colour=blue & <green>\ncount=3.5\nnote=two\\nlines "<x>"'
    assert (shapes[1]["flags"], shapes[1]["description"]) == ({}, "")
    assert shapes[2]["flags"] == shapes[3]["flags"] == {"occluded": False}
    assert shapes[2]["description"] == shapes[3]["description"] == "colour=red\ncount=0\nnote="


def test_labelme_reads_the_first_parts_flags_and_description_back() -> None:
    document = labelme_document(image(), (CAR, TREE), "a.png")

    back, refusals = labelme_read("x/a.json", json.dumps(document).encode())

    assert refusals == [] and back is not None
    first, second, third = back.objects
    assert first.attributes == (
        ("occluded", True),
        ("colour", "blue & <green>"),
        ("count", "3.5"),
        ("note", 'two\nlines "<x>"'),
    )
    assert second.attributes == ()
    assert third.attributes == (("occluded", False), ("colour", "red"), ("count", "0"), ("note", ""))


def test_labelme_itself_loads_the_flags_and_description(tmp_path: Path) -> None:
    label_file = require("labelme._label_file")
    (tmp_path / "a.png").write_bytes(png_bytes(60, 50))
    path = tmp_path / "a.json"
    path.write_text(json.dumps(labelme_document(image(), (CAR, TREE), "a.png")), encoding="utf-8")

    loaded = label_file.LabelFile(str(path))

    assert loaded.shapes[0]["flags"] == {"occluded": True}
    assert loaded.shapes[0]["description"].startswith("colour=blue & <green>\n")


def test_free_text_in_a_description_is_no_attribute_and_escapes_read_back() -> None:
    text = description_text((("a", "back\\slash\nnew"), ("b", 2.0)))

    assert description_attributes("blurry photo\n" + text + "\n=no name") == (
        ("a", "back\\slash\nnew"),
        ("b", "2"),
    )
    assert description_attributes(None) == ()


# Typing a file's value by its declaration ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("occluded", True, True),
        ("occluded", "true", True),
        ("occluded", "FALSE", False),
        ("occluded", "1", True),
        ("colour", "red", "red"),
        ("count", "3.5", 3.5),
        ("count", 7, 7.0),
        ("note", "any text", "any text"),
        ("note", 12, "12"),
    ],
)
def test_a_files_value_is_typed_by_the_declaration(name: str, raw: object, value: object) -> None:
    assert attribute_value(SPECS[name], raw) == value


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("occluded", "yes"),
        ("occluded", 1),
        ("colour", "pink"),
        ("count", "many"),
        ("count", 11),
        ("note", [1]),
    ],
)
def test_a_value_the_declaration_does_not_take_is_refused(name: str, raw: object) -> None:
    with pytest.raises(Refused) as refused:
        attribute_value(SPECS[name], raw)
    assert refused.value.code == "invalid_attribute_value"


def test_numbers_are_written_as_text_that_reads_back_to_the_same_float() -> None:
    number = parse_declarations([{"name": "n", "kind": "number"}])[0]
    for value in (0.0, 3.0, -2.5, 0.1 + 0.2, 1e-300, 2.0**52 + 1):
        assert attribute_value(number, attribute_text(value)) == value
    assert (attribute_text(3.0), attribute_text(True), attribute_text(False)) == ("3", "true", "false")
