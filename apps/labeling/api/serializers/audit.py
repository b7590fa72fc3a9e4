"""Request and response shapes of audit and replay over REST: the timeline, the diff of two seqs, the
activity per person and day, and the integrity of the hash chains (docs/audit.md)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ...domain import EVENT_TYPES
from .commands import EventSerializer, StateShapeSerializer


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
