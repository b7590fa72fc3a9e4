"""A path import's JPEGs in the import root's folder are read by processes of their own
(apps/datasets/reading.py), not by threads of the importing process: what they answer is what the threads
would have registered, what they cannot read is read again by the threads with its reason, and a reading
process killed mid-import costs the import nothing."""

from __future__ import annotations

import hashlib
import io
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage

from apps.datasets import imports, reading
from apps.datasets.imports import import_wait
from apps.datasets.models import DataImport
from tests.conftest import import_put, png_bytes
from tests.integration.test_import_in_place import path_import

pytestmark = pytest.mark.django_db(transaction=True)


def jpeg_bytes(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), colour).save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
def threads_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the importing process reads itself (`_store`), by path."""
    store, read = imports._store, []

    def noted_store(path: str, *args: Any) -> Any:
        read.append(path)
        return store(path, *args)

    monkeypatch.setattr(imports, "_store", noted_store)
    return read


def test_an_imports_jpegs_are_read_by_the_reading_processes_and_registered_as_the_threads_would(
    dataset: Any, manager_api: Any, in_storage: Path, threads_read: list[str], settings: Any
) -> None:
    photos = {f"shoot/{n}.jpg": jpeg_bytes(40 + n, 30 + n, (n * 40, 9, 9)) for n in range(5)}
    photos["shoot/upper.JPEG"] = jpeg_bytes(17, 19, (1, 2, 3))
    for path, content in photos.items():
        import_put(path, content)
    import_put("shoot/plan.png", png_bytes(12, 13, (4, 4, 4)))
    import_put("shoot/misnamed.jpg", png_bytes(14, 15, (5, 5, 5)))  # a PNG by its bytes

    record = path_import(manager_api, dataset, "shoot")

    assert (record.added, record.failed) == (8, 0)
    # Read here: what is no JPEG by its name, and what the process found to be none by its bytes.
    assert sorted(threads_read) == ["misnamed.jpg", "plan.png"]
    for path, content in photos.items():
        image = dataset.images.get(path=path.removeprefix("shoot/"))
        with PILImage.open(io.BytesIO(content)) as picture:
            assert (image.width, image.height) == picture.size
        assert image.checksum == hashlib.sha256(content).hexdigest()
        assert image.file.name == f"import/{path}"  # registered where it is, as the threads do
    assert (dataset.images.get(path="misnamed.jpg").width, dataset.images.get(path="plan.png").width) == (
        14,
        12,
    )
    pool = reading._pool
    assert pool is not None and all(pid != os.getpid() for pid in pool._processes)


def test_what_a_reading_process_refuses_is_read_again_here_and_refused_with_its_reason(
    dataset: Any, manager_api: Any, in_storage: Path, threads_read: list[str], settings: Any, tmp_path: Path
) -> None:
    import_put("drop/ok.jpg", jpeg_bytes(20, 20, (9, 9, 9)))
    import_put("drop/big.jpg", jpeg_bytes(200, 200, (1, 200, 9)) + b"\0" * 3000)
    import_put("drop/huge.jpg", jpeg_bytes(120, 120, (3, 3, 3)))
    import_put("drop/damaged.jpg", jpeg_bytes(20, 20, (2, 2, 2))[:30])
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(jpeg_bytes(21, 21, (8, 8, 8)))
    os.symlink(outside, in_storage / "drop" / "escape.jpg")
    os.mkfifo(in_storage / "drop" / "pipe.jpg")
    settings.POLYLOG = {**settings.POLYLOG, "MAX_IMPORT_FILE_BYTES": 3000, "MAX_IMAGE_PIXELS": 10_000}

    response = manager_api.post(f"/api/datasets/{dataset.pk}/imports/", {"path": "drop"}, format="json")
    record = import_wait(response.json()["id"], timeout=60)

    assert record.status == DataImport.Status.DONE
    assert record.added == 1 and dataset.images.filter(path="ok.jpg").exists()
    reasons = {error["file"]: error["reason"] for error in record.errors}
    assert reasons["big.jpg"] == "over 3000 bytes"
    assert reasons["escape.jpg"] == "the path escapes the import root"
    assert reasons["pipe.jpg"] == "not a regular file"
    assert reasons["huge.jpg"].startswith("decompression bomb")
    assert reasons["damaged.jpg"].startswith(("truncated or damaged image", "not an image"))
    assert sorted(threads_read) == ["big.jpg", "damaged.jpg", "escape.jpg", "huge.jpg", "pipe.jpg"]


def test_a_reading_process_killed_mid_import_costs_the_import_nothing_and_the_next_has_new_ones(
    dataset: Any, manager_api: Any, in_storage: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "IMPORT_BATCH": 2}
    photos = {f"burst/{n:02d}.jpg": jpeg_bytes(30, 20 + n, (n * 9, 1, 1)) for n in range(12)}
    for path, content in photos.items():
        import_put(path, content)
    register, killed = imports._register_batch, []

    def register_then_kill(*args: Any) -> None:
        register(*args)
        if not killed:  # after the first batch, while the next ones are being read or wait to be
            pool = imports._reading_processes()
            assert pool is not None
            killed.extend(pool[0]._processes)
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    monkeypatch.setattr(imports, "_register_batch", register_then_kill)

    record = path_import(manager_api, dataset, "burst")

    assert (record.added, record.failed) == (12, 0)
    for path, content in photos.items():
        assert (
            dataset.images.get(path=path.removeprefix("burst/")).checksum
            == hashlib.sha256(content).hexdigest()
        )
    monkeypatch.setattr(imports, "_register_batch", register)
    import_put("again/a.jpg", jpeg_bytes(11, 11, (7, 7, 7)))
    assert path_import(manager_api, dataset, "again").added == 1
    pool = reading._pool
    assert pool is not None and killed and not set(killed) & set(pool._processes)


def test_read_jpegs_answers_a_jpegs_checksum_and_size_and_none_for_anything_else(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "app").mkdir(parents=True)
    photo = jpeg_bytes(33, 22, (1, 2, 3))
    (root / "a.jpg").write_bytes(photo)
    (root / "b.jpg").write_bytes(png_bytes(5, 5))
    (root / "app" / "c.jpg").write_bytes(photo)  # in a folder of the app's own
    os.symlink(root / "a.jpg", root / "link.jpg")

    answers = reading.read_jpegs(
        str(root), (str(root / "app"),), ["a.jpg", "b.jpg", "app/c.jpg", "link.jpg", "none.jpg"], 10**6, 10**6
    )

    assert answers == [(hashlib.sha256(photo).hexdigest(), 33, 22), None, None, None, None]
    assert reading.read_jpegs(str(root), (), ["a.jpg"], 10**6, 33 * 22 - 1) == [None]  # over the pixels
    assert reading.read_jpegs(str(root), (), ["a.jpg"], len(photo) - 1, 10**6) == [None]  # over the bytes
