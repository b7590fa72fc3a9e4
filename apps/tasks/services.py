"""Writes to task runs: enqueue one, record its progress, sweep the runs whose worker died, and wait for a
run and the runs it started to finish."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import backends
from .models import TaskRun
from .registry import sweeps, tasks

log = logging.getLogger(__name__)

FINISHED = (TaskRun.Status.DONE, TaskRun.Status.FAILED)


def task_enqueue(
    *, kind: str, args: dict[str, Any], parent: TaskRun | None = None, total: int = 0, held: bool = False
) -> TaskRun:
    """Record a run of the task `kind` and hand it to the queue once the surrounding transaction commits
    (at once outside one), so a worker never looks for a run that is not there yet. A `held` child run is
    recorded queued but handed over only by `task_children_release` (its parent's end), or by the sweep of
    a server that starts."""
    if kind not in tasks:
        raise ValueError(f"no task of kind {kind!r} is registered")
    if held and parent is None:
        raise ValueError("only a child run is held, until its parent releases it")
    run = TaskRun.objects.create(kind=kind, args=args, parent=parent, total=total)
    if not held:
        transaction.on_commit(lambda: backends.submit(run.pk, kind))
    return run


def tasks_enqueue(
    *, kind: str, runs: list[tuple[dict[str, Any], int]], parent: TaskRun, held: bool = False
) -> list[TaskRun]:
    """`task_enqueue` of many child runs of one kind at once, [(args, total)]: one INSERT for them all (an
    import's thumbnail runs, a few a batch, cost more through the ORM one by one than its rows)."""
    if kind not in tasks:
        raise ValueError(f"no task of kind {kind!r} is registered")
    made = TaskRun.objects.bulk_create(
        [TaskRun(kind=kind, args=args, parent=parent, total=total) for args, total in runs]
    )
    if not held:
        for run in made:
            transaction.on_commit(lambda pk=run.pk: backends.submit(pk, kind))
    return made


def task_children_release(run: TaskRun) -> int:
    """Hand the run's queued children to the queue once the surrounding transaction commits (those held,
    and any handed over before: taking a run up is atomic, so it still runs once); how many."""
    children = list(
        TaskRun.objects.filter(parent_id=run.pk, status=TaskRun.Status.QUEUED).values_list("pk", "kind")
    )
    for pk, kind in children:
        transaction.on_commit(lambda pk=pk, kind=kind: backends.submit(pk, kind))
    return len(children)


def task_progress(
    run: TaskRun, *, done: int, total: int | None = None, checkpoint: dict[str, Any] | None = None
) -> None:
    """Record how far the run got (and where to resume from); a heartbeat as well. Call it inside the
    transaction of the work it stands for, so the checkpoint and the work commit together."""
    fields: dict[str, Any] = {"done": done, "heartbeat_at": timezone.now()}
    if total is not None:
        fields["total"] = total
    if checkpoint is not None:
        fields["checkpoint"] = checkpoint
        run.checkpoint = checkpoint
    TaskRun.objects.filter(pk=run.pk).update(**fields)


def _stale_before(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.POLYLOG["TASK_STALE_SECONDS"])


def tasks_sweep(*, resubmit_queued: bool = False) -> list[int]:
    """Runs whose worker died (still "running", heartbeat older than POLYLOG["TASK_STALE_SECONDS"]) are
    queued again when their kind is resumable and they have not died POLYLOG["TASK_MAX_ATTEMPTS"] times,
    else marked failed with the reason. With `resubmit_queued`, queued runs the backend no longer holds (the
    embedded pool of a stopped process; a Redis emptied) are handed to it again: taking a run up is atomic
    (apps/tasks/runner.py), so one handed over twice still runs once. Then the apps' housekeeping
    (registry.sweeps). The ids of the runs requeued."""
    now = timezone.now()
    stale = _stale_before(now)
    requeued: list[int] = []
    dead = TaskRun.objects.filter(status=TaskRun.Status.RUNNING).filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale)
    )
    for run in dead:
        seen = run.heartbeat_at.isoformat(timespec="seconds") if run.heartbeat_at else "never"
        why = f"its worker {run.worker or '?'} stopped (last heartbeat {seen})"
        task = tasks.get(run.kind)
        claim = TaskRun.objects.filter(
            pk=run.pk, status=TaskRun.Status.RUNNING, heartbeat_at=run.heartbeat_at
        )
        if task is not None and task.resumable and run.attempts < settings.POLYLOG["TASK_MAX_ATTEMPTS"]:
            with transaction.atomic():
                if claim.update(status=TaskRun.Status.QUEUED, worker="", error=f"resumed: {why}"):
                    requeued.append(run.pk)
                    transaction.on_commit(lambda pk=run.pk, kind=run.kind: backends.submit(pk, kind))
            log.warning("task run %s (%s) resumed: %s", run.pk, run.kind, why)
            continue
        if task is None:
            reason = f"no task of kind {run.kind!r} in this version; {why}"
        elif task.resumable:
            reason = f"given up after {run.attempts} attempts: {why}"
        else:
            reason = f"stopped: {why}"
        if claim.update(status=TaskRun.Status.FAILED, finished_at=now, error=reason):
            log.warning("task run %s (%s) failed: %s", run.pk, run.kind, reason)
            if task is not None and task.on_given_up is not None:
                task.on_given_up(run, reason)
    if resubmit_queued:
        queued = TaskRun.objects.filter(status=TaskRun.Status.QUEUED).values_list("pk", "kind")
        for pk, kind in queued:  # each to its kind's lane
            if backends.backend_name() != "rq" or not backends.rq_submitted(pk, kind):
                backends.submit(pk, kind)
    for housekeeping in sweeps:
        try:
            housekeeping()
        except Exception:  # one app's housekeeping does not stop the sweep of runs, nor the others'
            log.warning("the sweep's %s failed", housekeeping.__qualname__, exc_info=True)
    return requeued


def task_wait(run_id: int, timeout: float, *, poll: float = 0.05) -> TaskRun:
    """Wait until the run and every run it started (its children, theirs...) are done or failed, or
    `timeout` seconds have passed; the run as it is then. Polls the database: the run may be anywhere."""
    deadline = time.monotonic() + timeout
    while True:
        run = TaskRun.objects.get(pk=run_id)
        if run.status in FINISHED and not _unfinished_descendants(run_id):
            return run
        if time.monotonic() > deadline:
            return run
        time.sleep(poll)  # polling the condition, within the deadline


def _unfinished_descendants(run_id: int) -> bool:
    level = [run_id]
    while level:
        children = TaskRun.objects.filter(parent_id__in=level)
        if children.exclude(status__in=FINISHED).exists():
            return True
        level = list(children.values_list("pk", flat=True))
    return False


def task_finish(run_id: int, attempt: int, *, failed: str | None, duration: float) -> bool:
    """Record the end of the run's attempt `attempt`; False when the run is no longer this attempt's (the
    sweep took it for dead meanwhile), which then records nothing."""
    return bool(
        TaskRun.objects.filter(pk=run_id, status=TaskRun.Status.RUNNING, attempts=attempt).update(
            status=TaskRun.Status.FAILED if failed else TaskRun.Status.DONE,
            error=failed or F("error"),
            finished_at=timezone.now(),
            duration=duration,
        )
    )
