"""Task durations as a histogram that every process can read: recorded in the database as runs end, read
by /metrics (apps/ops/metrics.py). docs/operations.md, "Task durations", says why not in memory."""

from __future__ import annotations

from django.db.models import F
from prometheus_client.utils import floatToGoString

from .models import TaskDuration

# Tasks run from a thumbnail (tens of ms) to an import or export of a large job (an hour).
TASK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
BUCKET_NAMES = tuple(floatToGoString(bound) for bound in TASK_BUCKETS)


def task_duration_record(*, kind: str, status: str, seconds: float) -> None:
    """Count one run of `kind` that ended with `status` after `seconds`. Call it inside the transaction
    that records the run's end, so a run is counted once, exactly when it is recorded done or failed (the
    row is locked until that transaction ends; outside one, Django refuses the lock)."""
    rows = TaskDuration.objects.select_for_update()
    row = rows.filter(kind=kind, status=status).first()
    if row is None:  # the first run of the kind to end; another may be making the row at the same moment
        TaskDuration.objects.bulk_create([TaskDuration(kind=kind, status=status)], ignore_conflicts=True)
        row = rows.get(kind=kind, status=status)
    for name, bound in zip(BUCKET_NAMES, TASK_BUCKETS, strict=True):
        if seconds <= bound:
            row.buckets[name] = row.buckets.get(name, 0) + 1
    TaskDuration.objects.filter(pk=row.pk).update(
        count=F("count") + 1, seconds=F("seconds") + seconds, buckets=row.buckets
    )


def task_durations() -> list[tuple[str, str, list[tuple[str, int]], float]]:
    """Per kind and status: the histogram's cumulative buckets (with "+Inf", the count) and its sum."""
    found = []
    for row in TaskDuration.objects.order_by("kind", "status"):
        buckets = [(name, row.buckets.get(name, 0)) for name in BUCKET_NAMES] + [("+Inf", row.count)]
        found.append((row.kind, row.status, buckets, row.seconds))
    return found
