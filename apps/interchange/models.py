"""Exports made on the queue: what was asked, the run that makes it, and the zip it left until it expires."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Export(models.Model):
    """One export too large to stream in its request (POLYLOG["EXPORT_QUEUE_ITEMS"] items or more).

    Its progress is its TaskRun's; `file` is the zip's storage name once the run has written it, and is
    emptied when the download expires (`expires_at`) and the file is deleted (apps/interchange/exports.py).
    """

    job = models.ForeignKey("labeling.LabelingJob", on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    format = models.CharField(max_length=20)
    with_images = models.BooleanField(default=False)
    # The validated item filters of the request (ItemListQuerySerializer's), as the items list takes them.
    query = models.JSONField(default=dict, blank=True)
    run = models.OneToOneField("tasks.TaskRun", on_delete=models.CASCADE, related_name="export")
    file = models.CharField(max_length=1024, blank=True)
    size = models.BigIntegerField(default=0, help_text="bytes of the zip")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="set when the zip is written")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["expires_at"], name="export_expires_at")]

    def __str__(self) -> str:
        return f"export #{self.pk} of job {self.job_id} ({self.format})"
