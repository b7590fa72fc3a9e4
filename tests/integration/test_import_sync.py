"""The jobs' sync at an import's end (issue 21): it reads the images from the import's first on, the least
id any of its attempts gave an image, so it costs the import's size, not the dataset's, and still makes
whole a job that missed some of the import's batches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.datasets import imports
from apps.datasets.imports import dataset_import_start, import_wait
from apps.datasets.models import DataImport, Image
from apps.labeling.models import Item
from apps.tasks import backends
from apps.tasks.models import TaskRun
from apps.tasks.runner import task_execute
from tests.conftest import import_put, png_bytes
from tests.integration.test_tasks import WorkerDied

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_sync_at_an_imports_end_reads_from_its_first_image_on(job: Any, manager: Any) -> None:
    # An image of the dataset older than the import, without an item in the job: only a sync over the
    # whole dataset would give it one.
    older = Image.objects.create(
        dataset=job.dataset, file="older.png", name="older.png", path="older.png", width=4, height=4
    )
    for n in range(3):
        import_put(f"later/{n}.png", png_bytes(10 + n, 10, (n, 2, 3)))

    record = dataset_import_start(dataset=job.dataset, actor=manager, path="later")
    record = import_wait(record.pk, timeout=60)

    assert (record.status, record.added) == (DataImport.Status.DONE, 3)
    imported = set(
        Image.objects.filter(dataset=job.dataset, path__in=["0.png", "1.png", "2.png"]).values_list(
            "pk", flat=True
        )
    )
    assert (
        set(Item.objects.filter(job=job, image_id__in=imported).values_list("image_id", flat=True))
        == imported
    )
    assert not Item.objects.filter(job=job, image=older).exists()


def test_a_resumed_import_makes_whole_a_job_that_missed_the_batches_of_its_earlier_attempt(
    job: Any, manager: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "IMPORT_BATCH": 2, "TASK_STALE_SECONDS": 30}
    for n in range(6):
        import_put(f"resumed/{n}.png", png_bytes(10 + n, 12, (n, 5, 5)))
    held: list[int] = []
    monkeypatch.setattr(backends, "submit", lambda run_id, kind: held.append(run_id))
    record = dataset_import_start(dataset=job.dataset, actor=manager, path="resumed")
    # The first attempt's batches reach no job (as for a job made meanwhile in a transaction that did not
    # see them), and its worker dies in the third batch.
    monkeypatch.setattr(imports.images_registered, "send", lambda **kwargs: [])
    real_batch, batches = imports._register_batch, []

    def dies_in_the_third_batch(*args: Any) -> None:
        batches.append(1)
        if len(batches) == 3:
            raise WorkerDied()
        real_batch(*args)

    monkeypatch.setattr(imports, "_register_batch", dies_in_the_third_batch)
    with pytest.raises(WorkerDied):
        task_execute(held[0])
    dead = TaskRun.objects.get(pk=held[0])
    first = Image.objects.filter(dataset=job.dataset, path="0.png").values_list("pk", flat=True).get()
    assert dead.checkpoint == {"position": 4, "first_image": first}
    TaskRun.objects.filter(pk=dead.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    monkeypatch.undo()  # the queue works for real from here: the server starts again

    backends.embedded_start().result(timeout=30)
    record = import_wait(record.pk, timeout=60)

    assert (record.status, record.added) == (DataImport.Status.DONE, 6)
    imported = set(
        Image.objects.filter(dataset=job.dataset, path__endswith=".png")
        .exclude(path__contains="/")
        .filter(pk__gte=first)
        .values_list("pk", flat=True)
    )
    assert len(imported) == 6
    assert (
        set(Item.objects.filter(job=job, image_id__in=imported).values_list("image_id", flat=True))
        == imported
    )
