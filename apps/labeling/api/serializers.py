"""Request and response shapes of the labeling API (DESIGN section 8)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from apps.datasets.models import Dataset

from ..domain import EVENT_TYPES
from ..models import Item, ItemDeletion, JobMember, JobType, LabelClass, LabelingJob, Role


class ColorField(serializers.RegexField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(r"^#[0-9a-fA-F]{6}$", max_length=7, **kwargs)
        self.error_messages["invalid"] = "A colour is #rrggbb."

    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(data).lower()


class LabelClassSerializer(serializers.ModelSerializer):
    color = ColorField()
    name = serializers.CharField(max_length=100, trim_whitespace=True)

    class Meta:
        model = LabelClass
        fields = ["id", "name", "color"]


class LabelClassDeleteSerializer(serializers.Serializer):
    cascade = serializers.BooleanField(default=False)


class ProgressSerializer(serializers.Serializer):
    labeled = serializers.IntegerField()
    total = serializers.IntegerField()


class JobSerializer(serializers.ModelSerializer):
    dataset_name = serializers.CharField(source="dataset.name", read_only=True)
    label_classes = LabelClassSerializer(many=True, read_only=True)
    progress = serializers.SerializerMethodField()
    role = serializers.SerializerMethodField()

    class Meta:
        model = LabelingJob
        fields = [
            "id",
            "name",
            "description",
            "job_type",
            "dataset",
            "dataset_name",
            "created_at",
            "role",
            "progress",
            "label_classes",
        ]
        read_only_fields = ["dataset", "job_type", "created_at"]

    def get_progress(self, job: LabelingJob) -> dict[str, int]:
        return {"labeled": getattr(job, "item_labeled", 0), "total": getattr(job, "item_total", 0)}

    def get_role(self, job: LabelingJob) -> str | None:
        return self.context.get("roles", {}).get(job.pk)


class NewLabelClassSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    color = ColorField()


class JobCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    job_type = serializers.ChoiceField(choices=JobType.choices, default=JobType.IMAGE_SEGMENTATION)
    dataset = serializers.PrimaryKeyRelatedField(queryset=Dataset.objects.all())
    label_classes = NewLabelClassSerializer(many=True, required=False, default=list)

    def validate_dataset(self, dataset: Dataset) -> Dataset:
        """Staff may use any dataset; others only one they created or one of a job they manage."""
        user = self.context["request"].user
        usable = (
            user.is_staff
            or dataset.created_by_id == user.pk
            or dataset.jobs.filter(memberships__user=user, memberships__role=Role.MANAGER).exists()
        )
        if not usable:
            raise serializers.ValidationError(f'Invalid pk "{dataset.pk}" - object does not exist.')
        return dataset

    def validate_label_classes(self, value: list[dict[str, str]]) -> list[dict[str, str]]:
        names = [v["name"] for v in value]
        if len(names) != len(set(names)):
            raise serializers.ValidationError("Label class names must differ.")
        return value


class JobUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = JobMember
        fields = ["id", "user", "username", "role"]
        read_only_fields = ["id", "user", "username"]


class MemberSetSerializer(serializers.Serializer):
    username = serializers.SlugRelatedField(slug_field="username", queryset=get_user_model().objects.all())
    role = serializers.ChoiceField(choices=Role.choices)


class ImageSerializer(serializers.Serializer):
    name = serializers.CharField()
    path = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    def get_url(self, image: Any) -> str | None:
        return image.file.url if image.file else None

    def get_thumbnail_url(self, image: Any) -> str | None:
        return image.thumbnail.url if image.thumbnail else self.get_url(image)


class ItemSerializer(serializers.ModelSerializer):
    image = ImageSerializer()
    seq = serializers.IntegerField(source="last_seq")
    labeled_by = serializers.IntegerField(source="labeled_by_id", allow_null=True)
    labeled_by_name = serializers.SerializerMethodField()
    label_class_ids = serializers.ListField(child=serializers.IntegerField())

    class Meta:
        model = Item
        fields = [
            "id",
            "image",
            "status",
            "hard_example",
            "label_class_ids",
            "shape_count",
            "labeled_by",
            "labeled_by_name",
            "labeled_at",
            "seq",
            "saved_seq",
        ]

    def get_labeled_by_name(self, item: Item) -> str | None:
        return item.labeled_by.username if item.labeled_by_id else None


class ItemListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["all", "unlabeled", "labeled"], required=False, default="all")
    hard_example = serializers.BooleanField(required=False, allow_null=True, default=None)
    label_class = serializers.CharField(required=False, help_text="label class ids, comma-separated: any of")
    q = serializers.CharField(required=False, max_length=200, help_text="substring of the file name or path")
    labeled_by = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="user id"
    )
    ordering = serializers.ChoiceField(
        choices=[
            "id",
            "-id",
            "image__name",
            "-image__name",
            "updated_at",
            "-updated_at",
            "labeled_at",
            "-labeled_at",
        ],
        required=False,
        default="id",
    )

    def validate_label_class(self, value: str) -> list[int]:
        try:
            ids = [int(part) for part in value.split(",") if part.strip()]
        except ValueError:
            raise serializers.ValidationError("label_class is a comma-separated list of ids.") from None
        if any(not 0 < i < 2**63 for i in ids):
            raise serializers.ValidationError("label_class ids are positive 64-bit integers.")
        return ids


class StatusCountsSerializer(serializers.Serializer):
    all = serializers.IntegerField()
    unlabeled = serializers.IntegerField()
    labeled = serializers.IntegerField()


class ItemPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ItemSerializer(many=True)
    status_counts = StatusCountsSerializer(help_text="items of the job per status tab (filters aside)")
    label_counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="label class id -> number of images with such shapes"
    )


class StateQuerySerializer(serializers.Serializer):
    at_seq = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)
    at_time = serializers.DateTimeField(required=False)


class EventsQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1, default=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=500)


class StringField(serializers.CharField):
    """A string as sent: DRF's CharField turns a number into its digits, and the websocket refuses a
    numeric command_id, so REST did too little: one rule on both."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class CommandRequestSerializer(serializers.Serializer):
    command_id = StringField(max_length=64, help_text="the client's id for this command (1 to 64 characters)")
    command = serializers.DictField(help_text="a command object with a 'type' (DESIGN section 8)")
    expected_seq = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)


class EventSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    type = serializers.CharField()
    payload = serializers.DictField()
    actor = serializers.IntegerField()
    actor_name = serializers.CharField(required=False)
    created_at = serializers.CharField()


class CommandResultSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    events = EventSerializer(many=True)


class EventPageSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    last_seq = serializers.IntegerField()
    next_after = serializers.IntegerField(allow_null=True)


class PointsField(serializers.ListField):
    child = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)


class StateShapeSerializer(serializers.Serializer):
    id = serializers.CharField()
    number = serializers.IntegerField(help_text="#n: the n-th shape created on the image; never given again")
    label_class_id = serializers.IntegerField()
    points = PointsField()


class StateDraftSerializer(serializers.Serializer):
    id = serializers.CharField()
    number = serializers.IntegerField(help_text="#n, taken at its first vertex and kept when it is closed")
    actor = serializers.IntegerField()
    points = PointsField()


class StateImageSerializer(serializers.Serializer):
    width = serializers.FloatField()
    height = serializers.FloatField()


class ItemStateSerializer(serializers.Serializer):
    item_id = serializers.IntegerField()
    seq = serializers.IntegerField()
    saved_seq = serializers.IntegerField()
    image = StateImageSerializer()
    hard_example = serializers.BooleanField()
    next_number = serializers.IntegerField(help_text="the number the next new shape on the image gets")
    shapes = StateShapeSerializer(many=True)
    drafts = StateDraftSerializer(many=True)
    pending = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="ids of the people with changes since the last save (what their discard would revert), sorted",
    )


class SyncResultSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    total = serializers.IntegerField()


class ItemsDeleteSerializer(serializers.Serializer):
    item_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), min_length=1, max_length=10_000
    )
    delete_source_files = serializers.BooleanField(default=False)
    force = serializers.BooleanField(
        default=False,
        help_text="delete the images even though their files are used elsewhere; a file goes too when only"
        " jobs and datasets you manage still use it",
    )


class ItemDeletionSerializer(serializers.ModelSerializer):
    actor_name = serializers.CharField(source="actor.username", read_only=True)

    class Meta:
        model = ItemDeletion
        fields = [
            "id",
            "job",
            "actor",
            "actor_name",
            "created_at",
            "item_ids",
            "image_paths",
            "delete_source_files",
            "forced",
            "files_deleted",
        ]


class FileKeptSerializer(serializers.Serializer):
    file = serializers.CharField(help_text="a source file asked to be deleted that stays in storage")
    reason = serializers.CharField(
        help_text="who still uses it; jobs and datasets you are not in are only counted, never named"
    )


