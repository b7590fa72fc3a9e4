"""Real LabelMe files (three PASCAL VOC 2011 photos, ../shared/data/labelme-voc2011): read, export to COCO, and
every annotation's pycocotools mask matches labelme's own mask of the same source shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from PIL import Image

from apps.interchange import Category, ImageRecord, Obj, coco_write, labelme_read
from apps.interchange.model import ring_perimeter
from tests.unit.test_interchange_model import require, shared_data

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

PREFIX = "voc2011"


def instances(document: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """labelme's instances, (label, group_id) with a fresh id for each ungrouped shape, in first-seen order,
    __ignore__ regions included (they are void regions of their own, docs/formats.md)."""
    found: dict[Any, list[dict[str, Any]]] = {}
    for index, shape in enumerate(document["shapes"]):
        group_id = shape.get("group_id")
        found.setdefault((shape["label"], group_id if group_id is not None else f"shape {index}"), []).append(
            shape
        )
    return [(key[0], shapes) for key, shapes in found.items()]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_the_real_labelme_files_read_whole_their_ignore_regions_as_void_objects() -> None:
    folder = shared_data("labelme-voc2011")

    void = 0
    for path in sorted(folder.glob("*.json")):
        image, refusals = labelme_read(f"{PREFIX}/{path.name}", path.read_bytes())

        document = json.loads(path.read_bytes())
        assert refusals == []
        assert image is not None
        void += sum(1 for o in image.objects if o.label == "__ignore__")
        assert image.file_name == f"{PREFIX}/{path.stem}.jpg"
        with Image.open(folder / f"{path.stem}.jpg") as picture:
            assert picture.size == (image.width, image.height)
        assert [(o.label, len(o.parts)) for o in image.objects] == [
            (label, len(shapes)) for label, shapes in instances(document)
        ]
    assert void == 2


def test_coco_masks_of_the_real_files_match_labelmes_own_masks(tmp_path: Path) -> None:
    coco_module = require("pycocotools.coco")
    folder = shared_data("labelme-voc2011")
    paths = sorted(folder.glob("*.json"))
    parsed = [labelme_read(f"{PREFIX}/{path.name}", path.read_bytes())[0] for path in paths]
    labels = list(dict.fromkeys(o.label for image in parsed if image for o in image.objects))
    categories = [Category(number, label, "#000000") for number, label in enumerate(labels, start=1)]
    category_ids = {category.name: category.id for category in categories}
    records = [
        ImageRecord(
            id=number,
            file_name=image.file_name,
            width=image.width or 0,
            height=image.height or 0,
            objects=tuple(Obj(category_ids[o.label], o.parts, o.group) for o in image.objects),
        )
        for number, image in enumerate(parsed, start=1)
        if image is not None
    ]
    export = tmp_path / "instances.json"
    with export.open("w", encoding="utf-8") as out:
        coco_write(records, categories, out)

    coco = coco_module.COCO(str(export))

    assert sorted(labels) == ["__ignore__", "bottle", "bus", "car", "chair", "person", "sofa"]
    # 18 shapes: a person in 2 parts and a sofa in 4 joined into one each; 2 __ignore__ regions, crowd.
    assert len(coco.getAnnIds()) == sum(len(instances(json.loads(p.read_bytes()))) for p in paths) == 14
    crowd = coco.loadAnns(coco.getAnnIds(iscrowd=True))
    assert [(a["iscrowd"], coco.loadCats(a["category_id"])[0]["name"]) for a in crowd] == [
        (1, "__ignore__")
    ] * 2
    for record, path in zip(records, paths, strict=True):
        assert_coco_matches_labelme(coco, record.id, json.loads(path.read_bytes()))


def assert_coco_matches_labelme(coco: Any, image_id: int, document: dict[str, Any]) -> None:
    """Every annotation of the image in a loaded COCO export is one of labelme's instances of the source
    document, in order, with the same label and parts, and its mask is the source polygons' mask."""
    mask_api = require("pycocotools.mask")
    shape_tools = require("labelme.utils.shape")
    height, width = document["imageHeight"], document["imageWidth"]
    annotations = sorted(coco.loadAnns(coco.getAnnIds(imgIds=[image_id])), key=lambda a: a["id"])
    assert len(annotations) == len(instances(document))
    for annotation, (label, shapes) in zip(annotations, instances(document), strict=True):
        assert coco.loadCats(annotation["category_id"])[0]["name"] == label
        assert len(annotation["segmentation"]) == len(shapes)
        ours = coco.annToMask(annotation).astype(bool)

        # pycocotools on the source points: the same pixels (the export only clamped, by < 1 px).
        source = [[c for point in shape["points"] for c in point] for shape in shapes]
        direct = mask_api.decode(mask_api.merge(mask_api.frPyObjects(source, height, width))).astype(bool)
        assert iou(ours, direct) >= 0.99

        # labelme draws with Pillow: vertices rounded to whole pixels and the outline filled in, so
        # its masks are a rim of boundary pixels larger. Where the two disagree, the pixel centre lies
        # within 1.5 px of the source outline (rounding moves a vertex up to 0.71 px, the outline adds
        # half a pixel more); nowhere inside or outside the object.
        _, drawn = shape_tools.shapes_to_label((height, width), shapes, {label: 1})
        theirs = drawn > 0
        outline = shapely.MultiLineString([shapely.LinearRing(s["points"]).coords for s in shapes])
        rows, columns = np.nonzero(ours ^ theirs)
        assert shapely.distance(outline, shapely.points(columns + 0.5, rows + 0.5)).max() <= 1.5
        perimeter = sum(ring_perimeter(tuple(map(tuple, s["points"]))) for s in shapes)
        assert abs(int(ours.sum()) - int(theirs.sum())) <= perimeter + 4
        if ours.sum() >= 2000:
            assert iou(ours, theirs) >= 0.95
