"""CVAT for images 1.1 XML: a document that Datumaro's `cvat` importer (reimplemented in reference_readers)
reads with every polygon, label, group and attribute, that reads back to the same objects, and a reader that
refuses what it cannot take record by record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.interchange.cvat import cvat_chunks, cvat_read
from apps.interchange.model import Category, ImageRecord, Obj, ParsedImport
from apps.labeling.domain.attributes import parse_declarations
from tests.conftest import png_bytes
from tests.unit.reference_readers import datumaro_cvat
from tests.unit.test_interchange_model import CATEGORIES, sample_images, square

DECLARED = [
    {"name": "occluded", "kind": "checkbox"},
    {"name": "colour", "kind": "select", "options": ["red", "blue & <green>"]},
    {"name": "count", "kind": "number", "min": 0, "max": 10},
    {"name": "note", "kind": "text"},
]
CAR = Category(1, "car", "#ff0000", parse_declarations(DECLARED))
TREE = Category(2, "tree", "#00ff00")
VALUES = (("occluded", True), ("colour", "blue & <green>"), ("count", 3.5), ("note", 'two\nlines "<x>"'))
DEFAULTS = (("occluded", False), ("colour", "red"), ("count", 0.0), ("note", ""))


def images() -> list[ImageRecord]:
    return [
        ImageRecord(
            5,
            "street/a b.jpg",
            100,
            80,
            (
                Obj(1, (((1.5, 2.0), (10.0, 2.0), (10.0, 20.0)),), None, VALUES),
                Obj(2, (square(1, 1, 4), square(6, 6, 3)), "g", ()),
                Obj(1, (square(20, 20, 5), square(30, 30, 5)), "h", DEFAULTS),
            ),
        ),
        ImageRecord(6, "street/empty.png", 30, 20, ()),
    ]


def written(records: Any = None, categories: Any = (CAR, TREE)) -> str:
    return "".join(cvat_chunks(images() if records is None else records, categories))


def test_the_document_reads_back_to_the_same_objects_groups_and_attribute_values() -> None:
    parsed = cvat_read(written().encode())

    assert parsed.refusals == ()
    assert parsed.categories == ("car", "tree")
    assert parse_declarations(parsed.declarations["car"]) == CAR.attributes
    assert parsed.declarations["tree"] == []
    first, empty = parsed.images
    assert (first.file_name, first.width, first.height) == ("street/a b.jpg", 100, 80)
    assert (empty.file_name, empty.objects) == ("street/empty.png", ())
    for obj, back in zip(images()[0].objects, first.objects, strict=True):
        assert back.label == ("car" if obj.category_id == 1 else "tree")
        assert back.parts == obj.parts
        assert (back.group is None) == (len(obj.parts) == 1)
        as_text = {name: value for name, value in back.attributes}
        # occluded is CVAT's flag (a bool); the others are the <attribute>s' text, typed by the import.
        assert as_text["occluded"] == dict(obj.attributes).get("occluded", False)
        for name, value in obj.attributes:
            if name != "occluded":
                expected = value if isinstance(value, str) else ("3.5" if value == 3.5 else "0")
                assert as_text[name] == expected


def test_datumaro_reads_every_polygon_label_group_and_attribute(tmp_path: Path) -> None:
    (tmp_path / "annotations.xml").write_text(written(), encoding="utf-8")
    for record in images():
        path = tmp_path / "images" / record.file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes(record.width, record.height))

    dataset = datumaro_cvat(tmp_path / "annotations.xml")

    assert dataset["labels"] == ["car", "tree"]
    assert dataset["attributes"] == {"car": {"occluded", "colour", "count", "note"}, "tree": set()}
    first, empty = dataset["items"]
    assert (first["id"], first["width"], first["height"]) == ("street/a b", "100", "80")
    assert (empty["id"], empty["annotations"]) == ("street/empty", [])
    polygons = first["annotations"]
    assert [(p["type"], p["label"], p["group"]) for p in polygons] == [
        ("polygon", 0, 0),
        ("polygon", 1, 1),
        ("polygon", 1, 1),
        ("polygon", 0, 2),
        ("polygon", 0, 2),
    ]
    assert polygons[0]["points"] == [1.5, 2.0, 10.0, 2.0, 10.0, 20.0]
    assert polygons[0]["attributes"] == {
        "occluded": True,
        "colour": "blue & <green>",
        "count": 3.5,
        "note": 'two\nlines "<x>"',
    }
    assert polygons[1]["attributes"] == {"occluded": False}
    assert polygons[3]["attributes"] == {"occluded": False, "colour": "red", "count": 0.0, "note": ""}


def test_datumaro_needs_the_images_beside_the_document_as_the_export_with_images_puts_them(
    tmp_path: Path,
) -> None:
    (tmp_path / "annotations.xml").write_text(written(), encoding="utf-8")

    with pytest.raises(RuntimeError, match="Cannot find an image which has name=street/a b.jpg"):
        datumaro_cvat(tmp_path / "annotations.xml")


def test_a_class_without_an_occluded_checkbox_writes_the_flag_as_0_and_no_attribute_of_that_name() -> None:
    xml = written([ImageRecord(1, "a.png", 10, 10, (Obj(2, (square(1, 1, 2),)),))])

    assert 'occluded="0"' in xml and 'name="occluded"' not in xml


def test_the_sample_images_read_back_exactly_with_their_floats() -> None:
    parsed = cvat_read(written(sample_images(), CATEGORIES).encode())

    assert parsed.refusals == ()
    for record, back in zip(sample_images(), parsed.images, strict=True):
        assert [o.parts for o in back.objects] == [o.parts for o in record.objects]


def test_the_writer_consumes_the_images_lazily_and_refuses_an_unlisted_category() -> None:
    taken: list[int] = []

    def lazy() -> Any:
        for record in images():
            taken.append(record.id)
            yield record

    chunks = cvat_chunks(lazy(), (CAR, TREE))
    while not next(chunks).lstrip().startswith("<image"):
        pass
    assert taken == [5]  # the first image's element is out, the second not yet taken
    with pytest.raises(ValueError, match="category 2"):
        written(images(), (CAR,))


# Reading ---------------------------------------------------------------------------------------------


def document(
    shapes: str, *, meta: str = "", name: str = "a.png", size: str = 'width="50" height="40"'
) -> bytes:
    labels = meta or "<label><name>car</name><attributes></attributes></label>"
    return (
        f'<?xml version="1.0"?><annotations><version>1.1</version><meta><task><labels>{labels}</labels>'
        f'</task></meta><image id="0" name="{name}" {size}>{shapes}</image></annotations>'
    ).encode()


def polygon(points: str = "1,1;9,1;9,9", **attrs: str) -> str:
    extra = "".join(f' {key}="{value}"' for key, value in attrs.items())
    return f'<polygon label="car" occluded="0" points="{points}"{extra}></polygon>'


@pytest.mark.parametrize(
    ("shape", "code"),
    [
        (polygon("1,1;9,1"), "too_few_points"),
        (polygon("1,1;9,x;9,9"), "invalid_coordinates"),
        (polygon("1,1;9;9,9"), "invalid_polygon"),
        (polygon("1,1;90,1;9,9"), "out_of_bounds"),
        (polygon(group_id="two"), "invalid_shape"),
        ('<polygon occluded="0" points="1,1;9,1;9,9"></polygon>', "invalid_shape"),
        ('<polyline label="car" points="1,1;9,1"></polyline>', "unsupported_shape"),
        ('<points label="car" points="1,1"></points>', "unsupported_shape"),
        ('<box label="car" xtl="1" ytl="1" xbr="5" ybr="5" rotation="30"></box>', "unsupported_shape"),
    ],
)
def test_a_shape_it_cannot_take_is_refused_with_its_code_as_one_object(shape: str, code: str) -> None:
    parsed = cvat_read(document(shape + polygon()))

    assert [(r.code, r.objects) for r in parsed.refusals] == [(code, 1)]
    assert parsed.refusals[0].record.startswith("images[0] (a.png) ")
    assert len(parsed.images[0].objects) == 1


def test_a_box_is_its_four_corners() -> None:
    parsed = cvat_read(document('<box label="car" occluded="1" xtl="1" ytl="2" xbr="5" ybr="6"></box>'))

    (obj,) = parsed.images[0].objects
    assert obj.parts == (((1.0, 2.0), (5.0, 2.0), (5.0, 6.0), (1.0, 6.0)),)
    assert obj.attributes == (("occluded", True),)


def test_one_bad_part_refuses_the_whole_group_never_a_partial_object() -> None:
    shapes = polygon(group_id="3") + polygon("1,1;90,1;9,9", group_id="3") + polygon(group_id="3")

    parsed = cvat_read(document(shapes))

    assert parsed.images[0].objects == ()
    assert [(r.code, r.objects) for r in parsed.refusals] == [
        ("incomplete_object", 0),
        ("out_of_bounds", 1),
        ("incomplete_object", 0),
    ]


def test_polygons_of_different_labels_in_one_cvat_group_are_separate_objects() -> None:
    meta = "<label><name>car</name></label><label><name>tree</name></label>"
    shapes = polygon(group_id="1") + polygon(group_id="1") + polygon(group_id="1").replace("car", "tree")

    objects = cvat_read(document(shapes, meta=meta)).images[0].objects

    assert [(o.label, len(o.parts)) for o in objects] == [("car", 2), ("tree", 1)]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"<annotations><meta>", "invalid_xml"),
        (b"not xml at all", "invalid_xml"),
        (b"<dataset></dataset>", "invalid_document"),
        (b'<!DOCTYPE a [<!ENTITY x "xxxxxxxx">]><annotations>&x;</annotations>', "invalid_document"),
    ],
)
def test_a_file_that_is_no_cvat_document_is_one_refusal_and_nothing_else(data: bytes, code: str) -> None:
    parsed = cvat_read(data)

    assert (parsed.images, [r.code for r in parsed.refusals]) == ((), [code])


def test_an_image_leaving_the_import_is_refused_with_its_shapes_counted() -> None:
    parsed = cvat_read(document(polygon() + polygon(), name="../up.png"))

    assert parsed.images == ()
    assert [(r.record, r.code, r.objects) for r in parsed.refusals] == [
        ("images[0]", "invalid_image_record", 2)
    ]


def test_declarations_it_cannot_take_are_refused_and_the_label_kept_without_them() -> None:
    meta = (
        "<label><name>car</name><attributes><attribute><name>kind</name><input_type>slider</input_type>"
        "</attribute></attributes></label><label><name>bus</name><attributes><attribute><name>k</name>"
        "<input_type>select</input_type><values></values></attribute></attributes></label>"
    )

    parsed = cvat_read(document(polygon(), meta=meta))

    assert parsed.categories == ("car", "bus")
    assert parsed.declarations == {"car": [], "bus": []}
    assert [(r.record, r.code) for r in parsed.refusals] == [
        ("meta label 'car'", "invalid_attributes"),
        ("meta label 'bus'", "invalid_attributes"),
    ]


def test_cvat_radio_is_a_select_and_number_bounds_may_be_open() -> None:
    meta = (
        "<label><name>car</name><attributes><attribute><name>side</name><input_type>radio</input_type>"
        "<default_value>left</default_value><values>left\nright</values></attribute><attribute><name>n"
        "</name><input_type>number</input_type><default_value>2</default_value><values>\n\n1</values>"
        "</attribute></attributes></label>"
    )

    parsed = cvat_read(document(polygon(), meta=meta))

    assert parse_declarations(parsed.declarations["car"]) == parse_declarations(
        [
            {"name": "side", "kind": "select", "options": ["left", "right"], "default": "left"},
            {"name": "n", "kind": "number", "default": 2},
        ]
    )


# Whatever the bytes, the reader answers with refusals, never an exception ------------------------------

VALID = written().encode()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_read_as_a_parsed_import(data: bytes) -> None:
    assert isinstance(cvat_read(data), ParsedImport)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(VALID) - 1), st.integers(0, 40), st.binary(max_size=12))
def test_a_damaged_export_reads_as_a_parsed_import_with_what_it_could_take(
    at: int, cut: int, inserted: bytes
) -> None:
    parsed = cvat_read(VALID[:at] + inserted + VALID[at + cut :])

    assert isinstance(parsed, ParsedImport)
    for image in parsed.images:
        for obj in image.objects:
            assert all(len(ring) >= 3 for ring in obj.parts)