class ItemsDeletedSerializer(ItemDeletionSerializer):
    """The answer to a deletion: its record, and the files that a forced deletion kept."""

    files_kept = FileKeptSerializer(many=True, read_only=True)

    class Meta(ItemDeletionSerializer.Meta):
        fields = [*ItemDeletionSerializer.Meta.fields, "files_kept"]


# Audit and replay (docs/audit.md) -----------------------------------------------------------------


class _TimeRangeSerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False, help_text="from this time on, included (ISO 8601)")
    until = serializers.DateTimeField(required=False, help_text="up to this time, included (ISO 8601)")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if "since" in data and "until" in data and data["since"] > data["until"]:
            raise serializers.ValidationError("since is after until.")
        return data


class TimelineQuerySerializer(_TimeRangeSerializer):
    actor = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="only this person's events (user id)"
    )
    type = serializers.CharField(required=False, help_text="event types, comma-separated: any of")

    def validate_type(self, value: str) -> list[str]:
        types = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [t for t in types if t not in EVENT_TYPES]
        if unknown:
            raise serializers.ValidationError(f"unknown event type(s): {', '.join(unknown[:10])}.")
        return types


class TimelineEntrySerializer(EventSerializer):
    summary = serializers.CharField(
        help_text='what happened, for a person: "ann drew chair #3 (24 vertices)"'
    )
    draft_step = serializers.BooleanField(
        help_text="a step of drawing a polygon (a vertex added, moved, inserted or removed while it is a draft, "
        "or the undo or redo of such a step): a client may show a draft's steps as one row"
    )
    shape_number = serializers.IntegerField(
        allow_null=True,
        help_text="the number (#n) of the one shape the event concerns, a new shape's included; null for an "
        "event about several shapes or none",
    )


class TimelinePageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = TimelineEntrySerializer(many=True)
    last_seq = serializers.IntegerField(help_text="the item's last seq (whatever the filters)")


class DiffQuerySerializer(serializers.Serializer):
    from_seq = serializers.IntegerField(min_value=0, max_value=2**31 - 1)
    to_seq = serializers.IntegerField(min_value=0, max_value=2**31 - 1)


class AuditShapeSerializer(StateShapeSerializer):
    group_id = serializers.CharField(required=False, help_text="only on parts of an object drawn in pieces")
    actor = serializers.IntegerField(help_text="who drew it")


class DiffChangeSerializer(serializers.Serializer):
    id = serializers.CharField()
    before = AuditShapeSerializer()
    after = AuditShapeSerializer()
    changes = serializers.ListField(child=serializers.ChoiceField(["points", "label_class_id", "group_id"]))
    moved_vertices = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="indexes of the vertices that moved (when the vertex count is unchanged)",
    )
    moved_by = serializers.ListField(
        child=serializers.FloatField(),
        min_length=2,
        max_length=2,
        required=False,
        help_text="[dx, dy] when every vertex moved by the same offset",
    )


class DiffSerializer(serializers.Serializer):
    from_seq = serializers.IntegerField()
    to_seq = serializers.IntegerField()
    added = AuditShapeSerializer(many=True)
    removed = AuditShapeSerializer(many=True)
    changed = DiffChangeSerializer(many=True)


class ActivityQuerySerializer(_TimeRangeSerializer):
    pass


class ActivityActorSerializer(serializers.Serializer):
    actor = serializers.IntegerField()
    actor_name = serializers.CharField()
    events = serializers.IntegerField()
    shapes_drawn = serializers.IntegerField(help_text="polygon_closed and polygon_added events")
    saves = serializers.IntegerField()
    items_touched = serializers.IntegerField()
    first_at = serializers.CharField()
    last_at = serializers.CharField()


class ActivityDaySerializer(serializers.Serializer):
    date = serializers.CharField(help_text="YYYY-MM-DD, in UTC")
    events = serializers.IntegerField()


class ActivitySerializer(serializers.Serializer):
    job_id = serializers.IntegerField()
    since = serializers.CharField(allow_null=True)
    until = serializers.CharField(allow_null=True)
    events = serializers.IntegerField()
    actors = ActivityActorSerializer(many=True)
    days = ActivityDaySerializer(many=True)


class IntegrityProblemSerializer(serializers.Serializer):
    item_id = serializers.IntegerField()
    seq = serializers.IntegerField()
    problem = serializers.CharField()


class IntegritySerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    items = serializers.IntegerField(help_text="streams checked")
    events = serializers.IntegerField(help_text="events read")
    problems = IntegrityProblemSerializer(many=True, help_text="the first 1000, in (item_id, seq) order")
    problems_total = serializers.IntegerField()
