"""Task durations as a histogram that every process can read: recorded in the database as runs end, read
by /metrics (apps/ops/metrics.py). docs/operations.md, "Task durations", says why not in memory."""

from __future__ import annotations

from django.db import connection
from prometheus_client.utils import floatToGoString

from .models import TaskDuration

# Tasks run from a thumbnail (tens of ms) to an import or export of a large job (an hour).
TASK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
BUCKET_NAMES = (*(floatToGoString(bound) for bound in TASK_BUCKETS), "+Inf")


def task_duration_record(*, kind: str, status: str, seconds: float) -> None:
    """Count one run of `kind` that ended with `status` after `seconds`: one statement adding 1 and the
    seconds to each bucket whose bound it is within (made by the first run to reach it). Call it in the
    transaction that records the run's end, so a run is counted once, exactly when it is recorded done or
    failed. Buckets are written in one order, so two runs ending together never lock them crosswise."""
    bounds = (*TASK_BUCKETS, float("inf"))
    within = [name for name, bound in zip(BUCKET_NAMES, bounds, strict=True) if seconds <= bound]
    table = connection.ops.quote_name(TaskDuration._meta.db_table)
    rows = ", ".join(["(%s, %s, %s, 1, %s)"] * len(within))
    params = [value for name in within for value in (kind, str(status), name, seconds)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (kind, status, le, count, seconds) VALUES {rows} "
            f"ON CONFLICT (kind, status, le) DO UPDATE SET count = {table}.count + 1,"
            f" seconds = {table}.seconds + excluded.seconds",
            params,
        )


def task_durations() -> list[tuple[str, str, list[tuple[str, int]], float]]:
    """Per kind and status: the histogram's cumulative buckets (the "+Inf" one is the count) and its sum.
    A bucket no run was within is 0."""
    found: dict[tuple[str, str], dict[str, tuple[int, float]]] = {}
    for kind, status, le, count, seconds in TaskDuration.objects.values_list(
        "kind", "status", "le", "count", "seconds"
    ):
        found.setdefault((kind, status), {})[le] = (count, seconds)
    return [
        (
            kind,
            status,
            [(name, buckets.get(name, (0, 0.0))[0]) for name in BUCKET_NAMES],
            buckets.get("+Inf", (0, 0.0))[1],
        )
        for (kind, status), buckets in sorted(found.items())
    ]
