"""The auditor's reading of a stream: a summary of each event in people's words, the phrase for one undoable
action, a timeline's grouping facts, and the difference between two states.

Pure like the rest of the domain: summaries read the state just before the event (how many vertices a
closed polygon had, which label a deleted shape wore, which action an undo took back), the diff compares
two states' closed shapes. Summaries name shapes as people see them, "chair #3" (a polygon still being
drawn: "polygon #3"), and count vertices from 1, never by id or seq (docs/audit.md, "Summaries").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, assert_never

from .events import (
    DISCARD_EVERYONE,
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
from .state import Actor, Change, ItemState, Point, Shape, UndoEntry, pending_entries

# Two offsets closer than this (in pixels) count as the same move: a shape moved by (dx, dy) has
# vertices whose float differences from the old ones disagree in the last bits.
OFFSET_TOLERANCE = 1e-6
DIFF_FIELDS = ("points", "label_class_id", "group_id")
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


def _point(x: float, y: float) -> str:
    return f"({_number(x)}, {_number(y)})"


def _count(n: int, noun: str) -> str:
    if n == 1:
        return f"1 {noun}"
    return f"{n} {'vertices' if noun == 'vertex' else noun + 's'}"


def _vertex(index: int) -> str:
    """A vertex as people count them: the payload's index 0 is "vertex 1"."""
    return f"vertex {index + 1}"


def _listed(names: Sequence[str]) -> str:
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
            return f"added {_vertex(at)} to {name}"
        return f"inserted {_vertex(at)} into {name}"
    if len(after) == len(before) - 1 and (*before[:at], *before[at + 1 :]) == after:
        return f"removed {_vertex(at)} of {name}"
    if len(after) == len(before):
        moved = [i for i, (p, q) in enumerate(zip(before, after, strict=True)) if p != q]
        if len(moved) == 1:
            return f"moved {_vertex(moved[0])} of {name}"
        offset = common_offset(before, after)
        if offset is not None:
            return f"moved {name} by {_point(*offset)}"
    return f"reshaped {name}"


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
            return f"removed {_vertex(0)} of {shape_name(old, label_name)}"
        return f"discarded {shape_name(old, label_name)} ({_count(len(old.points), 'vertex')})"
    if old is None or (not old.closed and new.closed):
        if not new.closed:
            return f"started {shape_name(new, label_name)}"
        verb = "added" if event_type == "polygon_added" else "drew"
        return f"{verb} {shape_name(new, label_name)} ({_count(len(new.points), 'vertex')}){_part(new)}"
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
    return f"changed {name}"


def action_phrase(entry: UndoEntry, label_name: LabelName, event_type: str | None = None) -> str:
    """What one undoable action was, from what it changed (an undo entry), without its actor: what an
    undo or redo quotes ("ann undid 'drew chair #3 (24 vertices)'"). It reads as the action's own event's
    summary does, minus the coordinates. `event_type` is the type of the event that made the entry (at
    `entry.seq`), when the caller knows it."""
    changes = entry.changes
    shapes = _count(len(changes), "shape")
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
    if len(changes) == 1:
        return change_phrase(changes[0], label_name, event_type)
    if all(c.after is None for c in changes):
        return f"deleted {shapes}"
    if all(c.before is None for c in changes):
        return f"added {shapes}"
    return f"changed {shapes}"


# The summary of an event -----------------------------------------------------------------------------


def _shape(before: ItemState | None, shape_id: str) -> Shape | None:
    return None if before is None else before.shapes.get(shape_id)


def _name(before: ItemState | None, shape_id: str, label_name: LabelName) -> str:
    """A shape the event names, as the state before it knows it. Without that state, the payload's id is
    all there is; a state without the shape (a stream altered in the database) says so."""
    if before is None:
        return f"shape {short_id(shape_id)}"
    shape = before.shapes.get(shape_id)
    return "a shape that was not there" if shape is None else shape_name(shape, label_name)


