"""The auditor's reading of a stream: a human summary of each event, and the difference between two states.

Pure like the rest of the domain: summaries read the state just before the event (how many vertices a
closed polygon had, which label a deleted shape wore), the diff compares two states' closed shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, assert_never

from .events import (
    AllShapesDeleted,
    ChangesDiscarded,
    DraftDiscarded,
    Event,
    HardExampleMarked,
    HardExampleUnmarked,
    LabelShapesDeleted,
    PolygonAdded,
    PolygonClosed,
    Redone,
    Saved,
    ShapeDeleted,
    ShapeGrouped,
    ShapeMoved,
    ShapeRelabeled,
    ShapeReset,
    Undone,
    VertexAdded,
    VertexInserted,
    VertexMoved,
    VertexRemoved,
)
from .state import ItemState, Point, Shape

# Two offsets closer than this (in pixels) count as the same move: a shape moved by (dx, dy) has
# vertices whose float differences from the old ones disagree in the last bits.
OFFSET_TOLERANCE = 1e-6
DIFF_FIELDS = ("points", "label_class_id", "group_id")

LabelName = Callable[[int], str]


def short_id(shape_id: str) -> str:
    """How a summary names a shape: the first four characters of its UUID (the payload has it whole)."""
    return f"{shape_id[:4]}…"


def _number(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _point(x: float, y: float) -> str:
    return f"({_number(x)}, {_number(y)})"


def _count(n: int, noun: str) -> str:
    if n == 1:
        return f"1 {noun}"
    return f"{n} {'vertices' if noun == 'vertex' else noun + 's'}"


def _shape(before: ItemState | None, shape_id: str) -> Shape | None:
    return None if before is None else before.shapes.get(shape_id)


def _what(before: ItemState | None, shape_id: str) -> str:
    shape = _shape(before, shape_id)
    return f"{'draft' if shape is not None and not shape.closed else 'shape'} {short_id(shape_id)}"


def _skipped(skipped: Sequence[str]) -> str:
    return f"; {_count(len(skipped), 'shape')} left as they were, changed by others since" if skipped else ""


def event_summary(event: Event, before: ItemState | None, actor_name: str, label_name: LabelName) -> str:
    """One line for a person: "mia drew a polygon labeled cat (4 vertices)". `before` is the state the
    event applied to (None when it cannot be had: the summary then says only what the event holds);
    vertex numbers are the payload's indexes (from 0)."""
    who = actor_name
    match event:
        case VertexAdded(shape_id=shape_id, x=x, y=y):
            draft = _shape(before, shape_id)
            if before is None:
                return f"{who} added a vertex to polygon {short_id(shape_id)} at {_point(x, y)}"
            if draft is None:
                return f"{who} started a polygon {short_id(shape_id)} at {_point(x, y)}"
            return f"{who} added vertex {len(draft.points)} to {_what(before, shape_id)} at {_point(x, y)}"
        case PolygonClosed(shape_id=shape_id, label_class_id=label, group_id=group_id):
            draft = _shape(before, shape_id)
            vertices = "" if draft is None else f" ({_count(len(draft.points), 'vertex')})"
            part = "" if group_id is None else f", part of object {group_id}"
            return f"{who} drew a polygon labeled {label_name(label)}{vertices}{part}"
        case PolygonAdded(label_class_id=label, points=points, group_id=group_id):
            part = "" if group_id is None else f", part of object {group_id}"
            return (
                f"{who} added a polygon labeled {label_name(label)} ({_count(len(points), 'vertex')}){part}"
            )
        case DraftDiscarded(shape_id=shape_id):
            draft = _shape(before, shape_id)
            vertices = "" if draft is None else f" ({_count(len(draft.points), 'vertex')})"
            return f"{who} discarded the draft {short_id(shape_id)}{vertices}"
        case VertexMoved(shape_id=shape_id, index=index, x=x, y=y):
            return f"{who} moved vertex {index} of {_what(before, shape_id)} to {_point(x, y)}"
        case VertexInserted(shape_id=shape_id, index=index, x=x, y=y):
            return f"{who} inserted vertex {index} into {_what(before, shape_id)} at {_point(x, y)}"
        case VertexRemoved(shape_id=shape_id, index=index):
            return f"{who} removed vertex {index} of {_what(before, shape_id)}"
        case ShapeMoved(shape_id=shape_id, dx=dx, dy=dy):
            return f"{who} moved shape {short_id(shape_id)} by {_point(dx, dy)}"
        case ShapeRelabeled(shape_id=shape_id, label_class_id=label):
            shape = _shape(before, shape_id)
            was = (
                ""
                if shape is None or shape.label_class_id is None
                else f" from {label_name(shape.label_class_id)}"
            )
            return f"{who} relabeled shape {short_id(shape_id)}{was} to {label_name(label)}"
        case ShapeGrouped(shape_id=shape_id, group_id=group_id):
            if group_id is None:
                return f"{who} made shape {short_id(shape_id)} a whole object again (out of its group)"
            return f"{who} made shape {short_id(shape_id)} part of object {group_id}"
        case ShapeReset(shape_id=shape_id):
            return f"{who} reset shape {short_id(shape_id)} to its original geometry"
        case ShapeDeleted(shape_id=shape_id):
            shape = _shape(before, shape_id)
            label = (
                ""
                if shape is None or shape.label_class_id is None
                else f" ({label_name(shape.label_class_id)})"
            )
            return f"{who} deleted shape {short_id(shape_id)}{label}"
        case AllShapesDeleted(shape_ids=shape_ids):
            return f"{who} deleted all shapes ({_count(len(shape_ids), 'shape')})"
        case LabelShapesDeleted(label_class_id=label, shape_ids=shape_ids):
            return f"{who} deleted the shapes labeled {label_name(label)} ({_count(len(shape_ids), 'shape')})"
        case Undone(target_seq=target, shape_ids=shape_ids, skipped_shape_ids=skipped):
            return f"{who} undid seq {target} ({_count(len(shape_ids), 'shape')}{_skipped(skipped)})"
        case Redone(target_seq=target, shape_ids=shape_ids, skipped_shape_ids=skipped):
            return f"{who} redid seq {target} ({_count(len(shape_ids), 'shape')}{_skipped(skipped)})"
        case Saved():
            if before is None:
                return f"{who} saved"
            return f"{who} saved ({_count(len(before.closed_shapes()), 'shape')})"
        case ChangesDiscarded(shape_ids=shape_ids, skipped_shape_ids=skipped, scope=scope) if scope == "mine":
            if before is None or not before.saved_seq:
                since = "the last save" if before is None else "the start (no save yet)"
            else:
                since = f"the last save (seq {before.saved_seq})"
            return f"{who} discarded their own changes since {since} ({_count(len(shape_ids), 'shape')}{_skipped(skipped)})"
        case ChangesDiscarded(skipped_shape_ids=skipped):
            if before is None:
                since = "the last save"
            elif before.saved_seq:
                since = f"the last save (seq {before.saved_seq})"
            else:
                since = "the start (no save yet)"
            tail = (
                f"; {_count(len(skipped), 'saved shape')} not restored, its label class is gone"
                if skipped
                else ""
            )
            return f"{who} discarded the changes since {since}{tail}"
        case HardExampleMarked():
            return f"{who} marked the image as a hard example"
        case HardExampleUnmarked():
            return f"{who} unmarked the image as a hard example"
        case _:
            assert_never(event)


