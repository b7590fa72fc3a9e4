"""Read models of the quality report (docs/review.md "Quality"), written with each command's events through
labeling's row-writer hook (apps/labeling/store/hooks.py, filled by apps/review/quality.py), and the
ground-truth records (apps/review/ground_truth.py).

Imported by apps/review/models.py, so Django finds them as the review app's models.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.datasets.models import Image
from apps.labeling.models import Item, LabelingJob

# The figures a QualityMark row counts (the columns of QualityDay of the same name).
FIGURES = (
    "labeled",  # a save by the person that made them the image's labeler
    "accepted",  # review_accepted on an image they labeled
    "rejected",  # review_rejected on an image they labeled
    "issues_received",  # issue_opened by someone else on an image they labeled
    "rework",  # a save of an image of theirs that stood rejected
    "shapes",  # a polygon they closed or added (value: its vertices)
    "reviews_accepted",  # review_accepted they sent
    "reviews_rejected",  # review_rejected they sent
)


class QualityDay(models.Model):
    """One person's figures in one job on one UTC day, added to by every command (one upsert a command).

    `active_ms` adds the gap before each of the person's commands that follows their previous one of the
    same day in the job by at most POLYLOG_QUALITY_IDLE_GAP_SECONDS; `last_ms` is that previous command's
    time (epoch milliseconds, None while the person only received credit that day)."""

    job = models.ForeignKey(LabelingJob, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    events = models.BigIntegerField(default=0)
    active_ms = models.BigIntegerField(default=0)
    last_ms = models.BigIntegerField(null=True, blank=True)
    saves = models.BigIntegerField(default=0)
    labeled = models.BigIntegerField(default=0)
    accepted = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    issues_received = models.BigIntegerField(default=0)
    rework = models.BigIntegerField(default=0)
    shapes = models.BigIntegerField(default=0)
    vertices = models.BigIntegerField(default=0)
    reviews_accepted = models.BigIntegerField(default=0)
    reviews_rejected = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "person", "day"], name="one_quality_day_per_person")
        ]

    def __str__(self) -> str:
        return f"job {self.job_id}, person {self.person_id}, {self.day}"


class QualityMark(models.Model):
    """The event behind one unit of a figure: which event (item, seq) counted how much (`value`: 1, or an
    object's vertices) in which person's figure on which day. The figure's events list reads these."""

    job = models.ForeignKey(LabelingJob, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    figure = models.CharField(max_length=20)
    day = models.DateField()
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveIntegerField()
    value = models.IntegerField(default=1)

    class Meta:
        indexes = [
            models.Index(fields=["job", "person", "figure", "day"], name="quality_mark_figure"),
        ]

    def __str__(self) -> str:
        return f"{self.figure} of {self.person_id}: item {self.item_id} #{self.seq}"


class GroundTruth(models.Model):
    """A manager marked this accepted image as ground truth: its shapes at `seq` (the accepted save) are
    what copies of it are compared with."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, primary_key=True, related_name="+")
    job = models.ForeignKey(LabelingJob, on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveIntegerField()
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    marked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"ground truth: item {self.item_id} at seq {self.seq}"


class GroundTruthCopy(models.Model):
    """A copy of a ground-truth image offered to an annotator as an ordinary item of the job: its own item
    over a twin Image row of the same stored file (a dataset keeps one row per path, and a job one item
    per image). The twin lives in no listing of the dataset's own images."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, primary_key=True, related_name="+")
    truth = models.ForeignKey(GroundTruth, on_delete=models.CASCADE, related_name="copies")
    image = models.OneToOneField(Image, on_delete=models.PROTECT, related_name="+")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"copy {self.item_id} of ground truth {self.truth_id}"
