"""The datasets' tasks on the queue: an import (apps/datasets/imports.py) and the thumbnails of a batch of
the images it registered."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db import transaction

from apps.tasks.models import TaskRun
from apps.tasks.registry import task
from apps.tasks.services import task_progress

from .imports import IMPORT_TASK, THUMBNAILS_TASK, _refusal, import_given_up, import_run
from .models import DataImport, Image
from .services import thumbnail_store
from .signals import thumbnails_made

task(IMPORT_TASK, on_given_up=import_given_up)(import_run)


@task(THUMBNAILS_TASK)
def thumbnails_make(run: TaskRun) -> None:
    """Thumbnails for the run's images that have none yet (so a resumed run redoes only the rest), stored,
    then recorded in one transaction. An image that cannot be decoded keeps no thumbnail, and its import
    lists it with the reason: the file was registered from its header, and only decoding finds some damage."""
    images = list(Image.objects.filter(pk__in=run.args["image_ids"], thumbnail=""))
    made: list[Image] = []
    refusals: list[dict[str, str]] = []
    for image in images:
        try:
            with default_storage.open(image.file.name, "rb") as handle:
                content = handle.read()
            image.thumbnail = thumbnail_store(dataset_id=image.dataset_id, path=image.path, content=content)
            made.append(image)
        except Exception as error:  # one image's damage is its own; the batch goes on
            refusals.append({"file": image.path, "reason": f"{_refusal(error)} (found making its thumbnail)"})
    import_id = run.args.get("import_id")
    with transaction.atomic():
        Image.objects.bulk_update(made, ["thumbnail"])
        if refusals and import_id is not None:
            errors = DataImport.objects.select_for_update().values_list("errors", flat=True).get(pk=import_id)
            DataImport.objects.filter(pk=import_id).update(errors=[*errors, *refusals])
        task_progress(run, done=len(run.args["image_ids"]))
    if made:
        dataset_id = made[0].dataset_id
        transaction.on_commit(
            lambda: thumbnails_made.send_robust(
                sender=Image, dataset_id=dataset_id, image_ids=[image.pk for image in made]
            )
        )
