"""Events: what happened to an item, in the past tense, with the actor who did it. The stored row keeps
`type`, `schema_version` and `payload` (the fields below minus `actor`, which has a column of its own);
`event_from_record` is the one place where old payloads are upgraded (the upcaster)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .review_messages import REVIEW_EVENT_TYPES, ReviewEvent

Point = tuple[float, float]
Actor = int

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class VertexAdded:
    actor: Actor
    shape_id: str
    x: float
    y: float


# What undo takes back when it meets a `polygon_closed`. "polygon": the whole polygon, its vertices with it
# (the draft's undo entries merge into the close's). "close": the close alone, reopening the draft; the
# rule of every polygon_closed stored before the field existed (the upcaster gives them this value).
UNDO_POLYGON, UNDO_CLOSE = "polygon", "close"


@dataclass(frozen=True, slots=True)
class PolygonClosed:
    actor: Actor
    shape_id: str
    label_class_id: int
    group_id: str | None = None
    undo_unit: str = UNDO_POLYGON


@dataclass(frozen=True, slots=True)
class DraftDiscarded:
    actor: Actor
    shape_id: str


@dataclass(frozen=True, slots=True)
class PolygonAdded:
    actor: Actor
    shape_id: str
    label_class_id: int
    points: tuple[Point, ...]
    group_id: str | None = None


@dataclass(frozen=True, slots=True)
class ShapeGrouped:
    """The shape joined the object `group_id`, or left its group (None)."""

    actor: Actor
    shape_id: str
    group_id: str | None


@dataclass(frozen=True, slots=True)
class VertexMoved:
    actor: Actor
    shape_id: str
    index: int
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class VertexInserted:
    actor: Actor
    shape_id: str
    index: int
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class VertexRemoved:
    actor: Actor
    shape_id: str
    index: int


@dataclass(frozen=True, slots=True)
class ShapeMoved:
    actor: Actor
    shape_id: str
    dx: float
    dy: float


@dataclass(frozen=True, slots=True)
class ShapeRelabeled:
    actor: Actor
    shape_id: str
    label_class_id: int


@dataclass(frozen=True, slots=True)
class AttributesSet:
    """Attribute values of a closed shape changed: ({name: value}, sorted by name); None: back to the
    label class's default (the shape carries no value for it)."""

    actor: Actor
    shape_id: str
    values: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class ShapeReset:
    actor: Actor
    shape_id: str


@dataclass(frozen=True, slots=True)
class ShapeDeleted:
    actor: Actor
    shape_id: str


@dataclass(frozen=True, slots=True)
class AllShapesDeleted:
    actor: Actor
    shape_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LabelShapesDeleted:
    actor: Actor
    label_class_id: int
    shape_ids: tuple[str, ...]


# A piece of a shape that subtract or split made: the id it has and its points.
Part = tuple[str, tuple[Point, ...]]


@dataclass(frozen=True, slots=True)
class ShapesMerged:
    """`into` became the union of `shape_ids` (which include it), with `points`; the others were removed."""

    actor: Actor
    into: str
    shape_ids: tuple[str, ...]
    points: tuple[Point, ...]


@dataclass(frozen=True, slots=True)
class ShapeSubtracted:
    """The shape `by` was cut out of `shape_id`, leaving `parts`: the first is `shape_id` itself (its new
    points), the others are new shapes of its label, numbered in order. Every part is in the group
    `group_id` (the shape's own, or, when the cut left several parts of a whole object, a new group
    named by the shape's id: one object seen in pieces around what covers it)."""

    actor: Actor
    shape_id: str
    by: str
    parts: tuple[Part, ...]
    group_id: str | None


@dataclass(frozen=True, slots=True)
class ShapeSplit:
    """`shape_id` was cut along a line into `parts`: the first is `shape_id` itself (its new points), the
    others are new shapes of its label and group, numbered in order."""

    actor: Actor
    shape_id: str
    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class PastedShape:
    shape_id: str
    label_class_id: int
    points: tuple[Point, ...]
    group_id: str | None = None


@dataclass(frozen=True, slots=True)
class ShapesPasted:
    """`shapes` were added as one action of the actor (a paste), numbered in order."""

    actor: Actor
    shapes: tuple[PastedShape, ...]