# The difference between two states -----------------------------------------------------------------


def shape_audit_view(shape: Shape) -> dict[str, Any]:
    """A closed shape as the state view shows it, plus who drew it."""
    view: dict[str, Any] = {
        "id": shape.id,
        "number": shape.number,
        "label_class_id": shape.label_class_id,
        "points": [[x, y] for x, y in shape.points],
    }
    if shape.group_id is not None:
        view["group_id"] = shape.group_id
    view["actor"] = shape.actor
    return view


def common_offset(before: Sequence[Point], after: Sequence[Point]) -> list[float] | None:
    """[dx, dy] when every vertex moved by the same offset (within OFFSET_TOLERANCE), else None."""
    if len(before) != len(after) or not before:
        return None
    dx, dy = after[0][0] - before[0][0], after[0][1] - before[0][1]
    for (x0, y0), (x1, y1) in zip(before, after, strict=True):
        if abs((x1 - x0) - dx) > OFFSET_TOLERANCE or abs((y1 - y0) - dy) > OFFSET_TOLERANCE:
            return None
    return [round(dx, 6) + 0.0, round(dy, 6) + 0.0]  # + 0.0 writes -0.0 as 0.0


def _changed(old: Shape, new: Shape) -> dict[str, Any] | None:
    changes = [name for name in DIFF_FIELDS if getattr(old, name) != getattr(new, name)]
    if not changes:
        return None
    entry: dict[str, Any] = {
        "id": new.id,
        "before": shape_audit_view(old),
        "after": shape_audit_view(new),
        "changes": changes,
    }
    if "points" in changes and len(old.points) == len(new.points):
        entry["moved_vertices"] = [
            index for index, (p, q) in enumerate(zip(old.points, new.points, strict=True)) if p != q
        ]
        offset = common_offset(old.points, new.points)
        if offset is not None:
            entry["moved_by"] = offset
    return entry


def state_diff(before: ItemState, after: ItemState) -> dict[str, list[dict[str, Any]]]:
    """What changed in the closed shapes from `before` to `after` (drafts are not compared).

    A shape under the same id but drawn by someone else (a freed id reused) is another shape: removed
    and added, not changed. Drawing order and reset points are not compared.
    """
    old = {s.id: s for s in before.closed_shapes()}
    new = {s.id: s for s in after.closed_shapes()}

    def same_shape(a: Shape | None, b: Shape | None) -> bool:
        return a is not None and b is not None and a.actor == b.actor

    added = [shape_audit_view(s) for sid, s in new.items() if not same_shape(old.get(sid), s)]
    removed = [shape_audit_view(s) for sid, s in old.items() if not same_shape(s, new.get(sid))]
    changed = []
    for sid, shape in new.items():
        previous = old.get(sid)
        if previous is not None and same_shape(previous, shape):
            entry = _changed(previous, shape)
            if entry is not None:
                changed.append(entry)
    return {"added": added, "removed": removed, "changed": changed}
