"""Request and response shapes of one item's stream over REST: a command and its result, the events,
and the state they fold to (/api/items/<id>/commands/, events/ and state/, DESIGN section 8)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


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


class EventsQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1, default=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=500)


class EventPageSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    last_seq = serializers.IntegerField()
    next_after = serializers.IntegerField(allow_null=True)


class StateQuerySerializer(serializers.Serializer):
    at_seq = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)
    at_time = serializers.DateTimeField(required=False)


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
