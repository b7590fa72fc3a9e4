"""Labeling jobs, their members and label classes, items, and the event log with its snapshots."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from apps.datasets.models import Dataset, Image


class JobType(models.TextChoices):
    IMAGE_SEGMENTATION = "image_segmentation", "Image segmentation"


class Role(models.TextChoices):
    MANAGER = "manager", "Manager"
    ANNOTATOR = "annotator", "Annotator"
    # Reads everything and reviews (accepts, rejects, pins issues); never edits shapes (docs/review.md).
    REVIEWER = "reviewer", "Reviewer"
    AUDITOR = "auditor", "Auditor"


class ReviewStatus(models.TextChoices):
    """An item's review status (domain/state.py's REVIEW_*; docs/review.md)."""

    NONE = "none", "Not labeled yet"
    TO_REVIEW = "to_review", "To review"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class ItemStatus(models.TextChoices):
    UNLABELED = "unlabeled", "Unlabeled"
    LABELED = "labeled", "Labeled"


class LabelingJob(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    job_type = models.CharField(max_length=40, choices=JobType.choices, default=JobType.IMAGE_SEGMENTATION)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="JobMember", related_name="labeling_jobs"
    )
    # Every image of the dataset with an id up to this one has had its item made by a sync, so a sync
    # reads only the images after it (services.job_sync).
    synced_image_id = models.BigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


color_validator = RegexValidator(r"^#[0-9a-f]{6}$", "A colour is #rrggbb in lower-case hex.")

# The label class of void regions (labelme's `__ignore__`, PASCAL VOC's 255): areas left out of training.
# Its shapes are drawn like any other; the formats write them as void (docs/formats.md) and the job's
# per-label image counts leave it out. apps.interchange.IGNORE_LABEL is the same name.
VOID_LABEL = "__ignore__"


class LabelClass(models.Model):
    job = models.ForeignKey(LabelingJob, on_delete=models.CASCADE, related_name="label_classes")
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=7, validators=[color_validator])
    # The class's bit in Item.label_bits (0-62, given at creation, never changed); None past 63 classes.
    slot = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    # What the class asks about each of its shapes, as domain/attributes.py's declarations_json writes it.
    attributes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "label classes"
        constraints = [
            models.UniqueConstraint(fields=["job", "name"], name="label_class_name_unique_in_job"),
            models.UniqueConstraint(fields=["job", "slot"], name="label_class_slot_unique_in_job"),
        ]

    def __str__(self) -> str:
        return self.name


class JobMember(models.Model):
    job = models.ForeignKey(LabelingJob, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="job_memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "user"], name="one_membership_per_user_and_job")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.job}"


# The items a job shows (a deleted image's item stays, hidden).
SHOWN = models.Q(deleted_at__isnull=True)


class Item(models.Model):
    """One image inside one job. Its labels are its event stream; the other columns are read models,
    updated in the transaction that appends the events."""

    job = models.ForeignKey(LabelingJob, on_delete=models.PROTECT, related_name="items")
    image = models.ForeignKey(Image, on_delete=models.PROTECT, related_name="items")
    status = models.CharField(max_length=20, choices=ItemStatus.choices, default=ItemStatus.UNLABELED)
    shape_count = models.PositiveIntegerField(default=0)
    label_class_ids = models.JSONField(default=list, blank=True)
    # Bit `slot` set for each label class with a slot that the item holds: the label filter's fast path.
    label_bits = models.BigIntegerField(default=0)
    labeled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    labeled_at = models.DateTimeField(null=True, blank=True)
    hard_example = models.BooleanField(default=False)
    # Review read models (issue 24): the status the stream's review events and saves give, and how many
    # of the item's issues are open (accepting waits for none).
    review_status = models.CharField(max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.NONE)
    open_issues = models.PositiveIntegerField(default=0)
    last_seq = models.PositiveIntegerField(default=0)
    saved_seq = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Deleting an image from a job hides its item; the item row and its event stream stay for audit.
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["job", "image"], name="one_item_per_image_and_job")]
        # The items list pages a job's shown items in id order under each filter: with the filter's
        # column between the job and the id, a page at any depth reads its rows and the ones before
        # it, whatever the job's size or the other jobs' items (docs/performance.md, "A million images").
        indexes = [
            models.Index(fields=["job", "id"], condition=SHOWN, name="item_shown_in_job"),
            models.Index(fields=["job", "status", "id"], condition=SHOWN, name="item_status_in_job"),
            models.Index(fields=["job", "hard_example", "id"], condition=SHOWN, name="item_hard_in_job"),
            models.Index(fields=["job", "labeled_by", "id"], condition=SHOWN, name="item_labeler_in_job"),
            models.Index(fields=["job", "review_status", "id"], condition=SHOWN, name="item_review_in_job"),
        ]

    def __str__(self) -> str:
        """The image's file name, as people know it (admin lists select the image with the item)."""
        return f"{self.image.path} (item {self.pk})"


