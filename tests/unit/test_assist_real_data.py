"""The OpenCV tools on the three PASCAL VOC 2011 photos of ../shared/data/labelme-voc2011, against the
polygons people drew there: box to polygon from each human polygon's bounding box gives a polygon the
domain accepts, and the scissors between two vertices of a human polygon follow its border."""

from __future__ import annotations

import json
import statistics
from typing import Any

import numpy as np
import pytest
import shapely

from apps.assist import box, scissors
from apps.assist.images import ByteLRU, decode
from apps.assist.prompts import BoxPrompt, ScissorsPrompt
from apps.labeling.domain.geometry import check_polygon
from tests.unit.test_interchange_model import shared_data


def photos() -> list[tuple[str, np.ndarray, list[dict[str, Any]]]]:
    """(name, pixels, labelme shapes) of each photo."""
    folder = shared_data("labelme-voc2011")
    found = []
    for path in sorted(folder.glob("*.json")):
        document = json.loads(path.read_text())
        pixels = decode((folder / document["imagePath"]).read_bytes())
        assert pixels.shape[:2] == (document["imageHeight"], document["imageWidth"])
        found.append((path.stem, pixels, document["shapes"]))
    return found


def bounding_box(points: list[list[float]], width: int, height: int) -> tuple[float, float, float, float]:
    xs, ys = [x for x, _ in points], [y for _, y in points]
    return max(0.0, min(xs)), max(0.0, min(ys)), min(float(width), max(xs)), min(float(height), max(ys))


def test_box_to_polygon_from_every_human_polygons_box_is_a_valid_polygon() -> None:
    checked = []
    for name, pixels, shapes in photos():
        height, width = pixels.shape[:2]
        for index, shape in enumerate(shapes):
            prompt = BoxPrompt(bounding_box(shape["points"], width, height), (), 1.0)

            found = box.box_proposals(pixels, prompt)

            assert found, f"{name} shape {index} ({shape['label']}): no proposal"
            for proposal in found:
                check_polygon([tuple(p) for p in proposal.points], width, height, 1000)
            checked.append(f"{name}:{index}")
    assert len(checked) == 18  # SOURCE.md: 5 + 10 + 3 polygons, __ignore__ regions included


def test_box_with_the_images_cached_regions_gives_valid_polygons_and_a_median_iou_of_0_75() -> None:
    """The API's way: the photo's regions prepared once, every box cut over them (box.py); the issue's
    quality target on the sample photos, as the bench measures it (IoU of masks, pycocotools)."""
    from tests.bench.assist import coco_iou

    ious = []
    for _, pixels, shapes in photos():
        height, width = pixels.shape[:2]
        cache = ByteLRU(lambda: 10**9)
        for shape in shapes:
            if shape["label"] == "__ignore__":
                continue
            regions = box.cached_regions(pixels, cache, "photo")
            prompt = BoxPrompt(bounding_box(shape["points"], width, height), (), 1.0)

            found = box.box_proposals(pixels, prompt, regions=regions)

            for proposal in found:
                check_polygon([tuple(p) for p in proposal.points], width, height, 1000)
            ious.append(coco_iou(found[0].points, shape["points"], width, height) if found else 0.0)
        assert cache.misses == 1  # one preparation per photo
    assert len(ious) == 16
    assert statistics.median(ious) >= 0.75


def test_scissors_between_vertices_of_human_polygons_follow_their_border(
    record_property: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """For each object polygon of 6 vertices or more, paths between vertices a sixth of the polygon apart.
    A person's polygon cuts corners (straight lines between clicks), so a path on the object's real edge
    lies a few pixels off it: the bound is on the mean distance, and is loose."""
    distances = []
    for name, pixels, shapes in photos():
        cache = ByteLRU(lambda: 10**9)
        for shape in shapes:
            points = shape["points"]
            if shape["label"] == "__ignore__" or len(points) < 6:
                continue
            outline = shapely.make_valid(shapely.polygons(points)).boundary
            step = len(points) // 6
            for start in range(0, len(points) - step, step):
                prompt = ScissorsPrompt((tuple(points[start]),), tuple(points[start + step]), False, 0.0)
                path = scissors.preview(pixels, prompt, cache, name).points
                distances.append(statistics.fmean(outline.distance(shapely.Point(p)) for p in path))

    mean, median = statistics.fmean(distances), statistics.median(distances)
    record_property("scissors_mean_distance_px", round(mean, 2))
    with capsys.disabled():
        print(
            f"\nscissors on the VOC photos: {len(distances)} paths, mean distance to the human outline "
            f"{mean:.2f} px (median {median:.2f}, worst path {max(distances):.1f})"
        )
    assert len(distances) > 50
    assert mean < 6.0
    assert median < 4.0
