"""Queued exports' memory (issue 21, point 3), for one database (DATABASE_URL, SQLite by default): the peak
RSS growth of the export task for a job of N images and one of 10 N (10,000 and 100,000; 1,000 and 10,000
with --quick), and their ratio, which must stay at most 1.5 (memory flat in the number of images); for COCO
(one document) and YOLO (a file an image).

Each export runs the real task (apps.tasks.runner.task_execute on an Export's run: a COCO zip written to a
temporary file, then to storage) in a child process of its own, so neither the seeding nor the other
export is counted: the child warms up on a job of 10 images (imports, the first queries), then resets its
peak RSS (Linux's clear_refs), reads its RSS, runs the export and reports its peak RSS (VmHWM) less that. Prints one JSON line of rows.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import threading
import time
import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.datasets.models import Dataset, Image  # noqa: E402
from apps.interchange.models import Export  # noqa: E402
from apps.labeling import store  # noqa: E402
from apps.labeling.domain.events import PolygonAdded, Saved  # noqa: E402
from apps.labeling.models import Item, JobMember, LabelClass, LabelingJob, Role, StoredEvent  # noqa: E402
from apps.labeling.readmodels import job_tally_differences  # noqa: E402
from apps.labeling.services import job_sync  # noqa: E402
from apps.tasks.models import TaskRun  # noqa: E402
from apps.tasks.runner import task_execute  # noqa: E402
from tests.bench.db import fresh_database  # noqa: E402

POLYGONS, VERTICES = 2, 12
RATIO_TARGET = 1.5
FORMATS = ("coco", "yolo")


def status_mib(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    raise LookupError(field)


def peak_reset() -> None:
    """Start the process's peak RSS (VmHWM) over from its RSS now (Linux: clear_refs 5), so the peak read
    after the export is the export's, not django.setup's or the warm-up's."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def peak_mib() -> float:
    """The peak RSS since peak_reset (VmHWM); ru_maxrss where /proc has no VmHWM."""
    try:
        return status_mib("VmHWM")
    except (LookupError, OSError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ring(k: int, n: int) -> tuple[tuple[float, float], ...]:
    x, y = 20.0 + k * 300.0 + (n % 7) * 0.3137, 40.0 + (n % 11) * 1.5
    return tuple((round(x + 100 * (v % 4 in (1, 2)), 3), round(y + 7.5 * v, 3)) for v in range(VERTICES))


@transaction.atomic
def seed(images: int) -> int:
    """A job of `images` items with POLYGONS saved polygons each, written in bulk; its id."""
    user, _ = get_user_model().objects.get_or_create(username="export-bench", defaults={"is_staff": True})
    dataset = Dataset.objects.create(name=f"exports-{uuid.uuid4().hex[:8]}")
    job = LabelingJob.objects.create(name=f"exports {images}", dataset=dataset, created_by=user)
    JobMember.objects.create(job=job, user=user, role=Role.MANAGER)
    labels = LabelClass.objects.bulk_create(
        [LabelClass(job=job, name=f"class {n}", color="#336699", slot=n) for n in range(3)]
    )
    Image.objects.bulk_create(
        (
            Image(
                dataset=dataset,
                file=f"bench/{n}.jpg",
                name=f"img_{n:06d}.jpg",
                path=f"part{n % 10}/img_{n:06d}.jpg",
                width=1000,
                height=800,
                checksum=f"{dataset.pk:08d}{n:056x}",
            )
            for n in range(images)
        ),
        batch_size=5000,
    )
    job_sync(job=job)
    now, rows = timezone.now(), []
    for n, item_id in enumerate(Item.objects.filter(job=job).order_by("id").values_list("id", flat=True)):
        events = [
            PolygonAdded(user.pk, str(uuid.UUID(int=item_id * 100 + k)), labels[k % 3].pk, ring(k, n))
            for k in range(POLYGONS)
        ]
        events.append(Saved(user.pk))
        rows += [
            row.model()
            for row in store.rows_for(
                item_id, 1, events, prev_hash=store.GENESIS_HASH, created_at=now, command_id=None
            )
        ]
        if len(rows) >= 30_000:
            StoredEvent.objects.bulk_create(rows, batch_size=5000)
            rows = []
    StoredEvent.objects.bulk_create(rows, batch_size=5000)
    Item.objects.filter(job=job).update(last_seq=POLYGONS + 1, saved_seq=POLYGONS + 1)
    job_tally_differences(job.pk, repair=True)
    return job.pk


def queued_export(job_id: int, fmt: str) -> int:
    """An Export of the whole job as the export view records it, its run not handed to any worker."""
    job = LabelingJob.objects.get(pk=job_id)
    run = TaskRun.objects.create(kind="interchange.export", args={"job_id": job_id}, total=job.items.count())
    query = {"status": "all", "hard_example": None, "ordering": "id"}
    return Export.objects.create(job=job, requested_by=job.created_by, format=fmt, query=query, run=run).pk


def export_run(export_id: int) -> Export:
    export = Export.objects.select_related("run").get(pk=export_id)
    task_execute(export.run_id)
    export.refresh_from_db()
    export.run.refresh_from_db()
    assert export.run.status == TaskRun.Status.DONE and export.file, export.run.error
    return export


class AnonymousPeak:
    """The peak growth of the process's anonymous RSS (RssAnon: its heap, buffers and SQLite's page cache)
    while it runs, sampled every 5 ms from another thread. Not VmHWM alone: on SQLite that also counts the
    database file's pages SQLite maps (PRAGMA mmap_size, 256 MiB; file pages the kernel drops at will),
    which grow with the rows read whatever the export keeps; both are reported."""

    def __init__(self) -> None:
        self.base = self.peak = status_mib("RssAnon")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self.stop.wait(0.005):
            self.peak = max(self.peak, status_mib("RssAnon"))

    def __enter__(self) -> AnonymousPeak:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, status_mib("RssAnon"))

    @property
    def growth(self) -> float:
        return self.peak - self.base


