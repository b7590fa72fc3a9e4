"""Who labels and who reviews each image (assignments), the record of every change to them, and who has
an image open now (presence rows, for "Start labeling" to pass over images another person is drawing on),
and the image "Start labeling" just gave someone, held until their page opens it (claims).

These live here, not on labeling's Item: labeling knows nothing of review (tests/unit/test_layering.py).
The items list reads them through the hook labeling's selectors expose (apps/review/assignments.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.labeling.models import Item, LabelingJob


class AssignRole(models.TextChoices):
    """The two seats of an image: who labels it, who reviews it."""

    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"


class Assignment(models.Model):
    """The image's annotator and reviewer now (either may be empty). One row per item at most; an item
    without a row is unassigned in both seats. `job` repeats the item's job so the items list filters
    `assigned_to` by an index of the job's rows."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, primary_key=True, related_name="assignment")
    job = models.ForeignKey(LabelingJob, on_delete=models.CASCADE, related_name="+")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["job", "annotator"], name="assignment_annotator_in_job"),
            models.Index(fields=["job", "reviewer"], name="assignment_reviewer_in_job"),
        ]

    def __str__(self) -> str:
        return f"item {self.item_id}: annotator {self.annotator_id}, reviewer {self.reviewer_id}"


class AssignmentChange(models.Model):
    """Append-only: one row per item and seat whose holder changed, saying who made the change, when,
    and from whom to whom (None: nobody). Rows made by one request share `batch`. Never updated or
    deleted by the application (admin shows them read-only)."""

    job = models.ForeignKey(LabelingJob, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=20, choices=AssignRole.choices)
    previous = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    batch = models.UUIDField(db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["job", "-id"], name="assignment_change_in_job")]

    def __str__(self) -> str:
        return f"{self.role} of item {self.item_id}: {self.previous_id} -> {self.assignee_id}"


class ItemPresence(models.Model):
    """One open item socket: its user has the image open. Written when the socket joins the item's
    presence and deleted when it leaves; `seen_at` is refreshed by its pings, so a row left by a process
    that died stops counting once it is older than the websocket idle timeout (nothing open stays quiet
    that long)."""

    channel = models.CharField(max_length=200, primary_key=True)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["item", "seen_at"], name="presence_item_seen")]

    def __str__(self) -> str:
        return f"user {self.user_id} on item {self.item_id}"


class NextClaim(models.Model):
    """The image "Start labeling" / "Start review" just gave someone, held for them until their page opens
    it (the socket's presence row then stands for them, and the claim goes) or CLAIM_SECONDS pass: two
    people pressing Start at once are sent to different images. One claim per person and job: pressing
    Start again moves it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(LabelingJob, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    claimed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "job"], name="next_claim_one_per_person")]
        indexes = [models.Index(fields=["item", "claimed_at"], name="next_claim_item")]

    def __str__(self) -> str:
        return f"item {self.item_id} held for user {self.user_id}"


# The quality report's read models and the ground-truth records (apps/review/quality_models.py).
from .quality_models import GroundTruth, GroundTruthCopy, QualityDay, QualityMark  # noqa: E402, F401
