"""Interchange figures for one database (DATABASE_URL, SQLite by default): exporting COCO for a job of N
images with 10 polygons of 30 vertices each (time, peak memory growth, size), and importing that same COCO
file as a labeled import into a second job over the same images; then exports (COCO and CVAT XML) of a
third job whose classes declare 4 attributes and whose polygons have values set, against the same job with
its declarations emptied (target <= 1.3) and against the first job, in alternating rounds (see
`attributes_rows`). Prints one JSON line."""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import resource
import statistics
import time
import uuid
import zipfile

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.datasets.models import DataImport, Dataset, Image  # noqa: E402
from apps.interchange.export import export_stream  # noqa: E402
from apps.interchange.labeled import labeled_import  # noqa: E402
from apps.labeling import store  # noqa: E402
from apps.labeling.domain import evolve, initial_state, state_to_dict  # noqa: E402
from apps.labeling.domain.events import AttributesSet, PolygonAdded, Saved  # noqa: E402
from apps.labeling.models import Item, JobMember, LabelClass, LabelingJob, Role, Snapshot, StoredEvent  # noqa: E402
from apps.labeling.readmodels import job_tally_differences  # noqa: E402
from apps.labeling.selectors import item_list  # noqa: E402
from apps.labeling.services import job_sync  # noqa: E402
from tests.bench.db import fresh_database  # noqa: E402

