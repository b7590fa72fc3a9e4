"""Export (GET /api/jobs/<id>/export/) and labeled import (Add data with format coco|labelme) end to end:
real LabelMe data in and COCO out checked by pycocotools and labelme, round trips, VOC masks, YOLO,
malformed records listed on the import, and exports of a filtered subset."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

from apps.datasets.imports import import_wait
from apps.datasets.models import DataImport
from apps.interchange import IGNORE_LABEL
from apps.labeling.models import VOID_LABEL, Item, LabelClass, StoredEvent
from apps.labeling.selectors import item_state_get
from tests.conftest import import_put, new_id, png_bytes, square
from tests.unit.reference_readers import (
    datumaro_voc_segmentation,
    torchvision_voc_paths,
    ultralytics_dataset,
    ultralytics_image_files,
    ultralytics_label_paths,
)
from tests.unit.test_interchange_model import require, shared_data
from tests.unit.test_interchange_real_data import assert_coco_matches_labelme, instances

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
]


# Helpers -------------------------------------------------------------------------------------------


def exported(api: Any, job: Any, query: str) -> zipfile.ZipFile:
    response = api.get(f"/api/jobs/{job.pk}/export/?{query}")
    assert response.status_code == 200, response.content[:300]
    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def load_coco(archive: zipfile.ZipFile, tmp_path: Path) -> Any:
    path = tmp_path / "instances.json"
    path.write_bytes(archive.read("annotations/instances_default.json"))
    return require("pycocotools.coco").COCO(str(path))


def finished(response: Any) -> DataImport:
    assert response.status_code == 202, response.json()
    import_wait(response.json()["id"], timeout=120)
    record = DataImport.objects.get(pk=response.json()["id"])
    assert record.status == DataImport.Status.DONE, record.errors
    return record


def put(path: str, content: bytes) -> None:
    import_put(path, content)


def labeled_import(api: Any, job: Any, folder: str, fmt: str) -> DataImport:
    body = {"path": folder, "format": fmt, "job": job.pk}
    return finished(api.post(f"/api/datasets/{job.dataset_id}/imports/", body, format="json"))


def polygon(send: Any, client: Any, item: Any, label: Any, points: Any, group: str | None = None) -> None:
    command = {"type": "add_polygon", "shape_id": new_id(), "label_class_id": label.pk, "points": points}
    if group:
        command["group_id"] = group
    sent = send(client, item.pk, command)
    assert sent.status == 201, sent.body


@pytest.fixture
def drawn(items: list[Any], labels: Any, annotator_api: Any, send: Any) -> dict[str, Any]:
    """cat_001: a cat in two parts (one object) and a dog, saved; dog_002: a dog, unsaved; bird: nothing."""
    bird, cat, dog = items
    polygon(send, annotator_api, cat, labels["cat"], square(5, 5, 20), group="the-cat")
    polygon(send, annotator_api, cat, labels["cat"], square(40, 5, 10), group="the-cat")
    polygon(send, annotator_api, cat, labels["dog"], [[60, 40], [90, 45], [70, 70]])
    assert send(annotator_api, cat.pk, {"type": "save"}).status == 201
    polygon(send, annotator_api, dog, labels["dog"], square(10, 10, 30))
    return {"bird": bird, "cat": cat, "dog": dog}


# Export ----------------------------------------------------------------------------------------------


def test_coco_export_loads_in_pycocotools_with_an_object_in_parts_as_one_annotation(
    job: Any, drawn: Any, labels: Any, auditor_api: Any, tmp_path: Path
) -> None:
    coco = load_coco(exported(auditor_api, job, "format=coco"), tmp_path)

    assert sorted(c["name"] for c in coco.loadCats(coco.getCatIds())) == ["cat", "dog"]
    assert sorted(i["file_name"] for i in coco.loadImgs(coco.getImgIds())) == [
        "birds/bird_003.png",
        "cat_001.png",
        "dog_002.png",
    ]
    cat_anns = coco.loadAnns(coco.getAnnIds(imgIds=[drawn["cat"].pk], catIds=[labels["cat"].pk]))
    assert len(cat_anns) == 1
    (the_cat,) = cat_anns
    assert len(the_cat["segmentation"]) == 2
    assert the_cat["area"] == 20 * 20 + 10 * 10
    assert the_cat["bbox"] == [5.0, 5.0, 45.0, 20.0]
    assert the_cat["iscrowd"] == 0
    for annotation in coco.loadAnns(coco.getAnnIds()):
        assert coco.annToMask(annotation).sum() > 0
    assert len(coco.getAnnIds(imgIds=[drawn["dog"].pk])) == 1  # current shapes, saved or not


def test_labelme_export_gives_one_file_per_image_and_one_group_id_per_object(
    job: Any, drawn: Any, manager_api: Any, tmp_path: Path
) -> None:
    archive = exported(manager_api, job, "format=labelme&images=true")

    assert sorted(n for n in archive.namelist() if n.endswith(".json")) == [
        "birds/bird_003.json",
        "cat_001.json",
        "dog_002.json",
    ]
    document = json.loads(archive.read("cat_001.json"))
    assert document["imagePath"] == "cat_001.png"
    assert (document["imageWidth"], document["imageHeight"]) == (100, 80)
    groups = [(s["label"], s["group_id"]) for s in document["shapes"]]
    assert groups[0] == groups[1] and groups[0][1] is not None
    assert groups[2] == ("dog", None)
    # labelme itself opens the export, the image beside its JSON
    label_file = require("labelme._label_file")
    archive.extractall(tmp_path)
    path = tmp_path / "cat_001.json"
    assert len(label_file.LabelFile(str(path)).shapes) == 3


def test_voc_export_writes_palette_pngs_whose_pixels_agree_with_pycocotools(
    job: Any, drawn: Any, labels: Any, manager_api: Any
) -> None:
    mask_api = require("pycocotools.mask")
    archive = exported(manager_api, job, "format=voc")

    names = set(archive.namelist())
    assert {"labelmap.txt", "ImageSets/Segmentation/train.txt"} <= names
    assert archive.read("labelmap.txt").decode().splitlines()[:3] == [
        "background:0,0,0::",
        "cat:128,0,0::",
        "dog:0,128,0::",
    ]
    classes = PILImage.open(io.BytesIO(archive.read("SegmentationClass/cat_001.png")))
    objects = PILImage.open(io.BytesIO(archive.read("SegmentationObject/cat_001.png")))
    assert classes.mode == objects.mode == "P"
    assert classes.getpalette()[3:6] == [128, 0, 0]
    pixels, numbered = np.array(classes), np.array(objects)
    assert sorted(np.unique(numbered).tolist()) == [0, 1, 2]  # two objects: the two-part cat, the dog
    for index, _label, shapes in (
        (1, labels["cat"], [square(5, 5, 20), square(40, 5, 10)]),
        (2, labels["dog"], [[[60, 40], [90, 45], [70, 70]]]),
    ):
        flat = [[c for point in shape for c in point] for shape in shapes]
        reference = mask_api.decode(mask_api.merge(mask_api.frPyObjects(flat, 80, 100))).astype(bool)
        ours = pixels == index
        # pixel centres inside (ours) against pycocotools' own rule: they differ on boundary pixels only
        assert abs(int(ours.sum()) - int(reference.sum())) <= 2 * sum(len(s) for s in shapes) + 4
        assert (ours & reference).sum() / (ours | reference).sum() >= 0.9


def test_yolo_export_writes_normalised_lines_and_the_class_names(
    job: Any, drawn: Any, manager_api: Any
) -> None:
    archive = exported(manager_api, job, "format=yolo")

    lines = archive.read("labels/cat_001.txt").decode().splitlines()
    assert len(lines) == 3  # the two parts of the cat are one line each: YOLO has no groups
    first = lines[0].split()
    assert first[0] == "0"
    values = [float(v) for v in first[1:]]
    assert values[:2] == [0.05, 0.0625]  # (5, 5) on a 100x80 image
    assert all(0 <= v <= 1 for v in values)
    assert "names" in archive.read("data.yaml").decode()
    assert archive.read("labels/birds/bird_003.txt") == b""


def test_an_export_of_a_filtered_subset_holds_exactly_those_items(
    job: Any, drawn: Any, labels: Any, manager_api: Any, tmp_path: Path
) -> None:
    coco = load_coco(
        exported(manager_api, job, f"format=coco&status=labeled&label_class={labels['cat'].pk}"), tmp_path
    )
    assert [i["id"] for i in coco.loadImgs(coco.getImgIds())] == [drawn["cat"].pk]

    archive = exported(manager_api, job, f"format=labelme&label_class={labels['dog'].pk}")
    assert sorted(archive.namelist()) == ["cat_001.json", "dog_002.json"]


def test_export_can_put_the_images_in(job: Any, drawn: Any, manager_api: Any) -> None:
    archive = exported(manager_api, job, "format=yolo&images=true")

    assert PILImage.open(io.BytesIO(archive.read("images/cat_001.png"))).size == (100, 80)


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("format=pdf", 400, "invalid_request"),
        ("", 400, "invalid_request"),
        ("format=coco&status=maybe", 400, "invalid_request"),
    ],
)
def test_a_bad_export_request_is_refused_with_a_code(
    job: Any, manager_api: Any, query: str, status: int, code: str
) -> None:
    response = manager_api.get(f"/api/jobs/{job.pk}/export/?{query}")

    assert response.status_code == status
    assert response.json()["code"] == code


def test_only_members_export(job: Any, outsider_api: Any) -> None:
    response = outsider_api.get(f"/api/jobs/{job.pk}/export/?format=coco")

    assert response.status_code == 404


# Labeled import -----------------------------------------------------------------------------------------


def test_the_real_labelme_data_imports_with_every_polygon_and_exports_as_labelme_draws_it(
    job: Any, manager: Any, manager_api: Any, tmp_path: Path
) -> None:
    folder = shared_data("labelme-voc2011")
    for path in sorted(folder.iterdir()):
        if path.suffix in (".json", ".jpg"):
            put(f"voc2011/{path.name}", path.read_bytes())

    record = labeled_import(manager_api, job, "voc2011", "labelme")

    documents = {p.stem: json.loads(p.read_bytes()) for p in sorted(folder.glob("*.json"))}
    shapes = sum(len(d["shapes"]) for d in documents.values())
    ignored = sum(1 for d in documents.values() for s in d["shapes"] if s["label"] == "__ignore__")
    assert (record.added, record.failed) == (3, 0)
    assert record.errors == []  # __ignore__ regions are void regions, kept (docs/formats.md)
    assert record.objects_added == sum(len(instances(d)) for d in documents.values()) == 14
    assert LabelClass.objects.get(job=job, name="__ignore__").color == "#e0e0c0"
    assert set(LabelClass.objects.filter(job=job).values_list("name", flat=True)) >= {
        "person",
        "bottle",
        "chair",
        "sofa",
        "bus",
        "car",
    }
    items = {
        i.image.name.removesuffix(".jpg"): i
        for i in Item.objects.filter(job=job, image__name__endswith=".jpg")
    }
    for stem, item in items.items():
        assert item.status == "labeled"
        assert item.labeled_by_id == manager.pk
        state = item_state_get(item=item)
        assert len(state.closed_shapes()) == len(documents[stem]["shapes"])
        assert set(StoredEvent.objects.filter(item=item).values_list("actor_id", flat=True)) == {manager.pk}
    assert len(documents) == 3 and shapes == 18 and ignored == 2

    coco = load_coco(exported(manager_api, job, "format=coco"), tmp_path)
    for stem, item in items.items():
        assert_coco_matches_labelme(coco, item.pk, documents[stem])


def coco_document(images: list[dict[str, Any]], annotations: list[dict[str, Any]]) -> bytes:
    categories = [{"id": 1, "name": "car"}, {"id": 2, "name": "tree"}]
    return json.dumps({"images": images, "annotations": annotations, "categories": categories}).encode()


def test_coco_round_trip_keeps_every_vertex_and_label(job: Any, manager_api: Any, tmp_path: Path) -> None:
    put("road/a.png", png_bytes(200, 100, (3, 3, 3)))
    put("road/b.png", png_bytes(60, 60, (4, 4, 4)))
    car = [10.123456789, 10.5, 80.25, 12.0, 70.0, 60.75, 15.5, 55.0]
    tree_parts = [[100.0, 10.0, 120.0, 10.0, 110.0, 40.0], [130.0, 50.0, 150.0, 50.0, 140.0, 90.0]]
    source = coco_document(
        [
            {"id": 7, "file_name": "a.png", "width": 200, "height": 100},
            {"id": 8, "file_name": "b.png", "width": 60, "height": 60},
        ],
        [
            {"id": 1, "image_id": 7, "category_id": 1, "segmentation": [car], "iscrowd": 0},
            {"id": 2, "image_id": 7, "category_id": 2, "segmentation": tree_parts, "iscrowd": 0},
            {
                "id": 3,
                "image_id": 8,
                "category_id": 1,
                "segmentation": [[1.0, 1.0, 50.0, 1.0, 25.0, 59.0]],
                "iscrowd": 0,
            },
        ],
    )
    put("road/instances.json", source)

    record = labeled_import(manager_api, job, "road", "coco")
    assert (record.objects_added, record.objects_refused) == (3, 0), record.errors

    coco = load_coco(exported(manager_api, job, "format=coco"), tmp_path)
    out = {
        (coco.loadImgs(a["image_id"])[0]["file_name"], coco.loadCats(a["category_id"])[0]["name"]): a[
            "segmentation"
        ]
        for a in coco.loadAnns(coco.getAnnIds())
    }
    expected = {
        ("a.png", "car"): [car],
        ("a.png", "tree"): tree_parts,
        ("b.png", "car"): [[1.0, 1.0, 50.0, 1.0, 25.0, 59.0]],
    }
    assert out.keys() == expected.keys()
    for key, parts in expected.items():
        assert len(out[key]) == len(parts)
        for ours, theirs in zip(out[key], parts, strict=True):
            assert np.allclose(ours, theirs, rtol=0, atol=1e-6)


def test_labelme_round_trip_keeps_every_vertex_label_and_group(job: Any, manager_api: Any) -> None:
    put("lm/one.png", png_bytes(120, 90, (5, 5, 5)))
    shapes = [
        {
            "label": "person",
            "points": [[10.25, 10.5], [40.0, 12.0], [30.0, 60.125]],
            "group_id": 3,
            "shape_type": "polygon",
            "flags": {},
        },
        {
            "label": "person",
            "points": [[50.0, 10.0], [70.0, 10.0], [60.0, 30.0]],
            "group_id": 3,
            "shape_type": "polygon",
            "flags": {},
        },
        {
            "label": "dog",
            "points": [[80.0, 50.0], [110.0, 50.0], [95.0, 85.0]],
            "group_id": None,
            "shape_type": "polygon",
            "flags": {},
        },
    ]
    document = {
        "version": "5.5.0",
        "flags": {},
        "shapes": shapes,
        "imagePath": "one.png",
        "imageData": None,
        "imageHeight": 90,
        "imageWidth": 120,
    }
    put("lm/one.json", json.dumps(document).encode())

    record = labeled_import(manager_api, job, "lm", "labelme")
    assert record.objects_added == 2, record.errors

    archive = exported(manager_api, job, "format=labelme&q=one")
    out = json.loads(archive.read("one.json"))["shapes"]
    assert [s["label"] for s in out] == ["person", "person", "dog"]
    assert out[0]["group_id"] == out[1]["group_id"] is not None and out[2]["group_id"] is None
    for ours, theirs in zip(out, shapes, strict=True):
        assert np.allclose(ours["points"], theirs["points"], rtol=0, atol=1e-6)


def test_malformed_records_are_listed_on_the_import_and_store_nothing(job: Any, manager_api: Any) -> None:
    put("bad/a.png", png_bytes(100, 100, (6, 6, 6)))
    good = [10.0, 10.0, 50.0, 10.0, 30.0, 40.0]
    source = coco_document(
        [
            {"id": 1, "file_name": "a.png", "width": 100, "height": 100},
            {"id": 2, "file_name": "missing.png", "width": 100, "height": 100},
        ],
        [
            {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [good], "iscrowd": 0},
            {
                "id": 2,
                "image_id": 1,
                "category_id": 1,
                "segmentation": [[10.0, 10.0, 20.0, 20.0]],
                "iscrowd": 0,
            },
            {
                "id": 3,
                "image_id": 1,
                "category_id": 2,
                "segmentation": [[10.0, 10.0, 500.0, 10.0, 30.0, 40.0]],
                "iscrowd": 0,
            },
            {"id": 4, "image_id": 99, "category_id": 1, "segmentation": [good], "iscrowd": 0},
            {"id": 5, "image_id": 2, "category_id": 1, "segmentation": [good], "iscrowd": 0},
            # two parts, the second repeating a vertex: the whole object is refused, its good part too
            {
                "id": 6,
                "image_id": 1,
                "category_id": 2,
                "segmentation": [good, [60.0, 60.0, 90.0, 60.0, 90.0, 90.0, 60.0, 60.0, 75.0, 95.0]],
                "iscrowd": 0,
            },
            # a polygon crossing itself is kept as the source drew it (documented)
            {
                "id": 7,
                "image_id": 1,
                "category_id": 1,
                "segmentation": [[60.0, 60.0, 90.0, 90.0, 90.0, 60.0, 60.0, 90.0]],
                "iscrowd": 0,
            },
        ],
    )
    put("bad/instances.json", source)
    put("bad/broken.json", b"{not json")

    record = labeled_import(manager_api, job, "bad", "coco")

    codes = sorted(e["code"] for e in record.errors)
    assert codes == sorted(
        [
            "too_few_points",
            "out_of_bounds",
            "unknown_image",
            "missing_image_file",
            "duplicate_vertex",
            "invalid_json",
        ]
    ), record.errors
    assert all(e["reason"] and e["record"] for e in record.errors)
    assert record.objects_added == 2
    # five objects refused (annotations 2, 3, 4, 5 and 6); the broken file is no object
    assert record.objects_refused == 5
    (missing,) = [e for e in record.errors if e["code"] == "missing_image_file"]
    assert missing["file"].endswith("instances.json") and "instances.json" in missing["record"]
    assert "missing.png" in missing["record"] and "instances.json" in missing["reason"]
    item = Item.objects.get(job=job, image__path="a.png")
    state = item_state_get(item=item)
    assert [s.points for s in state.closed_shapes()] == [
        ((10.0, 10.0), (50.0, 10.0), (30.0, 40.0)),
        ((60.0, 60.0), (90.0, 90.0), (90.0, 60.0), (60.0, 90.0)),
    ]
    assert "missing.png" not in set(Item.objects.filter(job=job).values_list("image__path", flat=True))


def test_imported_geometry_is_what_reset_returns_to(
    job: Any, manager_api: Any, annotator_api: Any, send: Any
) -> None:
    put("reset/a.png", png_bytes(100, 100, (8, 8, 8)))
    put(
        "reset/instances.json",
        coco_document(
            [{"id": 1, "file_name": "a.png", "width": 100, "height": 100}],
            [
                {
                    "id": 1,
                    "image_id": 1,
                    "category_id": 1,
                    "segmentation": [[10.0, 10.0, 50.0, 10.0, 30.0, 40.0]],
                    "iscrowd": 0,
                }
            ],
        ),
    )
    labeled_import(manager_api, job, "reset", "coco")
    item = Item.objects.get(job=job, image__path="a.png")
    (shape,) = item_state_get(item=item).closed_shapes()

    assert (
        send(annotator_api, item.pk, {"type": "move_shape", "shape_id": shape.id, "dx": 5, "dy": 5}).status
        == 201
    )
    assert send(annotator_api, item.pk, {"type": "reset_shape", "shape_id": shape.id}).status == 201
    item.refresh_from_db()
    assert item_state_get(item=item).shapes[shape.id].points == shape.points


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"path": "x", "format": "coco"}, "invalid_request"),  # no job
        ({"path": "x", "format": "pascal", "job": 1}, "invalid_request"),
        ({"path": "x", "job": 1}, "invalid_request"),  # a job but no format
    ],
)
def test_a_labeled_import_needs_a_format_and_a_job(job: Any, manager_api: Any, body: Any, code: str) -> None:
    response = manager_api.post(f"/api/datasets/{job.dataset_id}/imports/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not DataImport.objects.exists()


def test_only_the_jobs_managers_import_labels_into_it(job: Any, annotator_api: Any) -> None:
    put("perm/a.png", png_bytes(10, 10))
    response = annotator_api.post(
        f"/api/datasets/{job.dataset_id}/imports/",
        {"path": "perm", "format": "coco", "job": job.pk},
        format="json",
    )
    assert response.status_code in (403, 404)
    assert not DataImport.objects.exists()


def test_an_export_answers_whatever_the_client_accepts(job: Any, drawn: Any, manager_api: Any) -> None:
    response = manager_api.get(f"/api/jobs/{job.pk}/export/?format=yolo", HTTP_ACCEPT="application/zip")

    assert response.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).read("data.yaml")


# Read by other tools as they are (issue 22) ---------------------------------------------------------------


def test_yolo_export_trains_from_any_directory_as_ultralytics_resolves_it(
    job: Any, drawn: Any, manager_api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require("yaml")
    archive = exported(manager_api, job, "format=yolo&images=true")
    export, elsewhere = tmp_path / "exp", tmp_path / "elsewhere"
    archive.extractall(export)
    (elsewhere / "images").mkdir(parents=True)
    monkeypatch.chdir(elsewhere)

    data = ultralytics_dataset(str(export / "data.yaml"), datasets_dir=tmp_path / "datasets")
    from_folder = ultralytics_image_files(data["train"])
    from_list = ultralytics_image_files(str(export / "train.txt"))

    assert data["names"] == {0: "cat", 1: "dog"}
    expected = sorted(
        str(export / "images" / p) for p in ("birds/bird_003.png", "cat_001.png", "dog_002.png")
    )
    assert sorted(from_folder) == sorted(from_list) == expected
    labels = dict(zip(from_folder, ultralytics_label_paths(from_folder), strict=True))
    assert len(Path(labels[str(export / "images/cat_001.png")]).read_text().splitlines()) == 3
    assert Path(labels[str(export / "images/birds/bird_003.png")]).read_text() == ""


def test_voc_export_imports_in_datumaro_with_every_object_and_loads_in_torchvision(
    job: Any, drawn: Any, manager_api: Any, tmp_path: Path
) -> None:
    archive = exported(manager_api, job, "format=voc&images=true")
    voc_root = tmp_path / "VOCdevkit" / "VOC2012"
    archive.extractall(voc_root)

    items = {item["id"]: item for item in datumaro_voc_segmentation(voc_root)}
    images, targets = torchvision_voc_paths(voc_root, "train")

    assert sorted(items) == ["birds/bird_003", "cat_001", "dog_002"]
    assert {item["subset"] for item in items.values()} == {"train"}
    assert sorted(items["cat_001"]["masks"]) == [(1, "cat"), (2, "dog")]  # the two-part cat is one object
    assert items["dog_002"]["masks"] == [(1, "dog")] and items["birds/bird_003"]["masks"] == []
    assert all(str(items[i]["image"]).endswith(f"{i}.png") for i in items)
    assert sorted(PILImage.open(target).size for target in targets) == [(64, 48), (100, 80), (120, 90)]
    # torchvision opens <name>.jpg: these PNG images keep their own name (docs/formats.md); a JPEG is named
    # so (tests/unit/test_interchange_voc.py reads JPEG exports through it whole)
    assert sorted(path.with_suffix(".png").is_file() for path in images) == [True] * 3


def test_void_regions_of_a_labelme_import_are_kept_and_exported_as_each_format_has_them(
    job: Any, labels: Any, manager_api: Any, tmp_path: Path
) -> None:
    put("void/one.png", png_bytes(100, 80, (5, 5, 5)))
    shapes = [
        {
            "label": "cat",
            "points": [[0, 0], [40, 0], [40, 40], [0, 40]],
            "group_id": None,
            "shape_type": "polygon",
        },
        {"label": "__ignore__", "points": [[30, 30], [60, 30], [60, 60], [30, 60]], "group_id": None},
    ]
    document = {
        "version": "5.5.0",
        "shapes": shapes,
        "imagePath": "one.png",
        "imageHeight": 80,
        "imageWidth": 100,
    }
    put("void/one.json", json.dumps(document).encode())

    record = labeled_import(manager_api, job, "void", "labelme")

    assert (record.objects_added, record.objects_refused, record.errors) == (2, 0, [])
    void = LabelClass.objects.get(job=job, name=VOID_LABEL)
    assert VOID_LABEL == IGNORE_LABEL
    counts = manager_api.get(f"/api/jobs/{job.pk}/items/").json()["label_counts"]
    assert counts[str(labels["cat"].pk)] == 1 and str(void.pk) not in counts  # void is no class counted
    voc = exported(manager_api, job, "format=voc&q=one")
    classes = np.array(PILImage.open(io.BytesIO(voc.read("SegmentationClass/one.png"))))
    objects = np.array(PILImage.open(io.BytesIO(voc.read("SegmentationObject/one.png"))))
    assert classes[45, 45] == objects[45, 45] == 255 and classes[10, 10] == 1 and objects[10, 10] == 1
    assert classes[35, 35] == 255  # drawn after the cat, the void region covers it there
    voc.extractall(tmp_path / "voc")
    (item,) = datumaro_voc_segmentation(tmp_path / "voc")
    assert sorted(item["masks"]) == [(1, "cat"), (255, "ignored")]

    coco = load_coco(exported(manager_api, job, "format=coco&q=one"), tmp_path)
    (crowd,) = coco.loadAnns(coco.getAnnIds(iscrowd=True))
    assert coco.loadCats(crowd["category_id"])[0]["name"] == "__ignore__" and crowd["ignore"] == 1
    labelme = json.loads(exported(manager_api, job, "format=labelme&q=one").read("one.json"))
    assert [s["label"] for s in labelme["shapes"]] == ["cat", "__ignore__"]
    yolo = exported(manager_api, job, "format=yolo&q=one")
    assert [line.split()[0] for line in yolo.read("labels/one.txt").decode().splitlines()] == ["0"]
    assert "__ignore__" not in yolo.read("data.yaml").decode()


def test_a_coco_import_keeps_every_category_in_order_and_re_exports_the_same_class_indices(
    dataset: Any, manager: Any, manager_api: Any, tmp_path: Path
) -> None:
    from apps.labeling.services import job_create

    fresh = job_create(name="twenty", dataset=dataset, created_by=manager)
    names = [f"class {n:02}" for n in (7, 3, 19, 1, 12, 5, 20, 2, 14, 9, 11, 4, 17, 6, 16, 8, 13, 10, 18, 15)]
    put("twenty/a.png", png_bytes(90, 30, (9, 9, 9)))
    used = {4: 0, 11: 30, 17: 60}  # category position -> the x of its square
    source = {
        "images": [{"id": 1, "file_name": "a.png", "width": 90, "height": 30}],
        "categories": [{"id": 100 + position, "name": name} for position, name in enumerate(names)],
        "annotations": [
            {"id": n, "image_id": 1, "category_id": 100 + position, "iscrowd": 0,
             "segmentation": [[x, 0, x + 20, 0, x + 20, 20, x, 20]]}
            for n, (position, x) in enumerate(used.items(), start=1)
        ],
    }  # fmt: skip
    put("twenty/instances.json", json.dumps(source).encode())

    labeled_import(manager_api, fresh, "twenty", "coco")

    assert list(fresh.label_classes.order_by("id").values_list("name", flat=True)) == names
    voc = exported(manager_api, fresh, "format=voc&q=a.png")
    assert [line.split(":")[0] for line in voc.read("labelmap.txt").decode().splitlines()] == [
        "background",
        *names,
    ]
    classes = np.array(PILImage.open(io.BytesIO(voc.read("SegmentationClass/a.png"))))
    assert [int(classes[10, x + 10]) for x in used.values()] == [position + 1 for position in used]
    yolo = exported(manager_api, fresh, "format=yolo&q=a.png")
    assert [int(line.split()[0]) for line in yolo.read("labels/a.txt").decode().splitlines()] == list(used)
    assert require("yaml").safe_load(yolo.read("data.yaml"))["names"] == dict(enumerate(names))
