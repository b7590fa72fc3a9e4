"""Task runs: one record per piece of background work, with its progress, its worker and its heartbeat."""

from __future__ import annotations

from django.db import models


class TaskRun(models.Model):
    """One run of a registered task function (apps/tasks/registry.py) on the queue.

    `heartbeat_at` is written by the running task every few seconds; a run still "running" whose heartbeat
    is older than POLYLOG["TASK_STALE_SECONDS"] lost its worker, and the sweep resumes it (a resumable kind)
    or marks it failed with the reason. `checkpoint` is where a resumable task keeps how far it got, written
    in the same transaction as the work it stands for.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=100)
    args = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    checkpoint = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="how many times a worker took it up")
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="seconds from the last start to the end")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="taskrun_status_heartbeat")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"


class TaskDuration(models.Model):
    """How long finished task runs took, as the cumulative buckets of a Prometheus histogram
    (apps/tasks/durations.py): per kind and status, one row per upper bound `le` ("0.05", ..., "+Inf"),
    counting the runs that took at most that long and the sum of their seconds; the "+Inf" row holds the
    count and sum of all. Added to in the transaction that records a run's end, wherever it ran. /metrics
    reads these rows, so a scrape of any web process shows the durations of runs that RQ ran in a work horse
    (a forked child whose own metrics die with it) or on another machine."""

    kind = models.CharField(max_length=100)
    status = models.CharField(max_length=20, choices=TaskRun.Status.choices)
    le = models.CharField(max_length=20, help_text="the bucket's upper bound, as Prometheus writes it")
    count = models.PositiveBigIntegerField(default=0)
    seconds = models.FloatField(default=0.0, help_text="the sum of the durations counted here")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "status", "le"], name="taskduration_kind_status_le")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.status} le {self.le}: {self.count} runs"
