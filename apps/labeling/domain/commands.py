"""Commands (what a person asks for) and the one parser that turns wire JSON into them. REST and websocket
both call `parse_command`, so a command means the same on both paths."""

from __future__ import annotations

import uuid
from dataclasses import MISSING, dataclass, fields
from typing import Any

from . import review_messages as review_wire
from .attributes import Value, parse_values
from .errors import Rejected

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class AddVertex:
    shape_id: str
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class ClosePolygon:
    shape_id: str
    label_class_id: int
    group_id: str | None = None


@dataclass(frozen=True, slots=True)
class DiscardDraft:
    shape_id: str


@dataclass(frozen=True, slots=True)
class AddPolygon:
    shape_id: str
    label_class_id: int
    points: tuple[Point, ...]
    group_id: str | None = None


@dataclass(frozen=True, slots=True)
class ImportPolygon:
    """A labeled import's polygon: `add_polygon` except that a polygon crossing itself is kept as the
    source drew it. Not on the wire (the parser never makes one); its event is `polygon_added`."""

    shape_id: str
    label_class_id: int
    points: tuple[Point, ...]
    group_id: str | None = None


@dataclass(frozen=True, slots=True)
class GroupShape:
    """Make the shape a part of the object `group_id` (a client-chosen string), or a whole object (None)."""

    shape_id: str
    group_id: str | None


@dataclass(frozen=True, slots=True)
class MoveVertex:
    shape_id: str
    index: int
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class InsertVertex:
    shape_id: str
    index: int
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class RemoveVertex:
    shape_id: str
    index: int


@dataclass(frozen=True, slots=True)
class MoveShape:
    shape_id: str
    dx: float
    dy: float


@dataclass(frozen=True, slots=True)
class RelabelShape:
    shape_id: str
    label_class_id: int


@dataclass(frozen=True, slots=True)
class SetAttributes:
    """Set attribute values of a closed shape ({name: value}, sorted by name; None: back to the default)."""

    shape_id: str
    values: tuple[tuple[str, Value | None], ...]


@dataclass(frozen=True, slots=True)
class ResetShape:
    shape_id: str


@dataclass(frozen=True, slots=True)
class DeleteShape:
    shape_id: str


@dataclass(frozen=True, slots=True)
class DeleteAllShapes:
    pass


@dataclass(frozen=True, slots=True)
class DeleteLabelShapes:
    label_class_id: int


@dataclass(frozen=True, slots=True)
class MergeShapes:
    """Make one shape of `shape_ids` (closed shapes of one label that overlap or touch along a border):
    `into`, one of them, becomes their union and keeps its id and number; the others go."""

    shape_ids: tuple[str, ...]
    into: str


@dataclass(frozen=True, slots=True)
class SubtractShape:
    """Cut the closed shape `by` out of the closed shape `shape_id`; `by` stays as it is."""

    shape_id: str
    by: str


@dataclass(frozen=True, slots=True)
class SplitShape:
    """Cut the closed shape `shape_id` along the polyline `line` (drawn across it) into two or more."""

    shape_id: str
    line: tuple[Point, ...]


@dataclass(frozen=True, slots=True)
class PasteShapes:
    """Add copies of shapes (from this image or another of the job) as one action: all of them or none.
    Each is read as an `add_polygon` is; the client chose the ids (and new group ids for copied groups)."""

    shapes: tuple[AddPolygon, ...]


@dataclass(frozen=True, slots=True)
class Undo:
    pass


@dataclass(frozen=True, slots=True)
class Redo:
    pass


@dataclass(frozen=True, slots=True)
class Save:
    pass


@dataclass(frozen=True, slots=True)
class DiscardChanges:
    pass


@dataclass(frozen=True, slots=True)
class MarkHardExample:
    pass


@dataclass(frozen=True, slots=True)
class UnmarkHardExample:
    pass


