"""Datasets and the images in storage that they hold."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Dataset(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Image(models.Model):
    """One image file in storage; `path` is its place inside the dataset, `file` its storage name."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(max_length=1024)
    thumbnail = models.FileField(max_length=1024, blank=True)
    name = models.CharField(max_length=255)
    path = models.CharField(max_length=1024)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # No index of its own: every question about a checksum is asked within a dataset, which
    # image_checksum_in_dataset answers; one over every image's checksum was half the cost of an import's
    # INSERT (a random key into an index of the whole table, for each row).
    checksum = models.CharField(max_length=64, help_text="sha256 of the file's bytes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "path"], name="image_path_unique_in_dataset")
        ]
        # An import asks "is this file already in the dataset?" per file; on its own, the checksum index
        # lost to the dataset's foreign-key index in SQLite's plans, a scan of the whole dataset each time.
        indexes = [models.Index(fields=["dataset", "checksum"], name="image_checksum_in_dataset")]

    def __str__(self) -> str:
        return self.path


class DataImport(models.Model):
    """One "Add data": who brought which files into a dataset, how it went, file by file."""

    class Source(models.TextChoices):
        UPLOAD = "upload", "Upload"
        PATH = "path", "Path in storage"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="imports")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    path = models.CharField(
        max_length=1024, blank=True, help_text="folder or prefix in storage (path imports)"
    )
    labeled = models.BooleanField(default=False, help_text="whether the imported items come labeled")

    class Format(models.TextChoices):
        NONE = "", "Images only"
        COCO = "coco", "COCO instances JSON"
        LABELME = "labelme", "LabelMe JSON folder"
        CVAT = "cvat", "CVAT for images 1.1 XML"

    format = models.CharField(
        max_length=20, choices=Format.choices, blank=True, default="", help_text="labeled imports: the format"
    )
    # The job whose items receive a labeled import's shapes. A plain id, not a foreign key: datasets do
    # not depend on labeling (the labeling side checks it when the import starts).
    job_id = models.PositiveBigIntegerField(null=True, blank=True)
    objects_added = models.PositiveIntegerField(default=0, help_text="labeled imports: objects stored")
    objects_refused = models.PositiveIntegerField(default=0, help_text="labeled imports: records refused")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(
        default=list,
        blank=True,
        help_text="[{file, reason}] of refused files, [{file, record, code, reason}] of records",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The queue's record of the import's work (apps/tasks); its children make the thumbnails.
    task_run = models.ForeignKey(
        "tasks.TaskRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"import {self.pk} into {self.dataset} ({self.status})"
