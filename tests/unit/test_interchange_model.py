"""The neutral model's shared rules: area, box, the readers' vertex checks, image paths; and the helpers the
other interchange tests import (sample records, the reference readers, the shared data folder)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import tests.unit.test_interchange_model as this_module
from apps.interchange import Category, ImageRecord, Obj, ring_area
from apps.interchange.model import Refused, parts_bbox, relative_path, ring_from_points, ring_perimeter

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"

CATEGORIES = (
    Category(id=7, name="cat", color="#ff0000"),
    Category(id=3, name="dog", color="#00aa00"),
    Category(id=12, name="traffic light", color="#0000ff"),
)


def require(module: str) -> ModuleType:
    """A reference reader the tests check against: missing, the test is skipped, or fails under CI=true."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if IN_CI:
            pytest.fail(f"{module} is not installed; it is a dev dependency (pyproject.toml)")
        pytest.skip(f"{module} is not installed (pip install -e '.[dev]')")


def shared_data(name: str) -> Path:
    """A folder of ../shared/data: missing, the test is skipped, or fails under CI=true."""
    folder = SHARED_DATA / name
    if not folder.is_dir():
        if IN_CI:
            pytest.fail(f"{folder} is missing; CI runs with a copy of shared/ beside the clone")
        pytest.skip(f"{folder} is missing (the sibling shared/ folder holds the real sample data)")
    return folder


def square(x: float, y: float, size: float) -> tuple[tuple[float, float], ...]:
    return ((x, y), (x + size, y), (x + size, y + size), (x, y + size))


def sample_images() -> list[ImageRecord]:
    """Three images: one-part and multi-part objects, awkward floats, vertices on the edges, an empty image."""
    return [
        ImageRecord(
            id=1,
            file_name="pets/cat_001.jpg",
            width=100,
            height=80,
            objects=(
                Obj(7, (((10.5, 10.25), (40.123456789, 12.0), (35.0, 50.333333333), (12.0, 45.1)),)),
                Obj(
                    3,
                    (square(50, 20, 10), ((70.0, 60.0), (99.999, 61.5), (100.0, 80.0), (72.25, 79.5))),
                    group="g-1",
                ),
                Obj(12, (((0.0, 0.0), (8.0, 0.0), (4.0, 6.0)),)),
            ),
        ),
        ImageRecord(id=2, file_name="dog_002.jpg", width=120, height=90, objects=()),
        ImageRecord(
            id=5,
            file_name="birds/deep/bird 003.jpg",
            width=64,
            height=48,
            objects=(
                Obj(3, (square(1, 1, 20), square(30, 1, 20), square(1, 25, 20)), group="three"),
                Obj(7, (((0.1, 0.2), (63.9, 0.3), (64.0, 48.0), (0.0, 47.7)),)),
            ),
        ),
    ]


def test_area_is_the_shoelace_area_whatever_the_orientation() -> None:
    clockwise = square(0, 0, 10)

    assert ring_area(clockwise) == 100.0
    assert ring_area(tuple(reversed(clockwise))) == 100.0
    assert ring_area(((0.0, 0.0), (4.0, 0.0), (0.0, 3.0))) == 6.0


def test_box_covers_every_part() -> None:
    assert parts_bbox([square(10, 20, 5), square(40, 2, 1)]) == (10, 2, 31, 23)


def test_perimeter_closes_the_ring() -> None:
    assert ring_perimeter(square(0, 0, 10)) == 40.0


def test_a_vertex_within_a_pixel_outside_is_clamped_onto_the_edge() -> None:
    ring = ring_from_points([(-0.9, 5), (100.5, 5), (100.99, 81), (3, 80.2)], 100, 80)

    assert ring == ((0.0, 5.0), (100.0, 5.0), (100.0, 80.0), (3.0, 80.0))


def test_a_vertex_more_than_a_pixel_outside_is_refused() -> None:
    with pytest.raises(Refused) as refused:
        ring_from_points([(0, 0), (101.01, 5), (50, 50)], 100, 80)

    assert refused.value.code == "out_of_bounds"
    assert "Vertex 1" in refused.value.message


