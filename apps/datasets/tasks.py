"""The datasets' tasks on the queue: an import (apps/datasets/imports.py), the thumbnails of a batch of
the images it registered, and the deletion of source files whose images were deleted."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction

from apps.tasks.models import TaskRun
from apps.tasks.registry import task
from apps.tasks.services import task_enqueue, task_progress

from .imports import IMPORT_TASK, THUMBNAILS_TASK, _refusal, import_given_up, import_run
from .models import DataImport, Image
from .services import thumbnail_store
from .signals import thumbnails_made

task(IMPORT_TASK, on_given_up=import_given_up)(import_run)

SOURCE_FILES_DELETE_TASK = "source_files_delete"
# Files deleted between two progress records (a resumed run asks storage again about at most these).
DELETE_PROGRESS_EVERY = 50
# Failures a run's error names (the rest are counted).
FAILURES_NAMED = 20


class SourceFilesNotDeleted(Exception):
    """Some files could not be deleted: the run fails with each one's reason, after trying them all."""


def source_files_delete_later(*, names: list[str], why: dict[str, Any]) -> TaskRun:
    """Queue the deletion of stored files (sources and thumbnails) once the surrounding transaction
    commits: a request answers without waiting on storage (an S3 bucket: a round trip per file), and files
    are never removed for a change that rolled back. `why` names what asked for it (a deletion's id)."""
    return task_enqueue(kind=SOURCE_FILES_DELETE_TASK, args={"files": names, **why}, total=len(names))


@task(SOURCE_FILES_DELETE_TASK)
def source_files_delete(run: TaskRun) -> None:
    """Delete the run's files from storage, from where its checkpoint says it got (a file already gone is
    done). A file that cannot be deleted does not stop the others; the run then fails naming each with its
    reason, and the files stay where they are for an operator to look at."""
    names: list[str] = run.args["files"]
    position = run.checkpoint.get("position", 0)
    failures: list[dict[str, str]] = list(run.checkpoint.get("failures", []))
    for name in names[position:]:
        try:
            if default_storage.exists(name):
                default_storage.delete(name)
        except Exception as error:  # storage's errors vary by backend (OSError, botocore's ClientError)
            failures.append({"file": name, "reason": f"{type(error).__name__}: {error}"})
        position += 1
        if position % DELETE_PROGRESS_EVERY == 0:
            task_progress(run, done=position, checkpoint={"position": position, "failures": failures})
    task_progress(run, done=position, checkpoint={"position": position, "failures": failures})
    if failures:
        named = "; ".join(f"{f['file']} ({f['reason']})" for f in failures[:FAILURES_NAMED])
        more = f"; and {len(failures) - FAILURES_NAMED} more" if len(failures) > FAILURES_NAMED else ""
        raise SourceFilesNotDeleted(
            f"{len(failures)} of {len(names)} files could not be deleted: {named}{more}"
        )


@task(THUMBNAILS_TASK, low=True)  # nobody waits on them: every other kind's runs go first
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