Command = (
    AddVertex
    | ClosePolygon
    | DiscardDraft
    | AddPolygon
    | MoveVertex
    | InsertVertex
    | RemoveVertex
    | MoveShape
    | RelabelShape
    | SetAttributes
    | GroupShape
    | ImportPolygon
    | ResetShape
    | DeleteShape
    | DeleteAllShapes
    | DeleteLabelShapes
    | MergeShapes
    | SubtractShape
    | SplitShape
    | PasteShapes
    | Undo
    | Redo
    | Save
    | DiscardChanges
    | MarkHardExample
    | UnmarkHardExample
    | review_wire.ReviewCommand  # issue 24: accept_review, open_issue, ... (review_messages.py)
)

COMMAND_TYPES: dict[str, type] = {
    "add_vertex": AddVertex,
    "close_polygon": ClosePolygon,
    "discard_draft": DiscardDraft,
    "add_polygon": AddPolygon,
    "move_vertex": MoveVertex,
    "insert_vertex": InsertVertex,
    "remove_vertex": RemoveVertex,
    "move_shape": MoveShape,
    "relabel_shape": RelabelShape,
    "set_attributes": SetAttributes,
    "group_shape": GroupShape,
    "reset_shape": ResetShape,
    "delete_shape": DeleteShape,
    "delete_all_shapes": DeleteAllShapes,
    "delete_label_shapes": DeleteLabelShapes,
    "merge_shapes": MergeShapes,
    "subtract_shape": SubtractShape,
    "split_shape": SplitShape,
    "paste_shapes": PasteShapes,
    "undo": Undo,
    "redo": Redo,
    "save": Save,
    "discard_changes": DiscardChanges,
    "mark_hard_example": MarkHardExample,
    "unmark_hard_example": UnmarkHardExample,
    **review_wire.REVIEW_COMMAND_TYPES,
}
COMMAND_NAMES: dict[type, str] = {cls: name for name, cls in COMMAND_TYPES.items()}

# Bounds that keep one malformed request from costing much before decide looks at it.
MAX_POINTS_IN_COMMAND = 100_000
MAX_SHAPES_IN_COMMAND = 1000
INT_LIMIT = 2**53


def _invalid(message: str) -> Rejected:
    return Rejected("invalid_command", message)


def _shape_id(value: Any, name: str = "shape_id") -> str:
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a UUID string.")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise _invalid(f"{name} {value[:60]!r} is not a UUID.") from None


