"""Data-management figures for one database (DATABASE_URL, SQLite by default): the items list under each
filter on a large job, synchronising many new images, importing many small images. Prints one JSON line."""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from PIL import Image as PILImage  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from apps.datasets.imports import dataset_import_start, import_wait  # noqa: E402
from apps.datasets.models import Image  # noqa: E402
from apps.labeling.models import LabelingJob  # noqa: E402
from apps.labeling.services import job_sync  # noqa: E402
from tests.bench.db import fresh_database, pct, timed  # noqa: E402


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_items, n_events = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    n_sync = 10_000 if args.quick else 100_000
    n_import = 500 if args.quick else 10_000
    samples = 10 if args.quick else 30
    db, rows = args.database, []

    def row(name: str, value: float, unit: str, target: str = "", ok: bool | None = None) -> None:
        rows.append({"name": name, "database": db, "value": value, "unit": unit, "target": target, "ok": ok})

    fresh_database()
    out = io.StringIO()
    started = time.perf_counter()
    call_command("seed_bench", items=n_items, events=n_events, stdout=out)
    row(f"seed_bench: {n_items:,} items, {n_events:,} events", round(time.perf_counter() - started, 1), "s")
    if connection.vendor == "postgresql":
        # What autovacuum does soon after a bulk load: planner statistics and the visibility map.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    job = LabelingJob.objects.get(pk=int(out.getvalue().split()[-1]))
    labels = list(job.label_classes.values_list("id", flat=True))
    user = job.members.first()
    client = APIClient()
    client.force_authenticate(user)
    filters = {
        "no filter": "",
        "status=labeled": "status=labeled",
        "status=unlabeled": "status=unlabeled",
        "hard_example": "hard_example=true",
        "one label": f"label_class={labels[0]}",
        "two labels": f"label_class={labels[1]},{labels[2]}",
        "file name": "q=img_0042",
        "labeled by": f"labeled_by={user.pk}",
        "combined": f"status=labeled&label_class={labels[0]}&hard_example=false&q=part3",
    }
    target = 50 if connection.vendor == "postgresql" else None
    for name, query in filters.items():
        url = f"/api/jobs/{job.pk}/items/?page=2&page_size=50&{query}"
        assert client.get(url).status_code in (200, 404)
        times = timed(lambda url=url: client.get(url), samples)
        p50, p95 = pct(times, 0.5) * 1000, pct(times, 0.95) * 1000
        row(
            f"items list, 50 a page, {name}: p50",
            round(p50, 1),
            "ms",
            f"<= {target}" if target else "",
            p50 <= target if target else None,
        )
        row(f"items list, 50 a page, {name}: p95", round(p95, 1), "ms")

    Image.objects.bulk_create(
        (
            Image(
                dataset_id=job.dataset_id,
                file=f"new/{n}.jpg",
                name=f"new_{n}.jpg",
                path=f"new/{n}.jpg",
                width=640,
                height=480,
                checksum=f"n{n:063x}",
            )
            for n in range(n_sync)
        ),
        batch_size=5000,
    )
    started = time.perf_counter()
    result = job_sync(job=job)
    took = time.perf_counter() - started
    assert result["added"] == n_sync
    row(f"synchronise {n_sync:,} new images", round(took, 2), "s", "<= 10", took <= 10)

    if connection.vendor == "sqlite":
        for n in range(n_import):
            picture = PILImage.new("RGB", (64, 48), (n % 256, n // 256 % 256, 99))
            data = io.BytesIO()
            picture.save(data, format="PNG")
            folder = os.path.join(settings.POLYLOG["IMPORT_ROOT"], "import-bench", str(n // 1000))
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, f"{n}.png"), "wb") as file:
                file.write(data.getvalue())
        before = rss_mib()
        started = time.perf_counter()
        record = dataset_import_start(dataset=job.dataset, actor=user, path="import-bench")
        record = import_wait(record.pk, timeout=900)  # on the embedded queue, thumbnails included
        took = time.perf_counter() - started
        assert record.added == n_import, record.errors[:3]
        row(f"import {n_import:,} small images with thumbnails", round(took, 1), "s", "<= 90", took <= 90)
        row("import rate", round(n_import / took), "images/s")
        row("import: peak RSS growth", round(rss_mib() - before, 1), "MiB")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
