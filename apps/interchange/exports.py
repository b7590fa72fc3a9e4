"""Exports on the queue: one too large to stream in its request is recorded (`export_queue`), made by a task
that writes the zip piece by piece to a temporary file and then to storage (`export_make`), reported on the
job's socket as it goes, and downloadable by the job's members until it expires (`export_file`,
`exports_expire`). The zip is the same as a streamed export's (apps/interchange/export.py)."""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.common.errors import ApiError
from apps.labeling import live
from apps.labeling.models import LabelingJob
from apps.labeling.permissions import READ, job_role, role_require
from apps.labeling.selectors import export_items
from apps.tasks.models import TaskRun
from apps.tasks.registry import sweep, task
from apps.tasks.services import task_enqueue, task_progress

from .export import export_filename, export_stream
from .models import Export

log = logging.getLogger(__name__)

EXPORT_TASK = "interchange.export"
# Progress frames at most this often (a frame also goes at the start and the end).
PROGRESS_EVERY_SECONDS = 0.5


def export_queue(
    *, job: LabelingJob, requested_by: Any, fmt: str, with_images: bool, query: dict[str, Any], total: int
) -> Export:
    """Record the export and its run; the queue takes it once the transaction commits."""
    with transaction.atomic():
        run = task_enqueue(kind=EXPORT_TASK, args={"job_id": job.pk}, total=total)
        return Export.objects.create(
            job=job,
            requested_by=requested_by if getattr(requested_by, "is_authenticated", False) else None,
            format=fmt,
            with_images=with_images,
            query=query,
            run=run,
        )


def export_for(user: Any, export_id: int) -> Export:
    """The export, for a member of its job (any role: every member may export); else 404, as for an id
    that names nothing."""
    export = Export.objects.select_related("run", "job").filter(pk=export_id).first()
    role = job_role(user, export.job_id) if export is not None else None
    role_require(role, READ, f"export {export_id}")
    assert export is not None
    return export


def export_status(export: Export, now: Any = None) -> str:
    """queued, running, done, failed (the run's), or expired (done, and past its expires_at)."""
    if export.expires_at is not None and export.expires_at <= (now or timezone.now()):
        return "expired"
    if export.file:  # the zip is what counts: the run's end is recorded a moment after it
        return "done"
    return export.run.status


def download_url(export: Export) -> str:
    return reverse("export-download", args=[export.pk])


def export_view(export: Export) -> dict[str, Any]:
    """The export as the API shows it (ExportSerializer)."""
    status = export_status(export)
    return {
        "id": export.pk,
        "job": export.job_id,
        "format": export.format,
        "images": export.with_images,
        "status": status,
        "done": export.run.done,
        "total": export.run.total,
        "error": export.run.error if status == TaskRun.Status.FAILED else "",
        "url": reverse("export-detail", args=[export.pk]),
        "download_url": download_url(export) if status == "done" else None,
        "size": export.size if status == "done" else None,
        "created_at": export.created_at,
        "expires_at": export.expires_at,
    }


def export_file(export: Export) -> str:
    """The storage name of the export's zip, if it may be downloaded now; else the refusal: 409 while it
    is being made or when it failed, 410 once it expired (the file is then deleted, if still there)."""
    status = export_status(export)
    if status == "expired":
        export_expire(export)
        raise ApiError(
            410,
            "export_expired",
            f"Export {export.pk} expired at {export.expires_at:%Y-%m-%d %H:%M} UTC; ask again.",
        )
    if status == TaskRun.Status.FAILED:
        raise ApiError(
            409, "export_failed", f"Export {export.pk} failed: {export.run.error or 'no reason given'}"
        )
    if status != "done":
        raise ApiError(
            409,
            "export_not_ready",
            f"Export {export.pk} is {status} ({export.run.done} of {export.run.total}).",
        )
    return export.file


def export_expire(export: Export) -> bool:
    """Delete the expired export's zip and forget its name; False when another sweep did it first."""
    if not export.file or not Export.objects.filter(pk=export.pk, file=export.file).update(file=""):
        return False
    default_storage.delete(export.file)
    export.file = ""
    return True


@sweep
def exports_expire() -> int:
    """With every sweep of the queue: delete the zips of the exports past their expiry. How many."""
    expired = Export.objects.filter(expires_at__lte=timezone.now()).exclude(file="")
    return sum(export_expire(export) for export in expired)


class _Reporter:
    """Records the run's progress and sends the job's sockets an export_progress frame, at most every
    PROGRESS_EVERY_SECONDS."""

    def __init__(self, export: Export, run: TaskRun, total: int) -> None:
        self.export, self.run, self.total = export, run, total
        self.sent_at = 0.0
        self.done = 0

    def __call__(self, done: int, *, status: str = "running", force: bool = False) -> None:
        self.done = done
        now = time.monotonic()
        if not force and now - self.sent_at < PROGRESS_EVERY_SECONDS:
            return
        self.sent_at = now
        task_progress(self.run, done=done, total=self.total)
        self.send(done=done, status=status)

    def send(self, **fields: Any) -> None:
        frame = {"export_id": self.export.pk, "done": 0, "total": self.total, "status": "running"} | fields
        live.export_progress_publish(self.export.job_id, frame)


def _given_up(run: TaskRun, reason: str) -> None:
    export = Export.objects.filter(run=run).first()
    if export is not None:
        live.export_progress_publish(
            export.job_id,
            {
                "export_id": export.pk,
                "done": run.done,
                "total": run.total,
                "status": "failed",
                "error": reason,
            },
        )


@task(EXPORT_TASK, on_given_up=_given_up)
def export_make(run: TaskRun) -> None:
    """Write the export's zip to an anonymous temporary file as it is made (memory holds one chunk of
    items, whatever the job's size), then save it to storage (which copies it in blocks; S3 in parts).
    A run taken up again after its worker died starts over: nothing is stored before the end."""
    export = Export.objects.select_related("job").get(run=run)
    items = export_items(export.job, export.query)
    report = _Reporter(export, run, items.count())
    report(0, force=True)
    try:
        with tempfile.TemporaryFile() as out:
            for chunk in export_stream(
                export.job, items, export.format, with_images=export.with_images, progress=report
            ):
                out.write(chunk)
            size = out.tell()
            out.seek(0)
            name = f"exports/{export.job_id}/{export.pk}/{export_filename(export.job, export.format)}"
            name = default_storage.save(name, File(out, name=name))
    except Exception as error:
        report.send(done=report.done, status="failed", error=f"{type(error).__name__}: {error}"[:2000])
        raise
    expires_at = timezone.now() + timedelta(hours=settings.POLYLOG["EXPORT_TTL_HOURS"])
    with transaction.atomic():
        Export.objects.filter(pk=export.pk).update(file=name, size=size, expires_at=expires_at)
        task_progress(run, done=report.total)
    export.file = name
    report.send(done=report.total, status="done", download_url=download_url(export), size=size)
