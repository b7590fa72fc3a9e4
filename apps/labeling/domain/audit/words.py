"""How the audit writes what it shows people: a shape ("chair #3"), a vertex as people count them, a point,
a count, a list of shapes, and one undoable action from what it changed ("drew chair #3 (24 vertices)").

Pure like the rest of the domain. Summaries name shapes as people see them, "chair #3" (a polygon still
being drawn: "polygon #3"), and count vertices from 1, never by id or seq (docs/audit.md, "Summaries").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..state import Actor, Change, Point, Shape, UndoEntry
from .diff import DIFF_FIELDS, common_offset

# A list of shapes in a sentence names this many and counts the rest ("chair #1, chair #2, dog #3 and 4 more").
NAMED_SHAPES = 3

LabelName = Callable[[int], str]
PersonName = Callable[[Actor], str]


def short_id(shape_id: str) -> str:
    """How a summary names a shape it cannot number (the state before its event is lost): the first four
    characters of its UUID (the payload has it whole)."""
    return f"{shape_id[:4]}…"


def _number(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def point(x: float, y: float) -> str:
    return f"({_number(x)}, {_number(y)})"


def count(n: int, noun: str) -> str:
    if n == 1:
        return f"1 {noun}"
    return f"{n} {'vertices' if noun == 'vertex' else noun + 's'}"


def vertex(index: int) -> str:
    """A vertex as people count them: the payload's index 0 is "vertex 1"."""
    return f"vertex {index + 1}"


def listed(names: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c", "a, b, c and 2 more"."""
    if len(names) > NAMED_SHAPES:
        return f"{', '.join(names[:NAMED_SHAPES])} and {len(names) - NAMED_SHAPES} more"
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"


def shape_name(shape: Shape, label_name: LabelName) -> str:
    """ "chair #3"; a polygon still being drawn is "polygon #3" (as the labeling page says)."""
    if not shape.closed:
        return f"polygon #{shape.number}"
    label = "shape" if shape.label_class_id is None else label_name(shape.label_class_id)
    return f"{label} #{shape.number}"


def _part(shape: Shape) -> str:
    return "" if shape.group_id is None else f", part of object {shape.group_id}"


# One action, from what it changed ------------------------------------------------------------------


def _first_difference(a: Sequence[Point], b: Sequence[Point]) -> int:
    """The first index where two point lists differ (the shorter one's length if one extends the other)."""
    shorter = min(len(a), len(b))
    return next((i for i in range(shorter) if a[i] != b[i]), shorter)


def _reshaped(old: Shape, new: Shape, label_name: LabelName, event_type: str | None) -> str:
    """What a change of a shape's points was: one vertex added, inserted, removed or moved (named as
    people count them), the whole shape moved, reset, or otherwise reshaped."""
    name = shape_name(old, label_name)
    if event_type == "shape_reset":
        return f"reset {name} to its original geometry"
    before, after = old.points, new.points
    at = _first_difference(before, after)
    if len(after) == len(before) + 1 and (*after[:at], *after[at + 1 :]) == before:
        if at == len(before) and not old.closed:
            return f"added {vertex(at)} to {name}"
        return f"inserted {vertex(at)} into {name}"
    if len(after) == len(before) - 1 and (*before[:at], *before[at + 1 :]) == after:
        return f"removed {vertex(at)} of {name}"
    if len(after) == len(before):
        moved = [i for i, (p, q) in enumerate(zip(before, after, strict=True)) if p != q]
        if len(moved) == 1:
            return f"moved {vertex(moved[0])} of {name}"
        offset = common_offset(before, after)
        if offset is not None:
            return f"moved {name} by {point(*offset)}"
    return f"reshaped {name}"


def attribute_value(value: object) -> str:
    if value is None:
        return "the default"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)


def attribute_values(old: Sequence[tuple[str, object]], new: Sequence[tuple[str, object]]) -> str:
    """What attribute values became: "occluded to yes, colour to 'red'" (a value removed: "the default")."""
    before, after = dict(old), dict(new)
    names = sorted(name for name in {*before, *after} if before.get(name) != after.get(name))
    return ", ".join(f"{name} to {attribute_value(after.get(name))}" for name in names) or "no attribute"