def _top_entry(before: ItemState | None, actor: Actor, seq: int, undoing: bool) -> UndoEntry | None:
    """The entry an undo (a redo) takes back: the top of the person's undo (redo) stack, made by `seq`."""
    if before is None:
        return None
    stack = (before.undo if undoing else before.redo).get(actor, ())
    return stack[-1] if stack and stack[-1].seq == seq else None


def _changed_by(state: ItemState, shape_id: str, actor: Actor, since: int) -> Actor | None:
    """Who else changed the shape last after `since`, as the undo histories remember it (None when they
    do not: history beyond the undo depth, or a label class deleted rather than a person's change)."""
    latest: tuple[int, Actor] | None = None
    for stacks in (state.undo, state.redo):
        for other, stack in stacks.items():
            if other == actor:
                continue
            for entry in stack:
                later = entry.seq > since and (latest is None or entry.seq > latest[0])
                if later and any(c.shape_id == shape_id for c in entry.changes):
                    latest = (entry.seq, other)
    return None if latest is None else latest[1]


def _left_alone(
    before: ItemState | None,
    actor: Actor,
    skipped: Sequence[str],
    since: int,
    changes: Sequence[Change],
    undoing: bool,
    label_name: LabelName,
    person_name: PersonName | None,
) -> str:
    """The tail of an undo, redo or discard that left shapes as they were because someone else changed
    them since: "; chair #4 left as it was: bob changed it since", by person, in words. `changes` are
    the action's (a discard's: the pending ones, oldest first), for the names of shapes gone since and
    for what the undo (`undoing`) or redo would have put back."""
    if not skipped:
        return ""
    seen: dict[str, Shape | None] = {}  # a name for each shape, from whichever side has it
    wanted: dict[str, Shape | None] = {}  # what the action would have made of it
    for change in reversed(changes) if undoing else changes:
        seen[change.shape_id] = change.after or change.before
        wanted[change.shape_id] = change.before if undoing else change.after
    groups: dict[tuple[str | None, str], list[str]] = {}
    unnamed = 0
    for shape_id in skipped:
        current = _shape(before, shape_id)
        shape = current or seen.get(shape_id)
        if before is None or shape is None:
            unnamed += 1
            continue
        changer = _changed_by(before, shape_id, actor, since)
        who = None if changer is None or person_name is None else person_name(changer)
        if current is None:
            fate = "deleted" if wanted.get(shape_id) is None else "not brought back"
        else:
            fate = "changed"
        groups.setdefault((who, fate), []).append(shape_name(shape, label_name))
    parts = []
    for (who, fate), names in groups.items():
        one = len(names) == 1
        it = "it" if one else "them"
        what = (
            "not brought back"
            if fate == "not brought back"
            else f"left as {'it was' if one else 'they were'}"
        )
        done = "changed" if fate == "changed" else "deleted"
        reason = f"{done} by others since" if who is None else f"{who} {done} {it} since"
        parts.append(f"{_listed(names)} {what}{', ' if who is None else ': '}{reason}")
    if unnamed:
        was = "it was" if unnamed == 1 else "they were"
        parts.append(f"{_count(unnamed, 'shape')} left as {was}, changed by others since")
    return "; " + "; ".join(parts)


