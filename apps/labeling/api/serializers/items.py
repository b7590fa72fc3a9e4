"""Request and response shapes of a job's items over REST: the list with its filters and counts, and
deleting items (/api/jobs/<id>/items/..., DESIGN section 8)."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from ...models import Item, ItemDeletion


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
        # None until the queue made it (an import registers images first): the job page shows a
        # placeholder, and the job socket's thumbnails frame brings the URL (docs/protocol.md).
        return image.thumbnail.url if image.thumbnail else None


class ItemSerializer(serializers.ModelSerializer):
    image = ImageSerializer()
    seq = serializers.IntegerField(source="last_seq")
    labeled_by = serializers.IntegerField(source="labeled_by_id", allow_null=True)
    labeled_by_name = serializers.SerializerMethodField()
    label_class_ids = serializers.ListField(child=serializers.IntegerField())
    # Who labels and who reviews the image (user id and name; null: nobody): apps/review's assignments,
    # set on a page's items by its hook (selectors.ItemListHook), read here without labeling knowing it.
    assignee = serializers.SerializerMethodField()
    assignee_name = serializers.SerializerMethodField()
    reviewer = serializers.SerializerMethodField()
    reviewer_name = serializers.SerializerMethodField()

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
            "review_status",
            "open_issues",
            "assignee",
            "assignee_name",
            "reviewer",
            "reviewer_name",
        ]

    def get_labeled_by_name(self, item: Item) -> str | None:
        return item.labeled_by.username if item.labeled_by_id else None

    def get_assignee(self, item: Item) -> int | None:
        return getattr(item, "assignee_id", None)

    def get_assignee_name(self, item: Item) -> str | None:
        return getattr(item, "assignee_name", None)

    def get_reviewer(self, item: Item) -> int | None:
        return getattr(item, "reviewer_id", None)

    def get_reviewer_name(self, item: Item) -> str | None:
        return getattr(item, "reviewer_name", None)


MAX_ATTRIBUTE_FILTERS = 10  # attribute filters in one request: each is one EXISTS over ItemAttribute
_ATTRIBUTE_FORM = "attribute is <label class id>:<attribute name>=<value>, e.g. 3:occluded=true."


class ItemListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["all", "unlabeled", "labeled"], required=False, default="all")
    hard_example = serializers.BooleanField(required=False, allow_null=True, default=None)
    label_class = serializers.CharField(required=False, help_text="label class ids, comma-separated: any of")
    q = serializers.CharField(required=False, max_length=200, help_text="substring of the file name or path")
    labeled_by = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="user id"
    )
    attribute = serializers.ListField(
        child=serializers.CharField(
            max_length=1200,
            # In the schema too, so that a generated client (and the schema fuzz) writes filters of this form.
            validators=[RegexValidator(r"^[0-9]+:[^=]*=", message=_ATTRIBUTE_FORM)],
        ),
        required=False,
        min_length=1,
        max_length=MAX_ATTRIBUTE_FILTERS,
        help_text="<label class id>:<attribute name>=<value>: images with a shape of that label class whose "
        "attribute reads that value (its own or, unset, the declared default); a checkbox's value is true or "
        f"false. Repeat it (up to {MAX_ATTRIBUTE_FILTERS}) for images where every one holds.",
    )
    review = serializers.ChoiceField(
        choices=["none", "to_review", "accepted", "rejected"],
        required=False,
        help_text="images in that review status (issue 24; docs/review.md): none (no labeled save yet), "
        "to_review, accepted, rejected",
    )
    assigned_to = serializers.RegexField(
        r"^(me|none|[1-9][0-9]{0,18})$",
        required=False,
        max_length=19,
        help_text="me, none or a user id: images whose annotator or reviewer is that user (none: images"
        " with neither); apps/review's assignments",
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

    def validate_attribute(self, values: list[str]) -> list[dict[str, Any]]:
        return [self._attribute(value) for value in values]

    @staticmethod
    def _attribute(value: str) -> dict[str, Any]:
        label, colon, rest = value.partition(":")
        try:
            label_class = int(label)
        except ValueError:
            label_class = 0
        if not colon or not 0 < label_class < 2**63 or "=" not in rest:
            raise serializers.ValidationError(_ATTRIBUTE_FORM)
        # The name is found among the class's declarations (a name may hold "="): the selector's to do.
        return {"label_class": label_class, "name_and_value": rest}


class StatusCountsSerializer(serializers.Serializer):
    all = serializers.IntegerField()
    unlabeled = serializers.IntegerField()
    labeled = serializers.IntegerField()


class ReviewCountsSerializer(serializers.Serializer):
    to_review = serializers.IntegerField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()


class ItemPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ItemSerializer(many=True)
    status_counts = StatusCountsSerializer(help_text="items of the job per status tab (filters aside)")
    review_counts = ReviewCountsSerializer(help_text="items of the job per review tab (filters aside)")
    label_counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="label class id -> number of images with such shapes"
    )


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
