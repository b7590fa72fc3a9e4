"""Running one task run, in whichever worker took it: claim it, keep its heartbeat, record its end."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from .durations import task_duration_record
from .models import TaskRun
from .registry import tasks
from .services import task_finish

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


class Heartbeat:
    """A thread that writes the run's heartbeat_at every POLYLOG["TASK_HEARTBEAT_SECONDS"] while it runs,
    so a long step (one big file) does not look like a dead worker."""

    def __init__(self, run_id: int, attempt: int) -> None:
        self.run_id, self.attempt = run_id, attempt
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def _beat(self) -> None:
        interval = settings.POLYLOG["TASK_HEARTBEAT_SECONDS"]
        try:
            while not self.stopped.wait(interval):
                TaskRun.objects.filter(
                    pk=self.run_id, status=TaskRun.Status.RUNNING, attempts=self.attempt
                ).update(heartbeat_at=timezone.now())
        except Exception:  # a missed beat is survivable; the sweep's margin is several beats
            log.warning("heartbeat of task run %s stopped", self.run_id, exc_info=True)
        finally:
            connection.close()

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()


def task_execute(run_id: int) -> None:
    """Run the task run `run_id` if it is still queued: taken up with one conditional UPDATE, so of two
    workers handed the same run only one runs it."""
    now = timezone.now()
    claimed = TaskRun.objects.filter(pk=run_id, status=TaskRun.Status.QUEUED).update(
        status=TaskRun.Status.RUNNING,
        worker=worker_name()[:200],
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return
    run = TaskRun.objects.get(pk=run_id)
    task = tasks.get(run.kind)
    started = time.monotonic()
    with Heartbeat(run_id, run.attempts):
        try:
            if task is None:
                raise LookupError(f"no task of kind {run.kind!r} is registered")
            task.function(run)
        except Exception as error:
            log.exception("task run %s (%s) failed", run_id, run.kind)
            failed: str | None = f"{type(error).__name__}: {error}"[:2000]
        else:
            failed = None
    seconds = time.monotonic() - started
    with transaction.atomic():  # the run's end and its count in the durations, together
        if task_finish(run_id, run.attempts, failed=failed, duration=seconds):
            status = TaskRun.Status.FAILED if failed else TaskRun.Status.DONE
            task_duration_record(kind=run.kind, status=status, seconds=seconds)
