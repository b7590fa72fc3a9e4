"""Audit figures for one database (DATABASE_URL, SQLite by default): the state at a random seq of a
100,000-event stream and a timeline page of 100 events, both through their REST endpoints in process (auth,
permission check, serialisation included), and verifying the hash chains of a 1,000,000-event job
(seed_bench) as GET jobs/<id>/integrity/ does, plus exporting that job's log. Prints one JSON line."""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from apps.datasets.models import Dataset  # noqa: E402
from apps.datasets.services import image_create  # noqa: E402
from apps.labeling import audit, store  # noqa: E402
from apps.labeling.models import Item, LabelingJob  # noqa: E402
from apps.labeling.services import job_create  # noqa: E402
from tests.bench.db import Stream, fresh_database, pct, timed, tiny_png  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    stream_length = 10_000 if args.quick else 100_000
    job_items, job_events = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    samples = 100 if args.quick else 300
    db, rows = args.database, []

    def row(name: str, value: float, unit: str, target: str = "", ok: bool | None = None) -> None:
        rows.append({"name": name, "database": db, "value": value, "unit": unit, "target": target, "ok": ok})

    fresh_database()
    user = get_user_model().objects.create_user("audit-bench", password="audit-bench")
    dataset = Dataset.objects.create(name="audit-bench")
    image_create(dataset=dataset, path="long.png", content=tiny_png(1000, 800))
    job = job_create(
        name="audit-bench",
        dataset=dataset,
        created_by=user,
        label_classes=[{"name": f"class {n}", "color": "#336699"} for n in range(3)],
    )
    labels = list(job.label_classes.values_list("id", flat=True))
    item = Item.objects.get(job=job)
    long = Stream(item, user.pk, labels, seed=7)
    long.bulk_load(stream_length)
    last_seq = long.item.last_seq
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    client = APIClient()
    client.force_authenticate(user)
    rng = random.Random(7)

    # 1. The state at a random seq (the replay page's scrubbing), cold: nothing cached for past seqs.
    state_url = f"/api/items/{item.pk}/state/"
    assert client.get(state_url, {"at_seq": last_seq // 2}).status_code == 200
    seqs = iter([rng.randint(1, last_seq) for _ in range(samples)])
    at = pct(timed(lambda: client.get(state_url, {"at_seq": next(seqs)}), samples), 0.5) * 1000
    row(
        f"audit: state at a random seq of {last_seq:,} events, p50",
        round(at, 2),
        "ms",
        "<= 10",
        at <= 10,
    )

    # 2. A timeline page of 100 events with their summaries, anywhere in the stream.
    timeline_url = f"/api/items/{item.pk}/timeline/"
    pages = math.ceil(last_seq / 100)
    first = client.get(timeline_url, {"page": 1, "page_size": 100})
    assert first.status_code == 200 and len(first.json()["results"]) == 100, first.content[:300]
    numbers = iter([rng.randint(1, pages) for _ in range(samples)])
    page = pct(
        timed(lambda: client.get(timeline_url, {"page": next(numbers), "page_size": 100}), samples), 0.5
    )
    row("audit: timeline page of 100 events, p50", round(page * 1000, 2), "ms", "<= 30", page * 1000 <= 30)
    closed = client.get(timeline_url, {"type": "polygon_closed", "page_size": 100}).json()
    closed_pages = max(1, math.ceil(closed["count"] / 100))
    numbers = iter([rng.randint(1, closed_pages) for _ in range(samples)])
    filtered = pct(
        timed(
            lambda: client.get(
                timeline_url, {"type": "polygon_closed", "page": next(numbers), "page_size": 100}
            ),
            samples,
        ),
        0.5,
    )
    row("audit: timeline page of 100 polygon_closed events, p50", round(filtered * 1000, 2), "ms")

    # 3. Verifying a big job's chains, and exporting its log.
    started = time.perf_counter()
    out = io.StringIO()
    call_command("seed_bench", items=job_items, events=job_events, name="audit", stdout=out)
    big = LabelingJob.objects.get(pk=int(out.getvalue().split()[-1]))
    row(
        f"audit: seed_bench {job_items:,} items / {job_events:,} events",
        round(time.perf_counter() - started, 1),
        "s",
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    started = time.perf_counter()
    report = audit.job_integrity(job=big)
    elapsed = time.perf_counter() - started
    assert report["ok"], report["problems"][:3]
    events = report["events"]
    row(f"audit: verify a job of {events:,} events (integrity)", round(elapsed, 1), "s")
    row("audit: verify, events per second", round(events / elapsed), "events/s")
    started, size = time.perf_counter(), 0
    for chunk in audit.job_log(job=big):
        size += len(chunk)
    elapsed = time.perf_counter() - started
    row(f"audit: export the log of {events:,} events", round(elapsed, 1), "s")
    row("audit: export, events per second", round(events / elapsed), "events/s")
    row("audit: export size", round(size / 2**20, 1), "MiB")
    store.state_cache.clear()
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