WIDTH, HEIGHT, POLYGONS, VERTICES = 1000, 800, 10, 30
ATTRIBUTES = [
    {"name": "occluded", "kind": "checkbox"},
    {"name": "colour", "kind": "select", "options": ["red", "green", "blue"]},
    {"name": "count", "kind": "number", "min": 0, "max": 100},
    {"name": "note", "kind": "text", "default": "none"},
]
ROUNDS = 5


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ring(k: int, n: int) -> tuple[tuple[float, float], ...]:
    """A 30-vertex polygon (a circle, with awkward float coordinates), one of ten spread over the image."""
    cx, cy, r = 100.0 + (k % 5) * 190.0 + (n % 7) * 0.3137, 120.0 + (k // 5) * 380.0, 80.0
    return tuple(
        (
            round(cx + r * math.cos(2 * math.pi * v / VERTICES), 6),
            round(cy + r * math.sin(2 * math.pi * v / VERTICES), 6),
        )
        for v in range(VERTICES)
    )


@transaction.atomic
def seed(images: int, dataset: Dataset | None = None, attributes: bool = False) -> LabelingJob:
    """A job of `images` images x POLYGONS polygons, saved; over `dataset`'s images when given. With
    `attributes`, its classes declare ATTRIBUTES and each polygon has three of them set (note left at its
    default), one attributes_set event each, as set_attributes leaves them."""
    user, _ = get_user_model().objects.get_or_create(
        username="interchange-bench", defaults={"is_staff": True}
    )
    fresh = dataset is None
    dataset = dataset or Dataset.objects.create(name=f"interchange-{uuid.uuid4().hex[:8]}")
    job = LabelingJob.objects.create(name="interchange", dataset=dataset, created_by=user)
    JobMember.objects.create(job=job, user=user, role=Role.MANAGER)
    declared = ATTRIBUTES if attributes else []
    labels = LabelClass.objects.bulk_create(
        [
            LabelClass(job=job, name=f"class {n}", color="#336699", slot=n, attributes=declared)
            for n in range(5)
        ]
    )
    if not fresh:
        return _seed_shapes(job, labels, user, attributes)
    Image.objects.bulk_create(
        (
            Image(
                dataset=dataset,
                file=f"bench/{n}.jpg",
                name=f"img_{n:06d}.jpg",
                path=f"part{n % 10}/img_{n:06d}.jpg",
                width=WIDTH,
                height=HEIGHT,
                checksum=f"{dataset.pk:08d}{n:056x}",
            )
            for n in range(images)
        ),
        batch_size=5000,
    )
    return _seed_shapes(job, labels, user, attributes)


def _values(k: int) -> tuple[tuple[str, object], ...]:
    return (("colour", ("red", "green", "blue")[k % 3]), ("count", float(k)), ("occluded", k % 2 == 0))


def _seed_shapes(job: LabelingJob, labels: list[LabelClass], user: object, attributes: bool) -> LabelingJob:
    job_sync(job=job)
    now, rows, snapshots = timezone.now(), [], []
    for n, item_id in enumerate(Item.objects.filter(job=job).order_by("id").values_list("id", flat=True)):
        events: list[object] = [
            PolygonAdded(user.pk, str(uuid.UUID(int=item_id * 100 + k)), labels[k % 5].pk, ring(k, n))
            for k in range(POLYGONS)
        ]
        if attributes:
            events += [
                AttributesSet(user.pk, str(uuid.UUID(int=item_id * 100 + k)), _values(k))
                for k in range(POLYGONS)
            ]
        events.append(Saved(user.pk))
        rows += [
            row.model()
            for row in store.rows_for(
                item_id, 1, events, prev_hash=store.GENESIS_HASH, created_at=now, command_id=None
            )
        ]
        # The snapshots the command path writes (store.snapshot_due: multiples of K, and the save).
        state = initial_state(WIDTH, HEIGHT)
        for event in events:
            before, state = state, evolve(state, event)
            if store.snapshot_due(before, state, isinstance(event, Saved)):
                snapshots.append(Snapshot(item_id=item_id, seq=state.seq, state=state_to_dict(state)))
        if len(rows) >= 20_000:
            StoredEvent.objects.bulk_create(rows, batch_size=5000)
            Snapshot.objects.bulk_create(snapshots, batch_size=1000)
            rows, snapshots = [], []
    StoredEvent.objects.bulk_create(rows, batch_size=5000)
    Snapshot.objects.bulk_create(snapshots, batch_size=1000)
    last = len(events)
    Item.objects.filter(job=job).update(last_seq=last, saved_seq=last)
    job_tally_differences(job.pk, repair=True)
    return job


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    images = 1000 if args.quick else 10_000
    db, rows = args.database, []

    def row(name: str, value: float, unit: str, target: str = "", ok: bool | None = None) -> None:
        rows.append({"name": name, "database": db, "value": value, "unit": unit, "target": target, "ok": ok})

    fresh_database()
    started = time.perf_counter()
    job = seed(images)
    row(
        f"seed: {images:,} images x {POLYGONS} polygons x {VERTICES} vertices",
        round(time.perf_counter() - started, 1),
        "s",
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    store.state_cache.clear()  # an export on a cold process: every state comes from the database

    before, zipped = rss_mib(), io.BytesIO()
    started = time.perf_counter()
    size = 0
    for chunk in export_stream(job, item_list(job=job), "coco"):
        size += len(chunk)
        zipped.write(chunk)  # kept only to import it back below; not counted as the export's memory
    elapsed = time.perf_counter() - started
    growth = peak_mib() - before
    full = not args.quick
    row(
        f"export COCO, {images:,} images: time",
        round(elapsed, 2),
        "s",
        "<= 10" if full else "",
        elapsed <= 10 if full else None,
    )
    row(
        "export COCO: peak memory growth (RSS, incl. the zip kept)",
        round(growth, 1),
        "MiB",
        "<= 300" if full else "",
        growth <= 300 if full else None,
    )
    row("export COCO: zip size", round(size / 2**20, 1), "MiB")

    document = zipfile.ZipFile(zipped).read("annotations/instances_default.json")
    target = LabelingJob.objects.create(
        name="interchange-import", dataset=job.dataset, created_by=job.created_by
    )
    JobMember.objects.create(job=target, user=job.created_by, role=Role.MANAGER)
    record = DataImport.objects.create(
        dataset=job.dataset,
        actor=job.created_by,
        source=DataImport.Source.PATH,
        path="bench",
        labeled=True,
        format=DataImport.Format.COCO,
        job_id=target.pk,
    )
    started = time.perf_counter()
    labeled_import(record, [("instances_default.json", lambda: document)])
    elapsed = time.perf_counter() - started
    record.refresh_from_db()
    assert record.objects_added == images * POLYGONS, (record.objects_added, record.errors[:3])
    row(
        f"import the same COCO ({images * POLYGONS:,} polygons)",
        round(elapsed, 1),
        "s",
        "<= 60" if full else "",
        elapsed <= 60 if full else None,
    )
    row("import: polygons per second", round(images * POLYGONS / elapsed), "polygons/s")
    attributes_rows(job, images, row, full)
    print(json.dumps(rows))
    return 0


def attributes_rows(plain: LabelingJob, images: int, row: object, full: bool) -> None:
    """Export, in alternating rounds (the order turns each round; every export from a cold state cache):
    A, a job over the same images whose classes declare ATTRIBUTES and whose polygons have values set;
    B, the same job with its declarations emptied (the same states, no attribute written); C, `plain`,
    the same polygons without any attributes_set event. Per format: A's median time, A / B (what writing
    the attributes costs, the target), A / C (that plus replaying one more event per polygon to load the
    states)."""
    started = time.perf_counter()
    attributed = seed(images, dataset=plain.dataset, attributes=True)
    row(
        f"seed: the same {images:,} images, 4 attributes declared, 3 set per polygon",
        round(time.perf_counter() - started, 1),
        "s",
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    classes = LabelClass.objects.filter(job=attributed)

    def export(variant: str, fmt: str) -> float:
        classes.update(attributes=[] if variant == "B" else ATTRIBUTES)
        job = plain if variant == "C" else attributed
        store.state_cache.clear()
        started = time.perf_counter()
        for _ in export_stream(job, item_list(job=job), fmt):
            pass
        return time.perf_counter() - started

    for fmt in ("coco", "cvat"):
        times: dict[str, list[float]] = {"A": [], "B": [], "C": []}
        order = ["A", "B", "C"]
        for n in range(ROUNDS):
            for variant in order[n % 3 :] + order[: n % 3]:
                times[variant].append(export(variant, fmt))
        a, b, c = (statistics.median(times[v]) for v in "ABC")
        name = fmt.upper()
        row(
            f"export {name} with attributes, {images:,} images x {POLYGONS} polygons (median of {ROUNDS})",
            round(a, 2),
            "s",
        )
        row(
            f"export {name}: with attributes / the same states without (declarations emptied: {b:.2f} s)",
            round(a / b, 2),
            "x",
            "<= 1.3",
            a / b <= 1.3,
        )
        row(
            f"export {name}: with attributes / polygons without attributes_set events ({c:.2f} s)",
            round(a / c, 2),
            "x",
        )
    classes.update(attributes=ATTRIBUTES)


if __name__ == "__main__":
    raise SystemExit(main())
