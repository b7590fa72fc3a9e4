"""The task queue in the embedded setup (no Redis): every run is a record with progress; a run whose worker
died is resumed from its checkpoint (imports: exact counts) or marked failed with its reason at the next
start, never left "running"; imports register images first and queue their thumbnails in batches."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image as PILImage

from apps.datasets import imports
from apps.datasets.imports import IMPORT_TASK, THUMBNAILS_TASK, dataset_import_start, import_wait
from apps.datasets.models import DataImport, Image
from apps.tasks import backends
from apps.tasks.models import TaskRun
from apps.tasks.queue import queue_check, queue_depth
from apps.tasks.registry import task, tasks
from apps.tasks.runner import task_execute
from apps.tasks.services import task_enqueue, task_wait, tasks_sweep
from tests.conftest import import_put, png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def jpeg_bytes(width: int, height: int, shade: int) -> bytes:
    data = io.BytesIO()
    PILImage.new("RGB", (width, height), (shade, 90, 200 - shade)).save(data, format="JPEG", quality=80)
    return data.getvalue()


class WorkerDied(BaseException):
    """Stands for a SIGKILL: not an Exception, so nothing records the end of the run."""


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Runs handed to the queue are held here instead of executed, so a test runs them itself."""
    submitted: list[int] = []
    monkeypatch.setattr(backends, "submit", lambda run_id, kind: submitted.append(run_id))
    return submitted