def event_summary(
    event: Event,
    before: ItemState | None,
    actor_name: str,
    label_name: LabelName,
    *,
    person_name: PersonName | None = None,
    target_type: str | None = None,
) -> str:
    """One line for a person: "ann drew chair #3 (24 vertices)", "ann undid 'drew chair #3 (24 vertices)'".

    `before` is the state the event applied to (None when it cannot be had: the summary then says only
    what the event holds). `person_name` names the others an undo or discard left shapes alone for;
    `target_type` is the type of the event an undone/redone takes back (see `action_phrase`).
    """
    who = actor_name
    match event:
        case VertexAdded(shape_id=shape_id, x=x, y=y):
            draft = _shape(before, shape_id)
            if before is None:
                return f"{who} added a vertex to {_name(before, shape_id, label_name)} at {_point(x, y)}"
            if draft is None:
                return f"{who} started polygon #{before.next_number} at {_point(x, y)}"
            name = shape_name(draft, label_name)
            return f"{who} added {_vertex(len(draft.points))} to {name} at {_point(x, y)}"
        case PolygonClosed(shape_id=shape_id, label_class_id=label, group_id=group_id):
            draft = _shape(before, shape_id)
            part = "" if group_id is None else f", part of object {group_id}"
            if draft is None:
                return f"{who} drew a polygon labeled {label_name(label)}{part}"
            vertices = _count(len(draft.points), "vertex")
            return f"{who} drew {label_name(label)} #{draft.number} ({vertices}){part}"
        case PolygonAdded(label_class_id=label, points=points, group_id=group_id):
            part = "" if group_id is None else f", part of object {group_id}"
            vertices = _count(len(points), "vertex")
            if before is None:
                return f"{who} added a polygon labeled {label_name(label)} ({vertices}){part}"
            return f"{who} added {label_name(label)} #{before.next_number} ({vertices}){part}"
        case DraftDiscarded(shape_id=shape_id):
            draft = _shape(before, shape_id)
            vertices = "" if draft is None else f" ({_count(len(draft.points), 'vertex')})"
            return f"{who} discarded {_name(before, shape_id, label_name)}{vertices}"
        case VertexMoved(shape_id=shape_id, index=index, x=x, y=y):
            name = _name(before, shape_id, label_name)
            return f"{who} moved {_vertex(index)} of {name} to {_point(x, y)}"
        case VertexInserted(shape_id=shape_id, index=index, x=x, y=y):
            name = _name(before, shape_id, label_name)
            return f"{who} inserted {_vertex(index)} into {name} at {_point(x, y)}"
        case VertexRemoved(shape_id=shape_id, index=index):
            return f"{who} removed {_vertex(index)} of {_name(before, shape_id, label_name)}"
        case ShapeMoved(shape_id=shape_id, dx=dx, dy=dy):
            return f"{who} moved {_name(before, shape_id, label_name)} by {_point(dx, dy)}"
        case ShapeRelabeled(shape_id=shape_id, label_class_id=label):
            return f"{who} relabeled {_name(before, shape_id, label_name)} as {label_name(label)}"
        case ShapeGrouped(shape_id=shape_id, group_id=group_id):
            name = _name(before, shape_id, label_name)
            if group_id is None:
                return f"{who} made {name} a whole object again (out of its group)"
            return f"{who} made {name} part of object {group_id}"
        case ShapeReset(shape_id=shape_id):
            return f"{who} reset {_name(before, shape_id, label_name)} to its original geometry"
        case ShapeDeleted(shape_id=shape_id):
            return f"{who} deleted {_name(before, shape_id, label_name)}"
        case AllShapesDeleted(shape_ids=shape_ids):
            return f"{who} deleted all shapes ({_count(len(shape_ids), 'shape')})"
        case LabelShapesDeleted(label_class_id=label, shape_ids=shape_ids):
            return f"{who} deleted the shapes labeled {label_name(label)} ({_count(len(shape_ids), 'shape')})"
        case (
            Undone(actor=actor, target_seq=target, shape_ids=shape_ids, skipped_shape_ids=skipped)
            | Redone(actor=actor, target_seq=target, shape_ids=shape_ids, skipped_shape_ids=skipped)
        ):
            undoing = isinstance(event, Undone)
            verb = "undid" if undoing else "redid"
            entry = _top_entry(before, actor, target, undoing)
            if entry is None:  # the state before is lost: what the payload says
                tail = _left_alone(None, actor, skipped, target, (), undoing, label_name, None)
                return f"{who} {verb} their action of seq {target} ({_count(len(shape_ids), 'shape')}){tail}"
            tail = _left_alone(
                before, actor, skipped, target, entry.changes, undoing, label_name, person_name
            )
            return f"{who} {verb} '{action_phrase(entry, label_name, target_type)}'{tail}"
        case Saved():
            if before is None:
                return f"{who} saved"
            return f"{who} saved ({_count(len(before.closed_shapes()), 'shape')})"
        case ChangesDiscarded(skipped_shape_ids=skipped) if event.scope == DISCARD_EVERYONE:
            # Stored before discard was per person: every closed shape went back to the last save.
            return (
                f"{who} discarded the changes since the last save{_not_restored(before, skipped, label_name)}"
            )
        case ChangesDiscarded(actor=actor, shape_ids=shape_ids, skipped_shape_ids=skipped):
            since, pending = (0, ()) if before is None else (before.saved_seq, pending_entries(before, actor))
            changes = [change for entry in pending for change in entry.changes]
            tail = _left_alone(before, actor, skipped, since, changes, True, label_name, person_name)
            return f"{who} discarded their changes ({_count(len(shape_ids), 'shape')}){tail}"
        case HardExampleMarked():
            return f"{who} marked the image as a hard example"
        case HardExampleUnmarked():
            return f"{who} unmarked the image as a hard example"
        case _:
            assert_never(event)