def test_without_a_size_vertices_are_not_checked_against_one() -> None:
    assert ring_from_points([(-50, 0), (5000, 0), (5, 5)], None, None) == ((-50, 0), (5000, 0), (5, 5))


def test_a_repeated_closing_point_and_consecutive_repeats_are_dropped() -> None:
    ring = ring_from_points([(0, 0), (10, 0), (10, 0), (10, 10), (0, 0)], 100, 80)

    assert ring == ((0, 0), (10, 0), (10, 10))


def test_clamping_that_merges_vertices_can_leave_too_few_points() -> None:
    with pytest.raises(Refused) as refused:
        ring_from_points([(100.2, 0), (100.6, 0), (100.9, 0), (50, 0)], 100, 80)

    assert refused.value.code == "too_few_points"


@pytest.mark.parametrize(
    "points",
    [
        [(0, 0), (float("nan"), 1), (5, 5)],
        [(0, 0), (float("inf"), 1), (5, 5)],
        [(0, 0), ("1", 1), (5, 5)],
        [(0, 0), (10**400, 1), (5, 5)],
    ],
)
def test_non_finite_or_non_numeric_coordinates_are_refused(points: list) -> None:
    with pytest.raises(Refused) as refused:
        ring_from_points(points, 100, 80)

    assert refused.value.code == "invalid_coordinates"


def test_booleans_are_not_coordinates() -> None:
    with pytest.raises(Refused) as refused:
        ring_from_points([(0, 0), (True, 1), (5, 5)], 100, 80)

    assert refused.value.code == "invalid_coordinates"


@pytest.mark.parametrize(
    ("path", "folder", "expected"),
    [
        ("b.jpg", "a", "a/b.jpg"),
        ("./b.jpg", "a/x", "a/x/b.jpg"),
        ("..\\images\\b.jpg", "a/json", "a/images/b.jpg"),
        ("../images/b.jpg", "annotations", "images/b.jpg"),
        ("b.jpg", "", "b.jpg"),
    ],
)
def test_image_paths_resolve_against_the_documents_folder(path: str, folder: str, expected: str) -> None:
    assert relative_path(path, folder) == expected


@pytest.mark.parametrize(
    ("path", "folder"),
    [("../b.jpg", ""), ("../../b.jpg", "a"), ("/home/me/b.jpg", ""), ("C:\\data\\b.jpg", "a"), ("", "a")],
)
def test_image_paths_that_are_absolute_or_leave_the_import_are_refused(path: str, folder: str) -> None:
    with pytest.raises(Refused) as refused:
        relative_path(path, folder)

    assert refused.value.code == "invalid_image_path"


def test_missing_shared_data_skips_the_test_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(this_module, "IN_CI", False)

    with pytest.raises(pytest.skip.Exception, match="no-such-folder"):
        shared_data("no-such-folder")


def test_missing_shared_data_fails_the_test_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(this_module, "IN_CI", True)

    with pytest.raises(pytest.fail.Exception, match="no-such-folder"):
        shared_data("no-such-folder")


def test_a_missing_reference_reader_fails_the_test_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(this_module, "IN_CI", True)

    with pytest.raises(pytest.fail.Exception, match="dev dependency"):
        require("no_such_module_for_polylog")


# Runs in a fresh interpreter, so nothing the test session imported can hide or cause a Django import.
PURITY_PROBE = """
import importlib, json, pkgutil, sys
import apps.interchange as package
names = [package.__name__]
# The Django side of the app (REST, the export and import services, the queued exports' model, admin and
# migrations, the app config) is left out.
django_side = {"admin", "api", "apps", "export", "exports", "labeled", "migrations", "models"}
for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    if info.name.split(".")[2] in django_side:
        continue
    importlib.import_module(info.name)
    names.append(info.name)
print(json.dumps({
    "modules": names,
    "django_modules": sorted(m for m in sys.modules if m == "django" or m.startswith("django.")),
}))
"""


def test_importing_the_interchange_package_loads_no_django() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PURITY_PROBE],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert "apps.interchange.voc" in loaded["modules"]
    assert loaded["django_modules"] == [], f"apps.interchange pulled in Django: {loaded['django_modules']}"
