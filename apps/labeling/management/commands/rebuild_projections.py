"""Replay every stream, compare with stored snapshots and read models, report and repair differences.

A repair runs as a task on the queue (apps/labeling/tasks.py), recorded as a TaskRun with its progress and
resumed if its worker dies; the command waits for it unless told not to. `--now` runs it here instead, and
`--check` (which changes nothing, and whose answer is its exit status) always runs here.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.labeling.projections import Report, projections_rebuild
from apps.labeling.tasks import rebuild_enqueue, rebuild_report
from apps.tasks.models import TaskRun
from apps.tasks.services import FINISHED

# How often the waiting command looks at the run, and says how far it got when that changed.
POLL_SECONDS = 0.2
PROGRESS_SECONDS = 5.0


class Command(BaseCommand):
    help = (
        "Rebuild snapshots and read models from the event log; report every difference and repair it. The"
        " repair runs on the task queue (the command waits for it); --now runs it in this process."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--check", action="store_true", help="report only, in this process; exit 1 on any difference"
        )
        parser.add_argument(
            "--item", type=int, action="append", dest="items", help="only this item (repeatable)"
        )
        parser.add_argument("--now", action="store_true", help="repair in this process, not on the queue")
        parser.add_argument(
            "--no-wait", action="store_true", help="queue the repair and exit, printing the task run's id"
        )

    def handle(
        self, *args: Any, check: bool, items: list[int] | None, now: bool, no_wait: bool, **options: Any
    ) -> None:
        if check or now:
            self.report(projections_rebuild(repair=not check, item_ids=items), check=check)
            return
        run = rebuild_enqueue(repair=True, item_ids=items)
        self.stdout.write(f"task run #{run.pk} queued: {run.kind}")
        if no_wait:
            return
        run = self.wait(run.pk)
        if run.status == TaskRun.Status.FAILED:
            raise CommandError(f"task run #{run.pk} failed: {run.error}")
        self.report(rebuild_report(run), check=False)

    def wait(self, run_id: int) -> TaskRun:
        """Until the run ends, saying now and then how far it got; Ctrl+C stops the waiting, not the run
        (it goes on where it is queued)."""
        said, said_at = None, time.monotonic()
        try:
            while True:
                run = TaskRun.objects.get(pk=run_id)
                if run.status in FINISHED:
                    return run
                progress = (run.status, run.done, run.total)
                if progress != said and time.monotonic() - said_at >= PROGRESS_SECONDS:
                    self.stdout.write(f"task run #{run_id}: {run.status}, {run.done} of {run.total} items")
                    said, said_at = progress, time.monotonic()
                time.sleep(POLL_SECONDS)  # polling the run's record: its worker may be anywhere
        except KeyboardInterrupt:
            raise CommandError(
                f"stopped waiting; task run #{run_id} goes on (see Task runs in the admin)"
            ) from None

    def report(self, report: Report, *, check: bool) -> None:
        for line in report.differences:
            self.stdout.write(line)
        if report.more_differences:
            self.stdout.write(f"... and {report.more_differences} more")
        verb = "found" if check else "repaired"
        self.stdout.write(
            f"{report.items} items, {report.events} events replayed;"
            f" {report.difference_count} differences {verb}"
        )
        if check and report.difference_count:
            raise CommandError(f"{report.difference_count} differences between the log and its projections")