def _not_restored(before: ItemState | None, skipped: Sequence[str], label_name: LabelName) -> str:
    if not skipped:
        return ""
    saved = [] if before is None else [before.saved[sid] for sid in skipped if sid in before.saved]
    if len(saved) != len(skipped):
        return f"; {_count(len(skipped), 'saved shape')} not restored, its label class is gone"
    names = [shape_name(shape, label_name) for shape in saved]
    return f"; {_listed(names)} not restored, {'its' if len(names) == 1 else 'their'} label class is gone"


# Grouping a timeline ---------------------------------------------------------------------------------


def _is_draft_step(entry: UndoEntry) -> bool:
    """An undo entry of one step of drawing a draft: one change, a draft (or nothing) on both sides."""
    if entry.discard or len(entry.changes) != 1:
        return False
    change = entry.changes[0]
    sides = (change.before, change.after)
    return any(s is not None for s in sides) and all(s is None or not s.closed for s in sides)


def draft_step(event: Event, before: ItemState | None) -> bool:
    """Whether the event is a step of drawing a polygon: a vertex added, moved, inserted or removed while
    the shape is a draft (or, for the first vertex, absent), or the undo or redo of such a step. A
    timeline shows a draft's steps as one row that expands (docs/audit.md, "Grouping")."""
    match event:
        case VertexAdded(shape_id=shape_id):
            shape = _shape(before, shape_id)
            return shape is None or not shape.closed
        case (
            VertexMoved(shape_id=shape_id)
            | VertexInserted(shape_id=shape_id)
            | VertexRemoved(shape_id=shape_id)
        ):
            shape = _shape(before, shape_id)
            return shape is not None and not shape.closed
        case Undone(actor=actor, target_seq=target) | Redone(actor=actor, target_seq=target):
            entry = _top_entry(before, actor, target, isinstance(event, Undone))
            return entry is not None and _is_draft_step(entry)
        case _:
            return False


def shape_number(event: Event, before: ItemState | None) -> int | None:
    """The number of the one shape the event concerns (a new shape's is the one it gets), or None: an
    event about several shapes or none, or a state before it that is lost."""
    if before is None:
        return None
    match event:
        case PolygonAdded():
            return before.next_number
        case VertexAdded(shape_id=shape_id):
            shape = before.shapes.get(shape_id)
            return before.next_number if shape is None else shape.number
        case (
            PolygonClosed(shape_id=shape_id)
            | DraftDiscarded(shape_id=shape_id)
            | VertexMoved(shape_id=shape_id)
            | VertexInserted(shape_id=shape_id)
            | VertexRemoved(shape_id=shape_id)
            | ShapeMoved(shape_id=shape_id)
            | ShapeRelabeled(shape_id=shape_id)
            | ShapeGrouped(shape_id=shape_id)
            | ShapeReset(shape_id=shape_id)
            | ShapeDeleted(shape_id=shape_id)
        ):
            shape = before.shapes.get(shape_id)
            return None if shape is None else shape.number
        case Undone(actor=actor, target_seq=target) | Redone(actor=actor, target_seq=target):
            entry = _top_entry(before, actor, target, isinstance(event, Undone))
            if entry is None or len(entry.changes) != 1:
                return None
            change = entry.changes[0]
            shape = change.after or change.before
            return None if shape is None else shape.number
        case _:
            return None


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
