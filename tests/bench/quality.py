"""The quality report on a large job (issue 24): 10,000 items and 1,000,000 events (--quick: 1,000 and
100,000), labeled by 8 annotators and reviewed by 2 over 30 days, each image drawn, saved, given an issue
and rejected, fixed, saved again and accepted. Prints one JSON line of rows for tests/bench/run.py.

The job is built with bulk inserts (hash-chained events, the items' read models, their label rows and
tallies), and its quality read models are then recounted from those events by `quality_rebuild`, as the
command path would have written them. Measured: GET /api/jobs/<id>/quality/ p50 and p95, and its ratio to
the items list's p50 (a page of 50) on the same data; the target is at most 10x, as the report reads the
per-person, per-day read model, not the event streams.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from apps.datasets.models import Dataset, Image  # noqa: E402
from apps.labeling import store  # noqa: E402
from apps.labeling.domain import event_from_record  # noqa: E402
from apps.labeling.domain.events import SCHEMA_VERSION  # noqa: E402
from apps.labeling.models import (  # noqa: E402
    Item,
    ItemLabel,
    ItemStatus,
    JobMember,
    LabelClass,
    LabelingJob,
    Role,
    StoredEvent,
)
from apps.labeling.readmodels import job_tally_differences, label_bits  # noqa: E402
from apps.review.quality import quality_rebuild  # noqa: E402
from tests.bench.db import fresh_database, pct, timed  # noqa: E402

ANNOTATORS, REVIEWERS, DAYS = 8, 2, 30
REVIEW_EVENTS = 6  # save, issue, reject, resolve, save, accept


def polygon(n: int) -> list[list[float]]:
    x, y = 10.0 + (n % 20) * 40, 10.0 + (n // 20 % 15) * 40
    return [[x, y], [x + 30, y], [x + 30, y + 30], [x + 15, y + 36], [x, y + 30]]


@transaction.atomic
def build(n_items: int, n_events: int) -> LabelingJob:
    users = get_user_model()
    people = [users.objects.create(username=f"quality-{n}") for n in range(ANNOTATORS + REVIEWERS)]
    annotators, reviewers = people[:ANNOTATORS], people[ANNOTATORS:]
    dataset = Dataset.objects.create(name=f"quality-{uuid.uuid4().hex[:8]}")
    job = LabelingJob.objects.create(name="quality bench", dataset=dataset, created_by=people[0])
    JobMember.objects.bulk_create(
        [JobMember(job=job, user=u, role=Role.ANNOTATOR) for u in annotators]
        + [JobMember(job=job, user=u, role=Role.MANAGER) for u in reviewers]
    )
    labels = LabelClass.objects.bulk_create(
        [LabelClass(job=job, name=name, color="#336699", slot=n) for n, name in enumerate(("cat", "dog"))]
    )
    Image.objects.bulk_create(
        (
            Image(
                dataset=dataset,
                file=f"q/{n}.jpg",
                name=f"img_{n:06d}.jpg",
                path=f"part{n % 10}/img_{n:06d}.jpg",
                width=1000,
                height=800,
                checksum=f"{n:064x}",
            )
            for n in range(n_items)
        ),
        batch_size=5000,
    )
    polygons = max(1, n_events // n_items - REVIEW_EVENTS)
    start = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=DAYS)
    slots = {label.pk: label.slot for label in labels}
    image_ids = list(Image.objects.filter(dataset=dataset).order_by("id").values_list("id", flat=True))
    created = []
    for n, image_id in enumerate(image_ids):
        counts = {labels[0].pk: (polygons + 1) // 2, labels[1].pk: polygons // 2}
        counts = {label: count for label, count in counts.items() if count}
        created.append(
            Item(
                job=job,
                image_id=image_id,
                status=ItemStatus.LABELED,
                shape_count=polygons,
                label_class_ids=sorted(counts),
                label_bits=label_bits(counts, slots),
                labeled_by_id=annotators[n % ANNOTATORS].pk,
                labeled_at=start,
                last_seq=polygons + REVIEW_EVENTS,
                saved_seq=polygons + REVIEW_EVENTS - 1,
                updated_at=start,
            )
        )
    Item.objects.bulk_create(created, batch_size=5000)
    items = list(Item.objects.filter(job=job).order_by("image_id").values_list("id", flat=True))
    ItemLabel.objects.bulk_create(
        (
            ItemLabel(item_id=item_id, label_class_id=label.pk, shape_count=count)
            for item_id in items
            for label, count in ((labels[0], (polygons + 1) // 2), (labels[1], polygons // 2))
            if count
        ),
        batch_size=10_000,
    )
    rows: list[StoredEvent] = []
    per_day = max(1, n_items // DAYS)
    for n, item_id in enumerate(items):
        annotator, reviewer = annotators[n % ANNOTATORS].pk, reviewers[n % REVIEWERS].pk
        # Each annotator works its images one after another through the day, 20 s a polygon.
        at = start + timedelta(days=n // per_day % DAYS, seconds=(n % per_day) // ANNOTATORS * 25 * polygons)
        issue = str(uuid.UUID(int=item_id))
        shape = str(uuid.UUID(int=item_id * 1000))
        records = [
            (
                "polygon_added",
                {
                    "shape_id": shape if k == 0 else str(uuid.UUID(int=item_id * 1000 + k)),
                    "label_class_id": labels[k % 2].pk,
                    "points": polygon(k),
                },
                annotator,
                20,
            )
            for k in range(polygons)
        ]
        records += [
            ("saved", {}, annotator, 10),
            (
                "issue_opened",
                {"issue_id": issue, "x": 12.0, "y": 12.0, "shape_id": shape, "text": "loose"},
                reviewer,
                60,
            ),
            ("review_rejected", {"reason": "see the issue"}, reviewer, 10),
            ("issue_resolved", {"issue_id": issue}, annotator, 120),
            ("saved", {}, annotator, 15),
            ("review_accepted", {}, reviewer, 90),
        ]
        prev = store.GENESIS_HASH
        for seq, (kind, payload, actor, seconds) in enumerate(records, start=1):
            at += timedelta(seconds=seconds)
            event = event_from_record(kind, SCHEMA_VERSION, payload, actor)
            [row] = store.rows_for(item_id, seq, [event], prev_hash=prev, created_at=at, command_id=None)
            prev = row.hash
            rows.append(row.model())
        if len(rows) >= 20_000:
            StoredEvent.objects.bulk_create(rows, batch_size=5000)
            rows = []
    StoredEvent.objects.bulk_create(rows, batch_size=5000)
    job_tally_differences(job.pk, repair=True)
    return job


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_items, n_events = (1_000, 100_000) if args.quick else (10_000, 1_000_000)
    samples = 15 if args.quick else 40
    db, out = args.database, []

    def row(name: str, value: float, unit: str, target: str = "", ok: bool | None = None) -> None:
        out.append({"name": name, "database": db, "value": value, "unit": unit, "target": target, "ok": ok})

    fresh_database()
    started = time.perf_counter()
    job = build(n_items, n_events)
    events = StoredEvent.objects.filter(item__job=job).count()
    row(f"quality: build {n_items:,} items, {events:,} events", round(time.perf_counter() - started, 1), "s")
    started = time.perf_counter()
    written = quality_rebuild(job.pk)
    row(
        f"quality_rebuild from the log ({written['marks']:,} marks)",
        round(time.perf_counter() - started, 1),
        "s",
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    client = APIClient()
    client.force_authenticate(JobMember.objects.filter(job=job, role=Role.MANAGER).first().user)
    report = client.get(f"/api/jobs/{job.pk}/quality/").json()
    assert sum(p["labeled"] for p in report["people"]) == n_items, "every image labeled once"
    assert sum(d["accepted"] for d in report["throughput"]) == n_items
    items_url = f"/api/jobs/{job.pk}/items/?page=2&page_size=50"
    quality_url = f"/api/jobs/{job.pk}/quality/"
    assert client.get(items_url).status_code == 200
    # Alternating rounds, so a passing load on the shared machine falls on both alike.
    items_times, quality_times = [], []
    for _ in range(samples):
        items_times += timed(lambda: client.get(items_url), 1)
        quality_times += timed(lambda: client.get(quality_url), 1)
    items_p50, quality_p50 = pct(items_times, 0.5) * 1000, pct(quality_times, 0.5) * 1000
    ratio = quality_p50 / items_p50
    row("items list, 50 a page: p50 (same job)", round(items_p50, 2), "ms")
    row(f"quality report, {n_items:,} items: p50", round(quality_p50, 2), "ms")
    row(f"quality report, {n_items:,} items: p95", round(pct(quality_times, 0.95) * 1000, 2), "ms")
    row("quality report / items list (p50)", round(ratio, 2), "x", "<= 10", ratio <= 10)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
