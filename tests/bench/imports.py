"""Import figures for one database (DATABASE_URL, SQLite by default), on the embedded queue: a path import of
1,000 photos (640x480 JPEG) from the import root against the issue's floor, reading every file's bytes and
hashing them with sha256 in one process, measured in the same round on the same files (and beside it reading,
hashing and writing each as a new file in the media storage: what an import that copies cannot go under);
and 10,000 small images (without --quick). The import root is the settings' (POLYLOG_IMPORT_ROOT; by default
a folder of the media storage, whose files are registered in place: docs/data.md). An import counts as done
when its images are registered and the job is synchronised; the time until every thumbnail exists is
printed beside it. Prints one JSON line."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from PIL import Image as PILImage  # noqa: E402

from apps.datasets.imports import dataset_import_start, import_wait  # noqa: E402
from apps.datasets.models import DataImport, Dataset  # noqa: E402
from apps.labeling.services import job_create  # noqa: E402
from tests.bench.db import fresh_database  # noqa: E402
from tests.live_servers import photos_write  # noqa: E402

PEER_SECONDS_1000 = 3.1  # Label Studio 1.23.2, 1,000 images of 640x480 from storage (issue 21)
ROUNDS = 3


def small_images(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        PILImage.new("RGB", (64, 48), (n % 256, n // 256 % 256, 99)).save(folder / f"{n:05d}.png")


def floor_seconds(folder: Path) -> float:
    """Read every file's bytes and sha256 them, one process, one thread: the issue's floor."""
    names = sorted(str(path) for path in folder.rglob("*") if path.is_file())
    start = time.perf_counter()
    for name in names:
        with open(name, "rb") as file:
            hashlib.sha256(file.read()).hexdigest()
    return time.perf_counter() - start


def copy_floor_seconds(folder: Path) -> float:
    """Read every file's bytes, sha256 them and write them as new files into a new folder of the media
    storage, one process, one thread: the least an import that copies must do (one whose import root is
    outside the storage, or an upload); printed beside the issue's floor."""
    names = sorted(str(path) for path in folder.rglob("*") if path.is_file())
    target = Path(settings.MEDIA_ROOT) / "bench-floor-copy"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    start = time.perf_counter()
    for n, name in enumerate(names):
        with open(name, "rb") as file:
            content = file.read()
        hashlib.sha256(content).hexdigest()
        with open(target / f"{n}.jpg", "xb") as copy:
            copy.write(content)
    seconds = time.perf_counter() - start
    shutil.rmtree(target)
    return seconds


def import_seconds(folder: str, user: object, round_: int) -> tuple[float, float]:
    """(seconds until the import is done, seconds until its thumbnails are too), into a new dataset and
    a job over it."""
    dataset = Dataset.objects.create(name=f"bench {folder} {round_}", created_by=user)
    job_create(name=f"bench {folder} {round_}", dataset=dataset, created_by=user, label_classes=[])
    start = time.perf_counter()
    record = dataset_import_start(dataset=dataset, actor=user, path=folder)
    while DataImport.objects.values_list("status", flat=True).get(pk=record.pk) in ("queued", "running"):
        time.sleep(0.002)  # polling the record as a client would, for the figure only
    done = time.perf_counter() - start
    record = import_wait(record.pk, timeout=600)
    thumbnails = time.perf_counter() - start
    assert record.status == "done" and record.failed == 0 and record.added > 0, record.errors[:3]
    assert not dataset.images.filter(thumbnail="").exists()
    return done, thumbnails


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    db, rows = args.database, []

    def row(name: str, value: float, unit: str, target: str = "", ok: bool | None = None) -> None:
        rows.append({"name": name, "database": db, "value": value, "unit": unit, "target": target, "ok": ok})

    fresh_database()
    user = get_user_model().objects.create_user("bench_importer", is_staff=True)
    root = Path(settings.POLYLOG["IMPORT_ROOT"])
    shutil.rmtree(root / "bench-photos", ignore_errors=True)
    shutil.rmtree(root / "bench-small", ignore_errors=True)
    photos_write(root / "bench-photos", 1000)
    floor_seconds(root / "bench-photos")  # the page cache warm for both, as it is for the import
    floors, copy_floors, dones, thumbs, ratios, copy_ratios = [], [], [], [], [], []
    for round_ in range(ROUNDS):
        floor = floor_seconds(root / "bench-photos")
        copy_floor = copy_floor_seconds(root / "bench-photos")
        done, thumbnails = import_seconds("bench-photos", user, round_)
        floors.append(floor)
        copy_floors.append(copy_floor)
        dones.append(done)
        thumbs.append(thumbnails)
        ratios.append(done / floor)
        copy_ratios.append(done / copy_floor)
    ratio = statistics.median(ratios)
    row("import 1,000 photos: floor (read + sha256, one process)", round(statistics.median(floors), 3), "s")
    row("import 1,000 photos: done (registered, synced)", round(statistics.median(dones), 3), "s")
    row("import 1,000 photos: done / floor", round(ratio, 2), "x", "<= 2", ratio <= 2)
    row("import 1,000 photos: read + sha256 + copy", round(statistics.median(copy_floors), 3), "s")
    row("import 1,000 photos: done / read + sha256 + copy", round(statistics.median(copy_ratios), 2), "x")
    row("import 1,000 photos: thumbnails done", round(statistics.median(thumbs), 2), "s")
    row(
        "import 1,000 photos: Label Studio's 3.1 s / ours",
        round(PEER_SECONDS_1000 / statistics.median(dones), 1),
        "x",
    )
    if not args.quick:
        small_images(root / "bench-small", 10_000)
        floor_seconds(root / "bench-small")
        floor = floor_seconds(root / "bench-small")
        copy_floor = copy_floor_seconds(root / "bench-small")
        done, thumbnails = import_seconds("bench-small", user, 0)
        row("import 10,000 small images: floor (read + sha256)", round(floor, 3), "s")
        row("import 10,000 small images: done", round(done, 2), "s")
        row("import 10,000 small images: done / floor", round(done / floor, 2), "x")
        row("import 10,000 small images: done / read + sha256 + copy", round(done / copy_floor, 2), "x")
        row("import 10,000 small images: thumbnails done", round(thumbnails, 2), "s")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