class ItemLabel(models.Model):
    """Read model: how many shapes of a label class an item holds now (filters and per-label counts)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="labels")
    label_class = models.ForeignKey(LabelClass, on_delete=models.CASCADE, related_name="item_labels")
    shape_count = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "label_class"], name="one_row_per_item_label")]


class ItemAttribute(models.Model):
    """Read model: how many of an item's closed shapes of a label class carry an attribute value someone
    set (docs/domain.md "Attributes"), for the items list's attribute filter. Shapes without a value for
    an attribute read its default: they are the label's ItemLabel.shape_count less these rows' counts,
    so a changed default needs no row rewritten. `value` is readmodels.attribute_value_key(value): the
    value's JSON (true, 14.0, "red"), or for a long text a digest of it."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="attribute_values")
    label_class = models.ForeignKey(LabelClass, on_delete=models.CASCADE, related_name="item_attributes")
    name = models.CharField(max_length=64)
    value = models.CharField(max_length=200)
    shape_count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item", "label_class", "name", "value"], name="one_row_per_item_attribute_value"
            )
        ]
        indexes = [models.Index(fields=["label_class", "name", "value"], name="item_attribute_value")]


class JobTally(models.Model):
    """Read model: a job's image counts for the list's tabs and label filter, kept up to date by every
    write that changes them, so a list of 100,000 images does not count them on each request.

    `key` is "items" (images in the job), "labeled", "label:<id>" (images holding a shape of that
    label class), or "review:<status>" (images to review, accepted or rejected; issue 24).
    `rebuild_projections` recounts them from the items and reports any drift."""

    job = models.ForeignKey(LabelingJob, on_delete=models.CASCADE, related_name="tallies")
    key = models.CharField(max_length=40)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "key"], name="one_tally_per_job_and_key")]

    def __str__(self) -> str:
        return f"{self.key}={self.count}"


class StoredEvent(models.Model):
    """One event of an item's stream as stored (the domain's `Event` is what it means). Append-only: never
    updated or deleted. `hash` chains each event to the previous one of its stream."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=40)
    schema_version = models.PositiveSmallIntegerField()
    payload = models.JSONField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    command_id = models.CharField(max_length=64, null=True, blank=True)
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "labeling_event"  # the table of the model's first name
        verbose_name = "event"
        ordering = ["item", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["item", "seq"], name="event_seq_unique_in_stream"),
            models.UniqueConstraint(
                fields=["item", "command_id"],
                condition=models.Q(command_id__isnull=False),
                name="event_command_id_unique_in_stream",
            ),
        ]
        indexes = [models.Index(fields=["item", "created_at"])]

    def __str__(self) -> str:
        return f"{self.item_id}#{self.seq} {self.type}"


class Snapshot(models.Model):
    """The state of an item's stream at `seq` (every K events), so rebuilding any seq costs O(K)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="snapshots")
    seq = models.PositiveIntegerField()
    state = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "seq"]
        constraints = [models.UniqueConstraint(fields=["item", "seq"], name="snapshot_seq_unique_in_stream")]


class ItemDeletion(models.Model):
    """The history of "Delete images": who took which images out of a job, and whether their files went too."""

    job = models.ForeignKey(LabelingJob, on_delete=models.CASCADE, related_name="deletions")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    item_ids = models.JSONField(default=list)
    image_paths = models.JSONField(default=list)
    delete_source_files = models.BooleanField(default=False)
    forced = models.BooleanField(default=False)
    files_deleted = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{len(self.item_ids)} image(s) deleted from {self.job} by {self.actor}"