def _shape_ids(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not 2 <= len(value) <= MAX_SHAPES_IN_COMMAND:
        raise _invalid(f"shape_ids must be a list of 2 to {MAX_SHAPES_IN_COMMAND} shape ids.")
    ids = tuple(_shape_id(v, f"shape_ids[{i}]") for i, v in enumerate(value))
    if len(set(ids)) != len(ids):
        raise _invalid("shape_ids names a shape twice.")
    return ids


def _number(name: str, value: Any) -> float:
    # bool is an int in Python but never a coordinate on the wire.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(f"{name} must be a number.")
    if isinstance(value, int) and abs(value) > INT_LIMIT:
        raise _invalid(f"{name} is out of range.")
    # + 0.0 turns -0.0 into 0.0: PostgreSQL's jsonb drops the sign, which would break the hash chain.
    return float(value) + 0.0


def _integer(name: str, value: Any, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > INT_LIMIT:
        raise _invalid(f"{name} must be an integer.")
    if minimum is not None and value < minimum:
        raise _invalid(f"{name} must be at least {minimum}.")
    return value


MAX_GROUP_ID = 64


def _group_id(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_GROUP_ID or not value.isprintable():
        raise _invalid(f"group_id must be null or a printable string of 1 to {MAX_GROUP_ID} characters.")
    return value


def _points(value: Any, name: str = "points") -> tuple[Point, ...]:
    if not isinstance(value, list):
        raise _invalid(f"{name} must be a list of [x, y] pairs.")
    if len(value) > MAX_POINTS_IN_COMMAND:
        raise _invalid(f"{name} has more than {MAX_POINTS_IN_COMMAND} entries.")
    out = []
    for i, pair in enumerate(value):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise _invalid(f"{name}[{i}] must be an [x, y] pair.")
        out.append((_number(f"{name}[{i}][0]", pair[0]), _number(f"{name}[{i}][1]", pair[1])))
    return tuple(out)


def _line(value: Any) -> tuple[Point, ...]:
    line = _points(value, "line")
    if len(line) < 2:
        raise _invalid("line must be a list of at least 2 [x, y] pairs.")
    return line


def _pasted(value: Any) -> tuple[AddPolygon, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_SHAPES_IN_COMMAND:
        raise _invalid(f"shapes must be a list of 1 to {MAX_SHAPES_IN_COMMAND} shapes.")
    shapes = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or "type" in item:
            raise _invalid(f"shapes[{i}] must be an object of shape_id, label_class_id, points, group_id?.")
        try:
            shapes.append(parse_command({**item, "type": "add_polygon"}))
        except Rejected as error:
            raise _invalid(f"shapes[{i}]: {error.message}") from None
    if len({s.shape_id for s in shapes}) != len(shapes):
        raise _invalid("shapes names a shape_id twice.")
    if sum(len(s.points) for s in shapes) > MAX_POINTS_IN_COMMAND:
        raise _invalid(f"shapes have more than {MAX_POINTS_IN_COMMAND} points in all.")
    return tuple(shapes)


_FIELD_PARSERS = {
    "shape_id": lambda v: _shape_id(v),
    "x": lambda v: _number("x", v),
    "y": lambda v: _number("y", v),
    "dx": lambda v: _number("dx", v),
    "dy": lambda v: _number("dy", v),
    "index": lambda v: _integer("index", v, minimum=0),
    "label_class_id": lambda v: _integer("label_class_id", v),
    "points": _points,
    "group_id": _group_id,
    "shape_ids": _shape_ids,
    "into": lambda v: _shape_id(v, "into"),
    "by": lambda v: _shape_id(v, "by"),
    "line": _line,
    "shapes": _pasted,
    "values": parse_values,
    **review_wire.REVIEW_FIELD_PARSERS,
}


def _check_fields(command: Command) -> None:
    """What one field alone cannot say about a command."""
    match command:
        case MergeShapes(shape_ids=shape_ids, into=into) if into not in shape_ids:
            raise _invalid("into must be one of shape_ids (the shape the others merge into).")
        case SubtractShape(shape_id=shape_id, by=by) if by == shape_id:
            raise _invalid("by must be another shape than shape_id.")


def parse_command(data: Any) -> Command:
    """Turn a wire object like {"type": "add_vertex", "shape_id": ..., "x": 1, "y": 2} into a Command.

    Raises Rejected("invalid_command", ...) naming the first thing wrong.
    """
    if not isinstance(data, dict):
        raise _invalid("A command must be a JSON object with a 'type'.")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise _invalid("A command needs a 'type' string.")
    cls = COMMAND_TYPES.get(kind)
    if cls is None:
        raise _invalid(f"Unknown command type {kind[:60]!r}; known: {', '.join(COMMAND_TYPES)}.")
    names = [f.name for f in fields(cls)]
    extra = sorted(set(data) - {"type", *names})
    if extra:
        raise _invalid(f"{kind} does not take {', '.join(map(str, extra))[:200]}.")
    values = {}
    for f in fields(cls):
        if f.name not in data:
            if f.default is MISSING:
                raise _invalid(f"{kind} needs {f.name}.")
            continue
        parse = review_wire.REVIEW_COMMAND_FIELD_PARSERS.get((cls, f.name)) or _FIELD_PARSERS[f.name]
        values[f.name] = parse(data[f.name])
    command = cls(**values)
    _check_fields(command)
    return command


def command_to_dict(command: Command) -> dict[str, Any]:
    """The wire form of a command (the inverse of parse_command)."""
    out: dict[str, Any] = {"type": COMMAND_NAMES[type(command)]}
    for f in fields(command):
        value = getattr(command, f.name)
        if f.default is not MISSING and value == f.default:
            continue  # an optional field at its default is left out, as a client would
        if f.name in ("points", "line"):
            value = [list(p) for p in value]
        elif f.name == "shape_ids":
            value = list(value)
        elif f.name == "shapes":
            value = [{k: v for k, v in command_to_dict(s).items() if k != "type"} for s in value]
        elif f.name == "values":
            value = dict(value)
        out[f.name] = value
    return out
