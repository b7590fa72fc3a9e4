"""The labeling app's tasks on the queue: rebuilding the projections from the event log."""

from __future__ import annotations

from typing import Any

from apps.tasks.models import TaskRun
from apps.tasks.registry import task
from apps.tasks.services import task_enqueue, task_progress

from .projections import Report, projections_items, projections_rebuild

REBUILD_TASK = "rebuild_projections"
# Items between two progress records when nothing differed; an item that differed is recorded at once, so
# a resumed run redoes only items that had nothing to repair, and its report stays exact.
PROGRESS_EVERY = 200


def rebuild_enqueue(*, repair: bool, item_ids: list[int] | None = None) -> TaskRun:
    """Queue a rebuild of the projections (all items, or `item_ids`); the run's checkpoint holds its report
    (rebuild_report)."""
    args: dict[str, Any] = {"repair": repair, "item_ids": sorted(set(item_ids)) if item_ids else None}
    return task_enqueue(kind=REBUILD_TASK, args=args)


def rebuild_report(run: TaskRun) -> Report:
    """What the run has found (and repaired) so far: items and events replayed, differences."""
    return Report.from_stored(run.checkpoint)


@task(REBUILD_TASK)
def rebuild_run(run: TaskRun) -> None:
    """The rebuild task: replay every item after the checkpoint's last one, recording progress and the
    report with each item's repair (apps/labeling/projections.py), then the jobs' tallies."""
    item_ids = run.args.get("item_ids")
    resume = rebuild_report(run) if run.checkpoint else None
    total = projections_items(item_ids).count()
    task_progress(run, done=resume.items if resume else 0, total=total)
    since = 0

    def on_item(report: Report, differed: bool) -> None:
        nonlocal since
        since += 1
        if differed or since >= PROGRESS_EVERY:
            since = 0
            task_progress(run, done=report.items, checkpoint=report.stored())

    report = projections_rebuild(
        repair=run.args.get("repair", True), item_ids=item_ids, resume=resume, on_item=on_item
    )
    task_progress(run, done=report.items, total=max(total, report.items), checkpoint=report.stored())
