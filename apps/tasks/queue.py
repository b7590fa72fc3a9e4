"""What the health and metrics endpoints read of the queue: how many runs wait, and whether it works."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from . import backends
from .models import TaskRun


def queue_depth() -> int:
    """Task runs queued and not yet taken up by a worker (either backend)."""
    return TaskRun.objects.filter(status=TaskRun.Status.QUEUED).count()


def queue_check() -> str | None:
    """None when the queue can take and run work, else why not: Redis does not answer (RQ backend), or a
    run has been "running" past the stale limit with nobody sweeping it (no live worker)."""
    if backends.backend_name() == "rq":
        try:
            import django_rq

            django_rq.get_connection(backends.RQ_QUEUE).ping()
        except Exception as error:  # any failure to reach Redis is the answer
            return f"Redis does not answer: {type(error).__name__}"
    # Twice the stale limit: a live worker sweeps a run once it is stale, so one still there is unswept.
    seconds = 2 * settings.POLYLOG["TASK_STALE_SECONDS"]
    stale = timezone.now() - timedelta(seconds=seconds)
    if TaskRun.objects.filter(status=TaskRun.Status.RUNNING, heartbeat_at__lt=stale).exists():
        return f"a task run has had no heartbeat for {seconds:g} s and no worker swept it"
    return None