@dataclass(frozen=True, slots=True)
class Undone:
    """The actor's undo entry made by event `target_seq` was reverted for `shape_ids`.

    `skipped_shape_ids` were changed by someone else since, so they were left as they are.
    """

    actor: Actor
    target_seq: int
    shape_ids: tuple[str, ...]
    skipped_shape_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Redone:
    actor: Actor
    target_seq: int
    shape_ids: tuple[str, ...]
    skipped_shape_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Saved:
    actor: Actor


# Whose changes a `changes_discarded` reverts. "mine": the sender's pending changes only, by their undo
# rules. "everyone": every closed shape back to the last save; the rule of every changes_discarded stored
# before the field existed (the upcaster gives them this value), never decided any more.
DISCARD_MINE, DISCARD_EVERYONE = "mine", "everyone"


@dataclass(frozen=True, slots=True)
class ChangesDiscarded:
    """scope "mine": the actor's pending changes (their undo entries since the last save) were reverted,
    newest first, by the undo rules, and their drafts dropped; `shape_ids` are the shapes it changed and
    `skipped_shape_ids` those it left as they are (wholly or in part), because someone else changed them
    since or because the label class they would go back to no longer exists.

    scope "everyone" (stored events only): closed shapes went back to the last save and the actor's drafts
    were dropped; saved shapes in `skipped_shape_ids` were not brought back because their label class no
    longer exists.
    """

    actor: Actor
    skipped_shape_ids: tuple[str, ...] = ()
    shape_ids: tuple[str, ...] = ()
    scope: str = DISCARD_MINE


@dataclass(frozen=True, slots=True)
class HardExampleMarked:
    actor: Actor


@dataclass(frozen=True, slots=True)
class HardExampleUnmarked:
    actor: Actor


Event = (
    VertexAdded
    | PolygonClosed
    | DraftDiscarded
    | PolygonAdded
    | VertexMoved
    | VertexInserted
    | VertexRemoved
    | ShapeMoved
    | ShapeRelabeled
    | AttributesSet
    | ShapeGrouped
    | ShapeReset
    | ShapeDeleted
    | AllShapesDeleted
    | LabelShapesDeleted
    | ShapesMerged
    | ShapeSubtracted
    | ShapeSplit
    | ShapesPasted
    | Undone
    | Redone
    | Saved
    | ChangesDiscarded
    | HardExampleMarked
    | HardExampleUnmarked
    | ReviewEvent  # issue 24: review_accepted, issue_opened, ... (review_messages.py)
)

EVENT_TYPES: dict[str, type] = {
    "vertex_added": VertexAdded,
    "polygon_closed": PolygonClosed,
    "draft_discarded": DraftDiscarded,
    "polygon_added": PolygonAdded,
    "vertex_moved": VertexMoved,
    "vertex_inserted": VertexInserted,
    "vertex_removed": VertexRemoved,
    "shape_moved": ShapeMoved,
    "shape_relabeled": ShapeRelabeled,
    "attributes_set": AttributesSet,
    "shape_grouped": ShapeGrouped,
    "shape_reset": ShapeReset,
    "shape_deleted": ShapeDeleted,
    "all_shapes_deleted": AllShapesDeleted,
    "label_shapes_deleted": LabelShapesDeleted,
    "shapes_merged": ShapesMerged,
    "shape_subtracted": ShapeSubtracted,
    "shape_split": ShapeSplit,
    "shapes_pasted": ShapesPasted,
    "undone": Undone,
    "redone": Redone,
    "saved": Saved,
    "changes_discarded": ChangesDiscarded,
    "hard_example_marked": HardExampleMarked,
    "hard_example_unmarked": HardExampleUnmarked,
    **REVIEW_EVENT_TYPES,
}
EVENT_NAMES: dict[type, str] = {cls: name for name, cls in EVENT_TYPES.items()}
_PAYLOAD_FIELDS: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls) if f.name != "actor") for cls in EVENT_TYPES.values()
}
_TUPLE_FIELDS = frozenset({"shape_ids", "skipped_shape_ids"})
# Fields added after events were first stored: absent from a payload means the default, and a default
# value is left out of new payloads, so older events keep their payloads (and hashes) as they were.
_OPTIONAL_FIELDS = {(PolygonAdded, "group_id"), (PolygonClosed, "group_id")}
# Fields that say which rule an event was decided under. New payloads always carry them; a payload stored
# before a field existed was decided under the old rule, which is what its absence means. The payload says
# it rather than the row's schema_version because websocket and REST events carry no schema version, and
# clients fold them with this same upcaster (tests/client_fold.py hands it to clients/python's client).
_LEGACY_VALUES: dict[tuple[type, str], Any] = {
    (PolygonClosed, "undo_unit"): UNDO_CLOSE,
    (ChangesDiscarded, "scope"): DISCARD_EVERYONE,
    (ChangesDiscarded, "shape_ids"): (),
}
_RULES: dict[tuple[type, str], frozenset[str]] = {
    (PolygonClosed, "undo_unit"): frozenset({UNDO_POLYGON, UNDO_CLOSE}),
    (ChangesDiscarded, "scope"): frozenset({DISCARD_MINE, DISCARD_EVERYONE}),
}


