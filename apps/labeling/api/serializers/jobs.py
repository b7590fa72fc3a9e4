"""Request and response shapes of a job over REST: the job, its label classes, its members, a sync
(/api/jobs/..., DESIGN section 8)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from apps.datasets.models import Dataset

from ...domain import Rejected
from ...domain.attributes import declarations_json, parse_declarations
from ...models import JobMember, JobType, LabelClass, LabelingJob, Role


class ColorField(serializers.RegexField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(r"^#[0-9a-fA-F]{6}$", max_length=7, **kwargs)
        self.error_messages["invalid"] = "A colour is #rrggbb."

    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(data).lower()


class AttributesField(serializers.JSONField):
    """A label class's attribute declarations (domain/attributes.py), stored in their normal form."""

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        try:
            return declarations_json(parse_declarations(data))
        except Rejected as error:
            raise serializers.ValidationError(error.message, code=error.code) from None


class LabelClassSerializer(serializers.ModelSerializer):
    color = ColorField()
    name = serializers.CharField(max_length=100, trim_whitespace=True)
    attributes = AttributesField(
        required=False,
        help_text="What the class asks about each shape: a list of {name, kind (checkbox, select, number, "
        "text), default, options (select), min and max (number)}.",
    )

    class Meta:
        model = LabelClass
        fields = ["id", "name", "color", "attributes"]


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


class SyncResultSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    total = serializers.IntegerField()
