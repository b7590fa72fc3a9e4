"""rebuild_projections on the task queue (apps/labeling/tasks.py): the command queues the repair and waits for
it, the run records its progress and its report, and a run whose worker died goes on from its checkpoint
to an exact report when the sweep hands it back to the queue."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.labeling import projections, tasks
from apps.labeling.models import Item, JobTally
from apps.labeling.tasks import REBUILD_TASK, rebuild_report
from apps.tasks import backends
from apps.tasks.models import TaskRun
from apps.tasks.runner import task_execute
from apps.tasks.services import tasks_sweep

pytestmark = pytest.mark.django_db(transaction=True)


class WorkerDied(BaseException):
    """Stands for a SIGKILL: not an Exception, so nothing records the end of the run."""


def run_command(*args: str) -> str:
    out = io.StringIO()
    call_command("rebuild_projections", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Runs handed to the queue are held here instead of executed, so a test runs them itself."""
    submitted: list[int] = []
    monkeypatch.setattr(backends, "submit", lambda run_id, kind: submitted.append(run_id))
    return submitted


def test_the_command_queues_the_repair_waits_for_it_and_prints_its_report(job: Any, items: list[Any]) -> None:
    drifted = items[1]
    Item.objects.filter(pk=drifted.pk).update(shape_count=99)

    output = run_command()  # the embedded pool runs it: a thread of this process, another connection

    run = TaskRun.objects.get(kind=REBUILD_TASK)
    assert output.splitlines()[0] == f"task run #{run.pk} queued: {REBUILD_TASK}"
    assert f"item {drifted.pk}: shape_count is 99, the log says 0" in output
    assert output.splitlines()[-1] == "3 items, 0 events replayed; 1 differences repaired"
    assert (run.status, run.done, run.total, run.attempts) == (TaskRun.Status.DONE, 3, 3, 1)
    assert run.duration is not None
    assert Item.objects.get(pk=drifted.pk).shape_count == 0


def test_no_wait_leaves_the_run_queued_and_says_which_it_is(
    job: Any, items: list[Any], held: list[int]
) -> None:
    output = run_command("--no-wait", "--item", str(items[0].pk))

    run = TaskRun.objects.get(pk=held[0])
    assert output.strip() == f"task run #{run.pk} queued: {REBUILD_TASK}"
    assert (run.kind, run.status, run.args) == (
        REBUILD_TASK,
        TaskRun.Status.QUEUED,
        {
            "repair": True,
            "item_ids": [items[0].pk],
        },
    )


def test_a_rebuild_whose_worker_died_is_resumed_after_its_last_checkpoint_with_an_exact_report(
    job: Any, items: list[Any], held: list[int], monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "TASK_STALE_SECONDS": 30}
    first, second, third = sorted(items, key=lambda item: item.pk)
    Item.objects.filter(pk__in=[first.pk, third.pk]).update(shape_count=7)
    JobTally.objects.filter(job=job, key="items").update(count=40)
    monkeypatch.setattr(tasks, "PROGRESS_EVERY", 10)  # the item that differed is recorded all the same
    real_rebuild = projections.item_rebuild
    replayed: list[int] = []

    def dies_at_the_third_item(item: Any, report: Any, *, repair: bool) -> None:
        replayed.append(item.pk)
        if item.pk == third.pk and replayed.count(third.pk) == 1:
            raise WorkerDied()
        real_rebuild(item, report, repair=repair)

    monkeypatch.setattr(projections, "item_rebuild", dies_at_the_third_item)
    run_command("--no-wait")
    with pytest.raises(WorkerDied):
        task_execute(held[0])

    dead = TaskRun.objects.get(pk=held[0])
    assert dead.status == TaskRun.Status.RUNNING
    assert (dead.done, dead.total, dead.checkpoint["last_item_id"]) == (1, 3, first.pk)
    assert Item.objects.get(pk=first.pk).shape_count == 0  # committed with its checkpoint
    TaskRun.objects.filter(pk=dead.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))

    assert tasks_sweep() == [dead.pk]
    task_execute(dead.pk)

    run = TaskRun.objects.get(pk=dead.pk)
    report = rebuild_report(run)
    assert (run.status, run.attempts, run.done, run.total) == (TaskRun.Status.DONE, 2, 3, 3)
    assert run.error.startswith("resumed: its worker")
    # The second item was replayed twice (after the checkpoint, before the death): it differed in neither.
    assert replayed == [first.pk, second.pk, third.pk, second.pk, third.pk]
    assert report.items == 3
    assert report.differences == [
        f"item {first.pk}: shape_count is 7, the log says 0",
        f"item {third.pk}: shape_count is 7, the log says 0",
        f"job {job.pk}: tally items is 40, the log says 3",  # recounted: the first attempt's tallies are gone
    ]
    assert set(Item.objects.values_list("shape_count", flat=True)) == {0}
    assert JobTally.objects.get(job=job, key="items").count == 3


def test_a_failed_rebuild_fails_the_command_with_the_runs_error(
    job: Any, items: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(item: Any, report: Any, *, repair: bool) -> None:
        raise ValueError("unknown snapshot format 'v0'")

    monkeypatch.setattr(projections, "item_rebuild", broken)

    with pytest.raises(Exception, match=r"task run #\d+ failed: ValueError: unknown snapshot format 'v0'"):
        run_command()

    assert TaskRun.objects.get(kind=REBUILD_TASK).status == TaskRun.Status.FAILED