def child(warm_job: int, job_id: int, fmt: str) -> int:
    """In a fresh process: warm up on a small job, then export the big one; its memory and time."""
    warm = export_run(queued_export(warm_job, fmt))
    default_storage.delete(warm.file)
    store.state_cache.clear()
    export_id = queued_export(job_id, fmt)
    gc.collect()
    peak_reset()
    before = status_mib("VmRSS")
    started = time.perf_counter()
    with AnonymousPeak() as anonymous:
        export = export_run(export_id)
    elapsed = time.perf_counter() - started
    total = max(0.0, peak_mib() - before)
    default_storage.delete(export.file)
    figures = {"growth": anonymous.growth, "total": total, "seconds": elapsed, "items": export.run.total}
    print(json.dumps(figures))
    return 0


def measured(warm_job: int, job_id: int, fmt: str) -> dict[str, float]:
    cmd = [sys.executable, "-m", "tests.bench.exports", "--child", str(warm_job), str(job_id), fmt]
    out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"the export child for job {job_id} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("WARM_JOB", "JOB", "FORMAT"))
    args = parser.parse_args()
    if args.child:
        return child(int(args.child[0]), int(args.child[1]), args.child[2])
    small = 1_000 if args.quick else 10_000
    sizes = (small, 10 * small)
    db, rows = args.database, []

    def row(name: str, value: float, unit: str, target: str = "", ok: bool | None = None) -> None:
        rows.append({"name": name, "database": db, "value": value, "unit": unit, "target": target, "ok": ok})

    fresh_database()
    warm_job = seed(10)
    jobs = {}
    for images in sizes:
        started = time.perf_counter()
        jobs[images] = seed(images)
        row(f"seed: {images:,} images x {POLYGONS} polygons", round(time.perf_counter() - started, 1), "s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    connection.close()  # the children open their own
    # COCO: one document; YOLO: a file an image, the zip's directory and train.txt as long as the job.
    for fmt in FORMATS:
        figures = {images: measured(warm_job, jobs[images], fmt) for images in sizes}
        for images, figure in figures.items():
            name = f"queued export {fmt.upper()}, {images:,} images"
            row(f"{name}: peak RSS growth (anonymous)", round(figure["growth"], 1), "MiB")
            row(f"{name}: peak RSS growth (all, VmHWM)", round(figure["total"], 1), "MiB")
            row(f"{name}: time", round(figure["seconds"], 1), "s")
        ratio = figures[sizes[1]]["growth"] / max(figures[sizes[0]]["growth"], 1.0)
        row(
            f"queued export {fmt.upper()}: RSS growth {sizes[1] // 1000}k / {sizes[0] // 1000}k images",
            round(ratio, 2),
            "x",
            f"<= {RATIO_TARGET}",
            ratio <= RATIO_TARGET,
        )
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