def change_phrase(change: Change, label_name: LabelName, event_type: str | None = None) -> str:
    """What one change of one shape was, without its actor: "drew chair #3 (24 vertices)", "deleted chair
    #3", "moved vertex 2 of chair #3". `event_type` (the type of the event that made it, when known) tells
    apart what the change alone cannot: a polygon added whole from one drawn, a reset from a reshaping."""
    old, new = change.before, change.after
    if new is None:
        if old is None:
            return "changed nothing"
        if old.closed:
            return f"deleted {shape_name(old, label_name)}"
        if event_type == "vertex_removed":  # the draft's only vertex
            return f"removed {vertex(0)} of {shape_name(old, label_name)}"
        return f"discarded {shape_name(old, label_name)} ({count(len(old.points), 'vertex')})"
    if old is None or (not old.closed and new.closed):
        if not new.closed:
            return f"started {shape_name(new, label_name)}"
        verb = "added" if event_type == "polygon_added" else "drew"
        return f"{verb} {shape_name(new, label_name)} ({count(len(new.points), 'vertex')}){_part(new)}"
    name = shape_name(old, label_name)
    changed = {field for field in ("closed", *DIFF_FIELDS) if getattr(old, field) != getattr(new, field)}
    if changed == {"label_class_id"} and new.label_class_id is not None:
        return f"relabeled {name} as {label_name(new.label_class_id)}"
    if changed == {"group_id"}:
        if new.group_id is None:
            return f"made {name} a whole object again (out of its group)"
        return f"made {name} part of object {new.group_id}"
    if changed == {"points"}:
        return _reshaped(old, new, label_name, event_type)
    if changed == {"attributes"}:
        return f"set {attribute_values(old.attributes, new.attributes)} of {name}"
    return f"changed {name}"


_CUTS = ("shapes_merged", "shape_subtracted", "shape_split")


def _cut_phrase(changes: Sequence[Change], label_name: LabelName, event_type: str) -> str:
    """A merge, subtract or split, from what it changed: the shape it reshaped, and the shapes it removed
    (a merge) or made (a subtract or split). A subtract's cutter is not among them: "a shape"."""
    kept = [c.before for c in changes if c.before is not None and c.after is not None]
    if not kept or kept[0] is None:  # an undo or redo that left the shape itself alone
        return f"changed {count(len(changes), 'shape')}"
    name = shape_name(kept[0], label_name)
    if event_type == "shapes_merged":
        removed = [
            shape_name(c.before, label_name) for c in changes if c.before is not None and c.after is None
        ]
        return f"merged {listed(removed)} into {name}" if removed else f"merged into {name}"
    made = [shape_name(c.after, label_name) for c in changes if c.before is None and c.after is not None]
    parts = f"{count(len(made) + 1, 'part')} ({listed([name, *made])})"
    if event_type == "shape_split":
        return f"split {name} into {parts}"
    return f"cut a shape out of {name}" + (f", leaving {parts}" if made else "")


def action_phrase(entry: UndoEntry, label_name: LabelName, event_type: str | None = None) -> str:
    """What one undoable action was, from what it changed (an undo entry), without its actor: what an
    undo or redo quotes ("ann undid 'drew chair #3 (24 vertices)'"). It reads as the action's own event's
    summary does, minus the coordinates. `event_type` is the type of the event that made the entry (at
    `entry.seq`), when the caller knows it."""
    changes = entry.changes
    shapes = count(len(changes), "shape")
    if entry.discard:
        return f"discarded their changes ({shapes})"
    if event_type == "changes_discarded":  # stored before discard was per person (scope "everyone")
        return "discarded the changes since the last save"
    if event_type == "all_shapes_deleted":
        return f"deleted all shapes ({shapes})"
    if event_type == "label_shapes_deleted" and changes and changes[0].before is not None:
        label = changes[0].before.label_class_id
        named = "a deleted label" if label is None else label_name(label)
        return f"deleted the shapes labeled {named} ({shapes})"
    if event_type in _CUTS:
        return _cut_phrase(changes, label_name, event_type)
    if event_type == "shapes_pasted":
        made = [shape_name(c.after, label_name) for c in changes if c.after is not None]
        return f"pasted {shapes} ({listed(made)})" if made else f"pasted {shapes}"
    if len(changes) == 1:
        return change_phrase(changes[0], label_name, event_type)
    if all(c.after is None for c in changes):
        return f"deleted {shapes}"
    if all(c.before is None for c in changes):
        return f"added {shapes}"
    return f"changed {shapes}"
