"""`manage.py worker`: one RQ worker (django-rq) on polylog's queues, the main one first (RQ takes a job
from the first queue that has one, so the low-priority lane's thumbnails wait for every other kind), which
first sweeps the runs a dead worker left and keeps sweeping while it works."""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from apps.tasks import backends
from apps.tasks.services import tasks_sweep

log = logging.getLogger(__name__)


def _sweep_forever(stop: threading.Event) -> None:
    # Another worker's death is noticed here too, not only when a worker starts.
    while not stop.wait(settings.POLYLOG["TASK_SWEEP_SECONDS"] or 60):
        if settings.POLYLOG["TASK_SWEEP_SECONDS"]:
            backends.sweep_round()


class Command(BaseCommand):
    help = "Run a queue worker (RQ over REDIS_URL): imports, thumbnails and the other background tasks."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--burst", action="store_true", help="exit once the queue is empty")
        parser.add_argument("--name", default=None, help="the worker's name (default: RQ's)")

    def handle(self, *args: Any, burst: bool, name: str | None, **options: Any) -> None:
        if backends.backend_name() != "rq":
            raise CommandError(
                "Tasks run inside the server in the embedded setup; set REDIS_URL to run queue workers."
            )
        import django_rq
        from rq.logutils import setup_loghandlers

        setup_loghandlers("INFO")
        requeued = tasks_sweep(resubmit_queued=True)
        if requeued:
            self.stdout.write(f"resumed task runs {requeued}")
        stop = threading.Event()
        sweeper = threading.Thread(target=_sweep_forever, args=(stop,), name="task-sweep", daemon=True)
        sweeper.start()
        for alias in connections:  # the work horses RQ forks must not share this process's connections
            connections[alias].close()
        try:
            worker = django_rq.get_worker(*backends.RQ_QUEUES, name=name)
            worker.work(burst=burst, logging_level="INFO")
        finally:
            stop.set()
