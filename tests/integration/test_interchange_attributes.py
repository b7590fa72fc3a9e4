"""Attributes and CVAT XML end to end: a job's shapes with attribute values (set, and left at their default)
exported as COCO, LabelMe and CVAT for images, imported into a new job, come back with the same shapes,
labels, groups and values; CVAT XML through the API is read by Datumaro's cvat importer; values a job does
not declare, or does not take, are counted on the import record and nothing else is lost."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from apps.datasets.models import Dataset
from apps.interchange.export import attribute_defaults, image_records, job_categories
from apps.labeling.models import LabelClass
from apps.labeling.services import job_create, label_class_create, label_class_update
from tests.conftest import new_id, png_bytes, square
from tests.integration.test_interchange_api import exported, labeled_import, put
from tests.unit.reference_readers import datumaro_cvat

pytestmark = pytest.mark.django_db(transaction=True)

DECLARED = [
    {"name": "occluded", "kind": "checkbox"},
    {"name": "colour", "kind": "select", "options": ["red", "blue & <green>"], "default": "red"},
    {"name": "count", "kind": "number", "min": 0, "max": 10},
    {"name": "note", "kind": "text", "default": "none"},
]
SET = {"occluded": True, "colour": "blue & <green>", "count": 3.25, "note": 'two\nlines, "quoted" = x'}


def set_attributes(send: Any, client: Any, item: Any, shape_id: str, values: dict[str, Any]) -> None:
    sent = send(client, item.pk, {"type": "set_attributes", "shape_id": shape_id, "values": values})
    assert sent.status == 201, sent.body


def draw(send: Any, client: Any, item: Any, label: Any, points: Any, group: str | None = None) -> str:
    shape_id = new_id()
    command = {"type": "add_polygon", "shape_id": shape_id, "label_class_id": label.pk, "points": points}
    sent = send(client, item.pk, {**command, **({"group_id": group} if group else {})})
    assert sent.status == 201, sent.body
    return shape_id


@pytest.fixture
def source(items: list[Any], labels: Any, manager_api: Any, send: Any) -> Any:
    """The cat class declares DECLARED. cat_001: a cat in two parts with every value set, a cat left at the
    defaults, a dog; dog_002: a cat with one value set (count 0, its default: set, and read the same)."""
    label_class_update(label_class=labels["cat"], attributes=DECLARED)
    bird, cat, dog = items
    first = draw(send, manager_api, cat, labels["cat"], square(5, 5, 20), group="the-cat")
    second = draw(send, manager_api, cat, labels["cat"], square(40, 5, 10), group="the-cat")
    draw(send, manager_api, cat, labels["cat"], square(60, 50, 10))
    draw(send, manager_api, cat, labels["dog"], [[60, 20], [90, 25], [70, 45]])
    set_attributes(send, manager_api, cat, first, SET)
    set_attributes(send, manager_api, cat, second, SET)
    on_dog = draw(send, manager_api, dog, labels["cat"], square(10, 10, 30))
    set_attributes(send, manager_api, dog, on_dog, {"colour": "blue & <green>", "count": 0})
    return labels["cat"].job


def canonical(job: Any) -> dict[str, list[Any]]:
    """Per image file name: its objects as (label, parts, {attribute: value, every declared one}), sorted."""
    categories = job_categories(job)
    names = {category.id: category.name for category in categories}
    out: dict[str, list[Any]] = {}
    items = job.items.filter(deleted_at__isnull=True)
    for record, _ in image_records(items, None, attribute_defaults(categories)):
        objects = [(names[o.category_id], sorted(o.parts), sorted(o.attributes)) for o in record.objects]
        out[record.file_name.rsplit("/", 1)[-1]] = sorted(objects, key=repr)
    return out


def unpack(archive: zipfile.ZipFile, folder: str) -> None:
    for name in archive.namelist():
        put(f"{folder}/{name}", archive.read(name))


def new_job(manager: Any, declare: bool) -> Any:
    dataset = Dataset.objects.create(name="Copy", created_by=manager)
    job = job_create(name="Copy", dataset=dataset, created_by=manager)
    if declare:
        label_class_create(job=job, name="cat", color="#ff0000", attributes=DECLARED)
        label_class_create(job=job, name="dog", color="#00aa00")
    return job


@pytest.mark.parametrize(("fmt", "declare"), [("coco", True), ("labelme", True), ("cvat", False)])
def test_a_round_trip_keeps_every_shape_label_group_and_attribute_value(
    source: Any, manager: Any, manager_api: Any, fmt: str, declare: bool
) -> None:
    archive = exported(manager_api, source, f"format={fmt}&images=true")
    unpack(archive, f"rt-{fmt}")
    # COCO and LabelMe files declare no attributes: the new job's classes do. A CVAT file declares them:
    # the import creates the classes with the file's declarations.
    target = new_job(manager, declare)

    record = labeled_import(manager_api, target, f"rt-{fmt}", fmt)

    assert record.errors == [] and record.objects_refused == 0
    assert record.objects_added == 4
    before, after = canonical(source), canonical(target)
    assert after == before
    assert sorted(before) == ["bird_003.png", "cat_001.png", "dog_002.png"]
    cats = [dict(o[2]) for objects in after.values() for o in objects if o[0] == "cat"]
    assert SET in cats and {"occluded": False, "colour": "red", "count": 0.0, "note": "none"} in cats
    assert {"occluded": False, "colour": "blue & <green>", "count": 0.0, "note": "none"} in cats
    declared = LabelClass.objects.get(job=target, name="cat").attributes
    assert [a["name"] for a in declared] == [a["name"] for a in DECLARED]


def test_a_value_at_its_default_is_not_stored_so_the_shape_follows_a_changed_default(
    source: Any, manager: Any, manager_api: Any
) -> None:
    unpack(exported(manager_api, source, "format=coco&images=true"), "defaults")
    target = new_job(manager, declare=True)
    labeled_import(manager_api, target, "defaults", "coco")
    cat = LabelClass.objects.get(job=target, name="cat")

    label_class_update(label_class=cat, attributes=[*DECLARED[:3], {**DECLARED[3], "default": "changed"}])

    notes = sorted(
        dict(o[2])["note"] for objects in canonical(target).values() for o in objects if o[0] == "cat"
    )
    assert notes == ["changed", "changed", SET["note"]]


def test_cvat_export_through_the_api_is_read_by_datumaro_with_every_attribute(
    source: Any, manager_api: Any, tmp_path: Path
) -> None:
    archive = exported(manager_api, source, "format=cvat&images=true")
    archive.extractall(tmp_path)

    dataset = datumaro_cvat(tmp_path / "annotations.xml")

    assert dataset["labels"] == ["cat", "dog"]
    assert dataset["attributes"]["cat"] == {"occluded", "colour", "count", "note"}
    by_id = {item["id"]: item for item in dataset["items"]}
    cat_polygons = by_id["cat_001"]["annotations"]
    assert [(p["label"], p["group"]) for p in cat_polygons] == [(0, 1), (0, 1), (0, 0), (1, 0)]
    assert cat_polygons[0]["attributes"] == {**SET, "count": 3.25}
    assert cat_polygons[2]["attributes"] == {"occluded": False, "colour": "red", "count": 0.0, "note": "none"}
    assert cat_polygons[3]["attributes"] == {"occluded": False}


def test_values_the_job_does_not_declare_or_take_are_counted_and_the_objects_kept(
    job: Any, manager_api: Any
) -> None:
    label_class_update(label_class=job.label_classes.get(name="cat"), attributes=DECLARED[:3])
    document = {
        "images": [{"id": 1, "file_name": "a.png", "width": 50, "height": 40}],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "bird"}],
        "annotations": [
            {
                "id": n,
                "image_id": 1,
                "category_id": 1 + (n == 3),
                "segmentation": [[1, 1, 9, 1, 9, 9]],
                "attributes": {"occluded": n == 2, "colour": "pink" if n == 1 else "red", "wheels": 4},
            }
            for n in (1, 2, 3)
        ],
    }
    put("refused/a.png", png_bytes(50, 40))
    put("refused/a.json", json.dumps(document).encode())

    record = labeled_import(manager_api, job, "refused", "coco")

    assert record.objects_added == 3 and record.objects_refused == 0
    reasons = sorted((e["record"], e["code"], e["reason"].split(":")[0]) for e in record.errors)
    assert reasons == [
        ("attribute 'colour' of 'bird'", "unknown_attribute", "1 value(s) were not set"),
        ("attribute 'colour' of 'cat'", "invalid_attribute_value", "1 value(s) were not set"),
        ("attribute 'wheels' of 'bird'", "unknown_attribute", "1 value(s) were not set"),
        ("attribute 'wheels' of 'cat'", "unknown_attribute", "2 value(s) were not set"),
    ]
    values = sorted(sorted(o[2]) for objects in canonical(job).values() for o in objects if o[0] == "cat")
    assert values == [
        [("colour", "red"), ("count", 0.0), ("occluded", False)],
        [("colour", "red"), ("count", 0.0), ("occluded", True)],
    ]


def test_a_cvat_file_with_shapes_it_cannot_take_lists_them_and_imports_the_rest(
    job: Any, manager_api: Any
) -> None:
    xml = (
        '<?xml version="1.0"?><annotations><version>1.1</version><meta><task><labels><label><name>cat</name>'
        '</label></labels></task></meta><image id="0" name="b.png" width="50" height="40">'
        '<polygon label="cat" occluded="0" points="1,1;9,1;9,9"></polygon>'
        '<polyline label="cat" occluded="0" points="1,1;9,1"></polyline>'
        '<polygon label="cat" occluded="0" points="1,1;99,1;9,9"></polygon></image></annotations>'
    )
    put("cv/b.png", png_bytes(50, 40))
    put("cv/annotations.xml", xml.encode())

    record = labeled_import(manager_api, job, "cv", "cvat")

    assert (record.objects_added, record.objects_refused) == (1, 2)
    assert [(e["file"], e["code"]) for e in record.errors] == [
        ("annotations.xml", "unsupported_shape"),
        ("annotations.xml", "out_of_bounds"),
    ]


def test_a_labeled_import_takes_the_cvat_format_and_an_export_takes_cvat(job: Any, manager_api: Any) -> None:
    response = manager_api.get(f"/api/jobs/{job.pk}/export/?format=cvat")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))

    assert archive.namelist() == ["annotations.xml"]
    assert b"<version>1.1</version>" in archive.read("annotations.xml")


def test_a_cvat_export_uploaded_as_files_imports_into_a_new_job_with_its_values(
    source: Any, manager: Any, manager_api: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.integration.test_interchange_api import finished

    archive = exported(manager_api, source, "format=cvat&images=true")
    files = [SimpleUploadedFile(name.rsplit("/", 1)[-1], archive.read(name)) for name in archive.namelist()]
    target = new_job(manager, declare=False)

    record = finished(
        manager_api.post(
            f"/api/datasets/{target.dataset_id}/imports/",
            {"files": files, "format": "cvat", "job": target.pk},
            format="multipart",
        )
    )

    assert (record.objects_added, record.errors) == (4, [])
    assert canonical(target) == canonical(source)
