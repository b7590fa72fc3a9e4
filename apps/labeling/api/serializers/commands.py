"""Request and response shapes of one item's stream over REST: a command and its result, the events,
and the state they fold to (/api/items/<id>/commands/, events/ and state/; docs/api.md, docs/protocol.md)."""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from ...domain import COMMAND_TYPES, EVENT_TYPES
from ...domain.commands import MAX_GROUP_ID, MAX_SHAPES_IN_COMMAND
from ...domain.events import payload_fields
from ...domain.review_messages import MAX_TEXT, OpenIssue


class StringField(serializers.CharField):
    """A string as sent: DRF's CharField turns a number into its digits, and the websocket refuses a
    numeric command_id, so REST did too little: one rule on both."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class EventSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    type = serializers.CharField()
    payload = serializers.DictField()
    actor = serializers.IntegerField()
    actor_name = serializers.CharField(required=False)
    created_at = serializers.CharField()


class EventsQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1, default=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=500)


class StateQuerySerializer(serializers.Serializer):
    at_seq = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)
    at_time = serializers.DateTimeField(required=False)


class PointsField(serializers.ListField):
    child = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)


class PartSerializer(serializers.Serializer):
    """A piece of a shape that a subtract or a split left: the id it has and its points."""

    shape_id = serializers.UUIDField()
    points = PointsField()


class PastedShapeSerializer(serializers.Serializer):
    """One shape of a paste: what `add_polygon` takes, without its `type`."""

    shape_id = serializers.UUIDField(help_text="the new shape's id (the client's choice)")
    label_class_id = serializers.IntegerField(help_text="one of the job's label classes")
    points = PointsField(help_text="the polygon's vertices, [x, y] each, listed once, inside the image")
    group_id = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=MAX_GROUP_ID,
        help_text="the object it is a part of; a copied group gets a new id, so the copies form their own object",
    )


def _undescribed(**kw: Any) -> serializers.Field:
    """A field no table below describes (any JSON value), so that a field added to a command or an event
    shows in the schema at once; tests/integration/test_schema_types.py fails until it is described here.
    (The same test fails on a command or event without a description: the fallbacks below name docs/.)"""
    return serializers.JSONField(**kw, help_text=UNDESCRIBED)


UNDESCRIBED = "(undescribed: add the field to apps/labeling/api/serializers/commands.py)"


# Commands, as the schema documents them: one object per type, built from the domain's own commands (their
# fields), so the schema lists what the parser reads. The parser (domain/commands.py, parse_command) is
# what reads a command; these serializers only describe it.
_FIELDS = {
    "shape_id": lambda **kw: serializers.UUIDField(
        **kw, help_text="the shape's id (a UUID; a new shape's is the client's choice)"
    ),
    "x": lambda **kw: serializers.FloatField(**kw, help_text="image pixels from the left"),
    "y": lambda **kw: serializers.FloatField(**kw, help_text="image pixels from the top"),
    "dx": lambda **kw: serializers.FloatField(**kw, help_text="pixels to the right"),
    "dy": lambda **kw: serializers.FloatField(**kw, help_text="pixels down"),
    "index": lambda **kw: serializers.IntegerField(**kw, min_value=0, help_text="a vertex position, from 0"),
    "label_class_id": lambda **kw: serializers.IntegerField(**kw, help_text="one of the job's label classes"),
    "points": lambda **kw: PointsField(**kw, help_text="the polygon's vertices, [x, y] each, listed once"),
    "group_id": lambda **kw: serializers.CharField(
        **kw,
        max_length=MAX_GROUP_ID,
        allow_null=True,
        help_text="the object this shape is a part of (the same string on every part); null: a whole object",
    ),
    "shape_ids": lambda **kw: serializers.ListField(
        **kw,
        child=serializers.UUIDField(),
        min_length=2,
        max_length=MAX_SHAPES_IN_COMMAND,
        help_text="the closed shapes to merge, each once: of one label, overlapping or sharing borders",
    ),
    "into": lambda **kw: serializers.UUIDField(
        **kw, help_text="one of shape_ids: the shape that becomes the union, keeping its id, number and group"
    ),
    "by": lambda **kw: serializers.UUIDField(
        **kw, help_text="the closed shape cut out of shape_id; it stays as it is"
    ),
    "line": lambda **kw: PointsField(
        **kw,
        min_length=2,
        help_text="the polyline to cut along, [x, y] each, drawn across the shape from outside to outside",
    ),
    "shapes": lambda **kw: serializers.ListField(
        **kw,
        child=PastedShapeSerializer(),
        min_length=1,
        max_length=MAX_SHAPES_IN_COMMAND,
        help_text="the shapes to add, each checked as add_polygon checks one",
    ),
    "values": lambda **kw: serializers.DictField(
        **kw,
        child=serializers.JSONField(allow_null=True),
        help_text="attribute name -> value (true or false, one of a select's options, a number, a text) as "
        "the shape's label class declares it; null: back to the attribute's default",
    ),
    # Review (issue 24, docs/review.md).
    "issue_id": lambda **kw: serializers.UUIDField(
        **kw, help_text="the issue's id (a UUID, the client's choice)"
    ),
    "reason": lambda **kw: serializers.CharField(
        **kw,
        min_length=1,
        max_length=MAX_TEXT,
        help_text="why: plain text (never markup), 1 to 2000 characters",
    ),
    "text": lambda **kw: serializers.CharField(
        **kw, min_length=1, max_length=MAX_TEXT, help_text="plain text (never markup), 1 to 2000 characters"
    ),
}
_DESCRIPTIONS = {
    "add_vertex": "Add a vertex at the end of the sender's draft `shape_id`; a new shape_id starts a draft "
    "(event `vertex_added`).",
    "close_polygon": "Close the sender's draft (at least 3 vertices) with a label class (event "
    "`polygon_closed`).",
    "discard_draft": "Drop the sender's draft (event `draft_discarded`).",
    "add_polygon": "Add a closed polygon in one command (event `polygon_added`): its points listed once, "
    "inside the image, not crossing itself.",
    "move_vertex": "Move vertex `index` of a shape to (x, y) (event `vertex_moved`).",
    "insert_vertex": "Insert a vertex at (x, y) so that it lands at `index` (event `vertex_inserted`).",
    "remove_vertex": "Remove vertex `index` of a shape or of the sender's draft (event `vertex_removed`); a "
    "closed shape keeps at least 3.",
    "move_shape": "Move a whole shape by (dx, dy), staying inside the image (event `shape_moved`).",
    "relabel_shape": "Give a closed shape another label class of the job (event `shape_relabeled`); its "
    "attribute values go back to the new class's defaults.",
    "set_attributes": "Set attribute values of a closed shape, checked against its label class's "
    "declarations (event `attributes_set`, with the values that changed).",
    "group_shape": "Make the shape a part of the object `group_id`, or a whole object with null (event "
    "`shape_grouped`).",
    "reset_shape": "Bring a shape back to what it was at the last save (event `shape_reset`).",
    "delete_shape": "Delete a shape (event `shape_deleted`).",
    "delete_all_shapes": "Delete every closed shape of the image (event `all_shapes_deleted`).",
    "delete_label_shapes": "Delete every closed shape of one label class (event `label_shapes_deleted`).",
    "undo": "Undo the sender's last action on the image (event `undone`, naming the seq it acts on); "
    "others' changes are never undone.",
    "redo": "Redo the sender's last undone action (event `redone`).",
    "save": "Save the image: it counts as labeled (event `saved`).",
    "discard_changes": "Revert the sender's changes since the last save, by the undo rules (event "
    "`changes_discarded`).",
    "mark_hard_example": "Mark the image as a hard example (event `hard_example_marked`).",
    "unmark_hard_example": "Take the hard-example mark away (event `hard_example_unmarked`).",
    "merge_shapes": "One shape of several: `into` takes the union's outline and the others go "
    "(event `shapes_merged`). Refused if they differ in label, do not make one piece, or enclose a hole.",
    "subtract_shape": "Cut `by` out of `shape_id` (event `shape_subtracted`); the largest piece keeps the "
    "shape's id and number, other pieces become new shapes of its label in one group. A cut that would "
    "leave a hole is refused (result_has_hole).",
    "paste_shapes": "Add several shapes as one action (event `shapes_pasted`), as a paste does: each is "
    "checked as `add_polygon` checks one and the refusal names which (`Pasted shape 2 of 3: ...`); all of "
    "them are added or none. One undo removes them all. The client clamps copies to the image first.",
    "split_shape": "Cut `shape_id` along `line` into two or more shapes (event `shape_split`); the largest "
    "part keeps the id and number, the others become new shapes of its label and group.",
    # Review (issue 24, docs/review.md): reviewers and managers; annotators open, comment, resolve issues.
    "accept_review": "Accept the image's last save (event `review_accepted`): refused unless saved with a "
    "shape (not_saved, not_labeled) and while an issue is open (open_issues).",
    "reject_review": "Reject the image's last save with a reason (event `review_rejected`); the next save "
    "sends it back to review.",
    "reopen_review": "Put an accepted or rejected image back to review (event `review_reopened`).",
    "open_issue": "Pin an issue at (x, y) of the image, maybe on a closed shape, with a text (event "
    "`issue_opened`).",
    "comment_issue": "Add a comment to an issue's thread (event `issue_commented`).",
    "resolve_issue": "Mark an open issue resolved (event `issue_resolved`).",
    "reopen_issue": "Open a resolved issue again (event `issue_reopened`).",
}


def _command_serializer(kind: str, command: type) -> type[serializers.Serializer]:
    attrs: dict[str, Any] = {"type": serializers.ChoiceField(choices=[kind])}
    for f in fields(command):
        attrs[f.name] = _FIELDS.get(f.name, _undescribed)(required=f.default is MISSING)
    if command is OpenIssue:  # pinned on a closed shape, or on none (null)
        attrs["shape_id"] = serializers.UUIDField(
            required=False, allow_null=True, help_text="the closed shape it is about; null or absent: none"
        )
    name = "".join(part.title() for part in kind.split("_")) + "Command"
    attrs["Meta"] = type("Meta", (), {"ref_name": name})
    doc = _DESCRIPTIONS.get(kind, f"The `{kind}` command (docs/domain.md).")
    return type(name, (serializers.Serializer,), {**attrs, "__doc__": doc})


COMMAND_SERIALIZERS = {kind: _command_serializer(kind, cls) for kind, cls in COMMAND_TYPES.items()}


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="Command",
        serializers=COMMAND_SERIALIZERS,
        resource_type_field_name="type",
    )
)
class CommandField(serializers.DictField):
    """A command object with a `type` (docs/api.md, docs/domain.md)."""


# Events, as the schema documents them: one object per type, its payload built from the domain's event
# classes (domain/events.py: their fields, which of them every payload has, the values of a rule), as the
# commands above are from the command classes.
_EVENT_FIELDS = {
    **_FIELDS,
    "group_id": lambda **kw: serializers.CharField(
        **kw, allow_null=True, help_text="the object the shape is a part of; absent or null: a whole object"
    ),
    "shape_ids": lambda **kw: serializers.ListField(
        **kw, child=serializers.UUIDField(), help_text="the shapes the event concerns"
    ),
    "skipped_shape_ids": lambda **kw: serializers.ListField(
        **kw,
        child=serializers.UUIDField(),
        help_text="shapes left as they are (someone else changed them since, or their label class is gone)",
    ),
    "target_seq": lambda **kw: serializers.IntegerField(**kw, help_text="the seq of the event acted on"),
    "parts": lambda **kw: serializers.ListField(
        **kw,
        child=PartSerializer(),
        help_text="the pieces: the first is shape_id itself (its new points), the others new shapes, in order",
    ),
    "shapes": lambda **kw: serializers.ListField(**kw, child=PastedShapeSerializer()),
    "shape_id": lambda **kw: serializers.UUIDField(
        **kw, allow_null=True, help_text="the shape's id (issue_opened: the shape it is pinned on, or null)"
    ),
}
_EVENT_HELP = {
    "undo_unit": "what an undo of it takes back: the whole polygon, or (stored before the field) the close",
    "scope": "whose changes it reverted: the sender's (mine), or (stored events only) everyone's",
}
_EVENT_DESCRIPTIONS = {
    "vertex_added": "A vertex was added to the actor's draft (a new shape_id started it).",
    "polygon_closed": "The actor's draft was closed with a label class.",
    "draft_discarded": "The actor's draft was dropped.",
    "polygon_added": "A closed polygon was added.",
    "vertex_moved": "Vertex `index` of the shape moved to (x, y).",
    "vertex_inserted": "A vertex was inserted at (x, y), at `index`.",
    "vertex_removed": "Vertex `index` of the shape was removed.",
    "shape_moved": "The shape moved by (dx, dy).",
    "shape_relabeled": "The shape got another label class (and carries no attribute values).",
    "attributes_set": "Attribute values of the shape changed (null: back to the label class's default).",
    "shape_reset": "The shape went back to what it was at the last save (read the state again).",
    "shape_deleted": "The shape was deleted.",
    "all_shapes_deleted": "Every closed shape of the image (`shape_ids`) was deleted.",
    "label_shapes_deleted": "Every closed shape of the label class (`shape_ids`) was deleted.",
    "saved": "The image was saved.",
    "hard_example_marked": "The image was marked as a hard example.",
    "hard_example_unmarked": "The image's hard-example mark was taken away.",
    "undone": "The sender's undo entry made by event `target_seq` was reverted for `shape_ids`.",
    "redone": "The sender's undo entry made by event `target_seq` was applied again for `shape_ids`.",
    "review_accepted": "The image's last save was accepted (review status accepted).",
    "review_rejected": "The image's last save was rejected, with a reason (review status rejected).",
    "issue_opened": "An issue was pinned at (x, y), on the shape `shape_id` or on none (null).",
    "issue_commented": "A comment was added to the issue's thread.",
    "issue_resolved": "The issue was marked resolved.",
    "issue_reopened": "The resolved issue was opened again.",
}


@extend_schema_field({"type": "object", "properties": {}, "description": "empty: the type says it all"})
class EmptyPayload(serializers.DictField):
    """The payload of an event without fields (an empty serializer would drop out of the schema)."""


def _camel(kind: str) -> str:
    return "".join(part.title() for part in kind.split("_"))


def _event_serializer(kind: str, event: type) -> type[serializers.Serializer]:
    payload: dict[str, Any] = {}
    for name, always, choices in payload_fields(event):
        if choices is not None:
            payload[name] = serializers.ChoiceField(
                choices=sorted(choices), required=always, help_text=_EVENT_HELP.get(name, "")
            )
        else:
            payload[name] = _EVENT_FIELDS.get(name, _undescribed)(required=always)
    payload_name = f"{_camel(kind)}Payload"
    payload["Meta"] = type("Meta", (), {"ref_name": payload_name})
    # A dataclass without a docstring gets its signature as one: not a description.
    doc = "" if (event.__doc__ or "").startswith(event.__name__ + "(") else (event.__doc__ or "").strip()
    payload_class = (
        type(payload_name, (serializers.Serializer,), payload) if len(payload) > 1 else EmptyPayload
    )
    name = f"{_camel(kind)}Event"
    attrs: dict[str, Any] = {
        "seq": serializers.IntegerField(help_text="its place in the item's stream, from 1"),
        "type": serializers.ChoiceField(choices=[kind]),
        "payload": payload_class(),
        "actor": serializers.IntegerField(help_text="the user who sent the command"),
        "actor_name": serializers.CharField(required=False, help_text="their username (REST only)"),
        "created_at": serializers.CharField(help_text="when it was stored (ISO 8601)"),
        "Meta": type("Meta", (), {"ref_name": name}),
    }
    text = doc or _EVENT_DESCRIPTIONS.get(kind) or f"The `{kind}` event (docs/protocol.md, docs/domain.md)."
    return type(name, (serializers.Serializer,), {**attrs, "__doc__": text})


EVENT_SERIALIZERS = {kind: _event_serializer(kind, cls) for kind, cls in EVENT_TYPES.items()}


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="Event", serializers=EVENT_SERIALIZERS, resource_type_field_name="type"
    )
)
class TypedEventField(serializers.DictField):
    """An event `{seq, type, payload, actor, created_at}`, its payload's fields by its `type`."""


class CommandResultSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    events = serializers.ListField(
        child=TypedEventField(), help_text="the events the command stored, in order"
    )


class EventPageSerializer(serializers.Serializer):
    results = serializers.ListField(child=TypedEventField())
    last_seq = serializers.IntegerField()
    next_after = serializers.IntegerField(allow_null=True)


class CommandRequestSerializer(serializers.Serializer):
    command_id = StringField(max_length=64, help_text="the client's id for this command (1 to 64 characters)")
    command = CommandField(help_text="one of the commands, by its `type` (each with its own fields)")
    expected_seq = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)


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


class StateReviewSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["none", "to_review", "accepted", "rejected"])
    reason = serializers.CharField(allow_null=True, help_text="a rejection's reason")
    actor = serializers.IntegerField(allow_null=True, help_text="who decided (null: a save set the status)")
    seq = serializers.IntegerField(allow_null=True, help_text="the event that set the status")


class StateCommentSerializer(serializers.Serializer):
    text = serializers.CharField()
    actor = serializers.IntegerField()
    seq = serializers.IntegerField()


class StateIssueSerializer(serializers.Serializer):
    id = serializers.CharField()
    x = serializers.FloatField()
    y = serializers.FloatField()
    shape_id = serializers.CharField(allow_null=True)
    text = serializers.CharField(help_text="plain text: show it as text, never as markup")
    author = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["open", "resolved"])
    seq = serializers.IntegerField(help_text="the issue_opened event's")
    comments = StateCommentSerializer(many=True)


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
    review = StateReviewSerializer(help_text="where the image stands in review (docs/review.md)")
    issues = StateIssueSerializer(many=True, help_text="the issues pinned on the image, in the order opened")