def test_a_run_whose_worker_died_mid_import_is_resumed_at_the_next_start_with_exact_counts(
    dataset: Any, manager: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, held: list[int]
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "IMPORT_BATCH": 3, "TASK_STALE_SECONDS": 30}
    for n in range(10):
        import_put(f"many/{n:02d}.jpg", jpeg_bytes(40, 30, n * 20))
    record = dataset_import_start(dataset=dataset, actor=manager, path="many")
    real_batch = imports._register_batch
    batches = 0

    def dies_in_the_third_batch(*args: Any) -> None:
        nonlocal batches
        batches += 1
        if batches == 3:
            raise WorkerDied()
        real_batch(*args)

    monkeypatch.setattr(imports, "_register_batch", dies_in_the_third_batch)
    with pytest.raises(WorkerDied):
        task_execute(held[0])
    dead = TaskRun.objects.get(pk=held[0])
    assert dead.status == TaskRun.Status.RUNNING and dead.checkpoint["position"] == 6
    TaskRun.objects.filter(pk=dead.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    monkeypatch.setattr(imports, "_register_batch", real_batch)
    monkeypatch.undo()  # the queue works for real from here: the server starts again

    backends.embedded_start().result(timeout=30)
    record = import_wait(record.pk, timeout=60)

    run = TaskRun.objects.get(pk=dead.pk)
    assert (run.status, run.attempts, run.done, run.total) == (TaskRun.Status.DONE, 2, 10, 10)
    assert run.error.startswith("resumed: its worker")
    assert (record.status, record.total, record.processed) == (DataImport.Status.DONE, 10, 10)
    assert (record.added, record.duplicates, record.failed) == (10, 0, 0)
    assert dataset.images.filter(path__endswith=".jpg").count() == 10
    assert not dataset.images.filter(thumbnail="").exists()


def test_a_run_that_is_not_resumable_is_marked_failed_with_the_reason_when_swept(db: Any) -> None:
    @task("tests.once", resumable=False)
    def once(run: TaskRun) -> None:  # never runs: its worker "died" before
        raise AssertionError("a dead run is not run again")

    try:
        run = TaskRun.objects.create(
            kind="tests.once",
            status=TaskRun.Status.RUNNING,
            worker="host:123:polylog-task_0",
            attempts=1,
            heartbeat_at=timezone.now() - timedelta(minutes=5),
        )

        assert tasks_sweep() == []

        run.refresh_from_db()
        assert run.status == TaskRun.Status.FAILED
        assert run.error.startswith("stopped: its worker host:123:polylog-task_0 stopped (last heartbeat")
        assert run.finished_at is not None
    finally:
        tasks.pop("tests.once")


def test_an_import_whose_worker_died_too_often_fails_with_the_reason_and_its_counts(
    dataset: Any, manager: Any, settings: Any, held: list[int]
) -> None:
    import_put("once/a.png", png_bytes(12, 12, (1, 2, 3)))
    record = dataset_import_start(dataset=dataset, actor=manager, path="once")
    DataImport.objects.filter(pk=record.pk).update(status=DataImport.Status.RUNNING, total=1)
    TaskRun.objects.filter(pk=held[0]).update(
        status=TaskRun.Status.RUNNING,
        attempts=settings.POLYLOG["TASK_MAX_ATTEMPTS"],
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )

    tasks_sweep()

    run = TaskRun.objects.get(pk=held[0])
    record.refresh_from_db()
    assert run.status == TaskRun.Status.FAILED and run.error.startswith("given up after 3 attempts")
    assert record.status == DataImport.Status.FAILED
    assert record.errors[-1]["reason"].startswith("the import stopped: given up after 3 attempts")


def test_a_run_with_a_fresh_heartbeat_is_left_to_its_worker(db: Any) -> None:
    run = TaskRun.objects.create(kind=IMPORT_TASK, status=TaskRun.Status.RUNNING, heartbeat_at=timezone.now())

    assert tasks_sweep() == []

    run.refresh_from_db()
    assert run.status == TaskRun.Status.RUNNING


def test_a_run_handed_to_two_workers_runs_once(db: Any, held: list[int]) -> None:
    calls: list[int] = []

    @task("tests.count")
    def count(run: TaskRun) -> None:
        calls.append(run.pk)

    try:
        run = task_enqueue(kind="tests.count", args={})
        task_execute(run.pk)
        task_execute(run.pk)

        run.refresh_from_db()
        assert calls == [run.pk]
        assert run.status == TaskRun.Status.DONE and run.attempts == 1
        assert run.duration is not None and run.duration >= 0
    finally:
        tasks.pop("tests.count")


def test_a_failing_task_is_recorded_failed_with_its_error(db: Any, held: list[int]) -> None:
    @task("tests.boom")
    def boom(run: TaskRun) -> None:
        raise ValueError("no such thing")

    try:
        run = task_enqueue(kind="tests.boom", args={})
        task_execute(run.pk)

        run.refresh_from_db()
        assert (run.status, run.error) == (TaskRun.Status.FAILED, "ValueError: no such thing")
    finally:
        tasks.pop("tests.boom")


def test_an_unknown_kind_is_refused_at_enqueue(db: Any) -> None:
    with pytest.raises(ValueError, match="no task of kind 'tests.nothing'"):
        task_enqueue(kind="tests.nothing", args={})

    assert not TaskRun.objects.exists()


def test_the_queue_depth_counts_waiting_runs_and_the_check_names_an_unswept_dead_run(
    db: Any, held: list[int]
) -> None:
    task_enqueue(kind=THUMBNAILS_TASK, args={"image_ids": []})
    task_enqueue(kind=THUMBNAILS_TASK, args={"image_ids": []})

    assert queue_depth() == 2
    assert queue_check() is None

    TaskRun.objects.create(
        kind=IMPORT_TASK, status=TaskRun.Status.RUNNING, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    assert queue_check() == "a task run has had no heartbeat for 60 s and no worker swept it"


# Imports: registered first, thumbnails after ----------------------------------------------------------


def test_an_import_registers_images_before_their_thumbnails_which_come_in_batches(
    dataset: Any, job: Any, manager: Any, manager_api: Any, settings: Any, held: list[int]
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "THUMBNAIL_BATCH": 4}
    for n in range(10):
        import_put(f"batch/{n:02d}.jpg", jpeg_bytes(64, 48, n * 10))
    record = dataset_import_start(dataset=dataset, actor=manager, path="batch")

    task_execute(held[0])

    added = dataset.images.filter(path__endswith=".jpg")
    assert added.count() == 10 and not added.exclude(thumbnail="").exists()
    assert sorted((i.width, i.height) for i in added) == [(64, 48)] * 10
    children = list(TaskRun.objects.filter(parent_id=held[0]).order_by("pk"))
    assert [(c.kind, len(c.args["image_ids"])) for c in children] == [(THUMBNAILS_TASK, n) for n in (4, 4, 2)]
    listed = manager_api.get(f"/api/jobs/{job.pk}/items/?page_size=100").json()["results"]
    pending = [i["image"] for i in listed if i["image"]["path"].endswith(".jpg")]
    assert len(pending) == 10 and all(image["thumbnail_url"] is None for image in pending)

    for child in children:
        task_execute(child.pk)

    assert task_wait(held[0], timeout=5).status == TaskRun.Status.DONE
    assert not added.filter(thumbnail="").exists()
    assert all(default_storage.exists(image.thumbnail.name) for image in added)
    record.refresh_from_db()
    assert (record.status, record.added) == (DataImport.Status.DONE, 10)


def test_damage_that_only_decoding_finds_is_listed_on_the_import_and_the_image_has_no_thumbnail(
    dataset: Any, manager: Any, held: list[int]
) -> None:
    whole = jpeg_bytes(400, 300, 7)
    import_put("cut/half.jpg", whole[: len(whole) * 3 // 4])  # its header is whole: registered
    import_put("cut/whole.jpg", jpeg_bytes(64, 48, 99))
    record = dataset_import_start(dataset=dataset, actor=manager, path="cut")

    task_execute(held[0])
    for child in TaskRun.objects.filter(parent_id=held[0]):
        task_execute(child.pk)

    record.refresh_from_db()
    assert (record.added, record.failed) == (2, 0)
    [error] = record.errors
    assert error["file"] == "half.jpg"
    assert error["reason"].startswith("truncated or damaged image: image file is truncated")
    assert error["reason"].endswith("(found making its thumbnail)")
    assert Image.objects.get(dataset=dataset, path="half.jpg").thumbnail == ""
    assert Image.objects.get(dataset=dataset, path="whole.jpg").thumbnail != ""


def test_files_already_in_the_dataset_are_found_per_batch_not_per_file(
    dataset: Any, manager: Any, settings: Any, held: list[int], django_assert_max_num_queries: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "IMPORT_BATCH": 50, "THUMBNAIL_BATCH": 50}
    for n in range(40):
        import_put(f"bulk/{n:02d}.png", png_bytes(8, 8, (n, n, n)))
    dataset_import_start(dataset=dataset, actor=manager, path="bulk")

    # Forty files in one batch: a bounded number of statements, not two or three per file. (Three of them
    # record the run's end with its duration, one upsert in its transaction: apps/tasks/durations.py; one
    # finds the thumbnail runs held until the import's end, to hand them to the embedded pool.)
    with django_assert_max_num_queries(24):
        task_execute(held[0])

    assert dataset.images.count() == 3 + 40  # the fixture's three, and these


def test_a_sweep_round_resumes_a_run_that_died_while_the_server_lives(
    dataset: Any, manager: Any, settings: Any, held: list[int]
) -> None:
    import_put("later/a.png", png_bytes(12, 12, (1, 2, 9)))
    record = dataset_import_start(dataset=dataset, actor=manager, path="later")
    TaskRun.objects.filter(pk=held[0]).update(
        status=TaskRun.Status.RUNNING, attempts=1, heartbeat_at=timezone.now() - timedelta(minutes=5)
    )

    backends.sweep_round()  # what the server's sweeping thread does every POLYLOG["TASK_SWEEP_SECONDS"]

    assert held == [held[0], held[0]]  # handed to the queue again
    assert TaskRun.objects.get(pk=held[0]).status == TaskRun.Status.QUEUED
    task_execute(held[0])
    record.refresh_from_db()
    assert (record.status, record.added) == (DataImport.Status.DONE, 1)