def event_type(event: Event) -> str:
    return EVENT_NAMES[type(event)]


def _pasted_payload(shape: PastedShape) -> dict[str, Any]:
    out: dict[str, Any] = {
        "shape_id": shape.shape_id,
        "label_class_id": shape.label_class_id,
        "points": [[x, y] for x, y in shape.points],
    }
    if shape.group_id is not None:  # as in polygon_added: a whole object's payload has no group_id
        out["group_id"] = shape.group_id
    return out


def event_payload(event: Event) -> dict[str, Any]:
    """The JSON payload stored and sent for an event (everything but the actor)."""
    out: dict[str, Any] = {}
    for name in _PAYLOAD_FIELDS[type(event)]:
        value = getattr(event, name)
        if name == "points":
            value = [[x, y] for x, y in value]
        elif name == "parts":
            value = [{"shape_id": sid, "points": [[x, y] for x, y in pts]} for sid, pts in value]
        elif name == "shapes":
            value = [_pasted_payload(shape) for shape in value]
        elif name in _TUPLE_FIELDS:
            value = list(value)
        elif name == "values":
            value = dict(value)
        elif value is None and (type(event), name) in _OPTIONAL_FIELDS:
            continue
        out[name] = value
    return out


def event_from_record(type_: str, schema_version: int, payload: dict[str, Any], actor: Actor) -> Event:
    """Rebuild a domain event from its stored row, upgrading old schema versions here and only here."""
    if schema_version != SCHEMA_VERSION:
        raise ValueError(f"no upcaster from schema version {schema_version} of {type_}")
    cls = EVENT_TYPES[type_]
    values: dict[str, Any] = {"actor": actor}
    for name in _PAYLOAD_FIELDS[cls]:
        if name not in payload and (cls, name) in _OPTIONAL_FIELDS:
            continue
        if name not in payload and (cls, name) in _LEGACY_VALUES:
            values[name] = _LEGACY_VALUES[cls, name]
            continue
        value = payload[name]
        if (cls, name) in _RULES and value not in _RULES[cls, name]:
            raise ValueError(f"unknown {name} {value!r} of {type_}")
        if name == "points":
            value = tuple((float(x), float(y)) for x, y in value)
        elif name == "parts":
            value = tuple(
                (part["shape_id"], tuple((float(x), float(y)) for x, y in part["points"])) for part in value
            )
        elif name == "shapes":
            value = tuple(
                PastedShape(
                    shape["shape_id"],
                    shape["label_class_id"],
                    tuple((float(x), float(y)) for x, y in shape["points"]),
                    shape.get("group_id"),
                )
                for shape in value
            )
        elif name in _TUPLE_FIELDS:
            value = tuple(value)
        elif name == "values":
            value = tuple(sorted(value.items()))
        values[name] = value
    return cls(**values)


def payload_fields(cls: type) -> list[tuple[str, bool, frozenset[str] | None]]:
    """What a payload of the event class holds on the wire, for schemas (the OpenAPI and AsyncAPI documents):
    each field's name, whether every payload has it (an optional field, or one that payloads stored before
    it existed lack, may be absent), and the values it takes when it names a rule."""
    return [
        (
            name,
            (cls, name) not in _OPTIONAL_FIELDS and (cls, name) not in _LEGACY_VALUES,
            _RULES.get((cls, name)),
        )
        for name in _PAYLOAD_FIELDS[cls]
    ]
