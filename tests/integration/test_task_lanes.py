"""The queue's two lanes (apps/tasks/backends.py): the kinds registered `low` (an import's thumbnails) wait
for every other kind's runs instead of making them wait. Embedded: threads of their own; RQ: a second
queue that `manage.py worker` listens to after the main one (tested on a real Redis)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import django_rq
import pytest
from django.core.management import call_command
from rq.queue import Queue

from apps.datasets.imports import IMPORT_TASK, THUMBNAILS_TASK
from apps.datasets.tasks import SOURCE_FILES_DELETE_TASK
from apps.interchange.exports import EXPORT_TASK
from apps.labeling.tasks import REBUILD_TASK
from apps.tasks import backends
from apps.tasks.models import TaskRun
from apps.tasks.registry import task, tasks
from apps.tasks.services import task_enqueue, task_wait, tasks_sweep
from tests.conftest import service_missing

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_DB = int(os.environ.get("POLYLOG_TEST_REDIS_DB", "9"))  # 9: no other test uses it


def test_thumbnails_are_the_only_kind_in_the_low_priority_lane() -> None:
    assert tasks[THUMBNAILS_TASK].low
    assert not any(
        tasks[kind].low for kind in (IMPORT_TASK, EXPORT_TASK, REBUILD_TASK, SOURCE_FILES_DELETE_TASK)
    )
    assert backends.rq_queue(THUMBNAILS_TASK) == "polylog-low"
    assert backends.rq_queue(IMPORT_TASK) == "polylog"


def test_on_the_embedded_pool_a_run_queued_after_many_low_priority_runs_starts_before_they_end(
    settings: Any,
) -> None:
    release, started = threading.Event(), threading.Event()

    @task("tests.low", low=True)
    def low(run: TaskRun) -> None:
        release.wait(timeout=300)  # held until the test lets it go (the timeout only frees a lost thread)

    @task("tests.normal")
    def normal(run: TaskRun) -> None:
        started.set()

    lows: list[TaskRun] = []
    try:
        # More low-priority runs than threads of either lane: every thread that takes them is held.
        lows = [
            task_enqueue(kind="tests.low", args={}) for _ in range(2 * settings.POLYLOG["TASK_THREADS"] + 2)
        ]
        first = task_enqueue(kind="tests.normal", args={})

        assert started.wait(timeout=120), "the run waited behind the low-priority runs"
        assert task_wait(first.pk, timeout=120).status == TaskRun.Status.DONE
        ended = TaskRun.objects.filter(
            kind="tests.low", status__in=[TaskRun.Status.DONE, TaskRun.Status.FAILED]
        )
        assert not ended.exists()  # none of them has: they wait for `release`
    finally:
        release.set()
        statuses = [task_wait(run.pk, timeout=120).status for run in lows]
        tasks.pop("tests.low")
        tasks.pop("tests.normal")
    assert statuses == [TaskRun.Status.DONE] * len(lows)


# RQ, on a real Redis -------------------------------------------------------------------------------------


@pytest.fixture
def rq(settings: Any) -> Iterator[str]:
    """The RQ backend, its two queues on an emptied Redis database (which is emptied again after)."""
    from tests.live_servers import Unavailable, redis_flushed

    try:
        url = redis_flushed(REDIS_DB)
    except Unavailable as exc:
        service_missing(exc, "Redis on its standard local port")
    settings.RQ_QUEUES = {name: {**settings.RQ_QUEUES[name], "URL": url} for name in settings.RQ_QUEUES}
    settings.POLYLOG = {**settings.POLYLOG, "TASK_BACKEND": "rq"}
    yield url
    redis_flushed(REDIS_DB)


def queued(name: str) -> list[str]:
    return django_rq.get_queue(name).get_job_ids()


def test_on_rq_thumbnail_runs_go_to_the_low_priority_queue_and_the_others_to_the_main_one(rq: str) -> None:
    thumbnails = task_enqueue(kind=THUMBNAILS_TASK, args={"image_ids": []})
    deletion = task_enqueue(kind=SOURCE_FILES_DELETE_TASK, args={"files": []})

    assert queued("polylog-low") == [backends.rq_job_id(thumbnails.pk)]
    assert queued("polylog") == [backends.rq_job_id(deletion.pk)]


def test_the_worker_takes_from_the_main_queue_first(rq: str, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Any] = []
    get_worker = django_rq.get_worker

    def worker_not_working(*names: str, **options: Any) -> Any:
        worker = get_worker(*names, **options)
        worker.work = lambda **how: made.append(worker)  # the test takes the jobs itself
        return worker

    monkeypatch.setattr(django_rq, "get_worker", worker_not_working)
    thumbnails = task_enqueue(kind=THUMBNAILS_TASK, args={"image_ids": []})  # queued first
    deletion = task_enqueue(kind=SOURCE_FILES_DELETE_TASK, args={"files": []})

    call_command("worker", burst=True)

    [worker] = made
    assert worker.queue_names() == ["polylog", "polylog-low"]
    taken = [Queue.dequeue_any(worker.queues, None, connection=worker.connection) for _ in range(3)]
    assert [(job.id, queue.name) for job, queue in taken[:2]] == [
        (backends.rq_job_id(deletion.pk), "polylog"),
        (backends.rq_job_id(thumbnails.pk), "polylog-low"),
    ]
    assert taken[2] is None


def test_the_sweep_hands_a_queued_run_whose_job_vanished_to_its_kinds_queue_once(rq: str) -> None:
    thumbnails = task_enqueue(kind=THUMBNAILS_TASK, args={"image_ids": []})
    deletion = task_enqueue(kind=SOURCE_FILES_DELETE_TASK, args={"files": []})
    django_rq.get_connection("polylog").flushdb()  # Redis lost their jobs (emptied, or a new instance)
    kept = task_enqueue(kind=THUMBNAILS_TASK, args={"image_ids": []})  # queued after: RQ holds its job

    tasks_sweep(resubmit_queued=True)
    tasks_sweep(resubmit_queued=True)

    assert backends.rq_submitted(thumbnails.pk, THUMBNAILS_TASK)
    assert sorted(queued("polylog-low")) == sorted(backends.rq_job_id(run.pk) for run in (thumbnails, kept))
    assert queued("polylog") == [backends.rq_job_id(deletion.pk)]
