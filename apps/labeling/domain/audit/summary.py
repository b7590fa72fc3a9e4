"""The summary of an event in people's words, and the facts a timeline groups its rows by.

Both read the state just before the event: how many vertices a closed polygon had, which label a deleted
shape wore, which action an undo took back. Without that state (None) a summary says only what the event
holds (docs/audit.md, "Summaries" and "Grouping").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_never

from ..events import (
    DISCARD_EVERYONE,
    AllShapesDeleted,
    AttributesSet,
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
    ShapesMerged,
    ShapesPasted,
    ShapeSplit,
    ShapeSubtracted,
    Undone,
    VertexAdded,
    VertexInserted,
    VertexMoved,
    VertexRemoved,
)
from ..review_messages import (
    IssueCommented,
    IssueOpened,
    IssueReopened,
    IssueResolved,
    ReviewAccepted,
    ReviewRejected,
    ReviewReopened,
)
from ..state import Actor, Change, ItemState, Shape, UndoEntry, pending_entries
from . import words
from .words import LabelName, PersonName, action_phrase, shape_name, short_id


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
        parts.append(f"{words.listed(names)} {what}{', ' if who is None else ': '}{reason}")
    if unnamed:
        was = "it was" if unnamed == 1 else "they were"
        parts.append(f"{words.count(unnamed, 'shape')} left as {was}, changed by others since")
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
                return f"{who} added a vertex to {_name(before, shape_id, label_name)} at {words.point(x, y)}"
            if draft is None:
                return f"{who} started polygon #{before.next_number} at {words.point(x, y)}"
            name = shape_name(draft, label_name)
            return f"{who} added {words.vertex(len(draft.points))} to {name} at {words.point(x, y)}"
        case PolygonClosed(shape_id=shape_id, label_class_id=label, group_id=group_id):
            draft = _shape(before, shape_id)
            part = "" if group_id is None else f", part of object {group_id}"
            if draft is None:
                return f"{who} drew a polygon labeled {label_name(label)}{part}"
            vertices = words.count(len(draft.points), "vertex")
            return f"{who} drew {label_name(label)} #{draft.number} ({vertices}){part}"
        case PolygonAdded(label_class_id=label, points=points, group_id=group_id):
            part = "" if group_id is None else f", part of object {group_id}"
            vertices = words.count(len(points), "vertex")
            if before is None:
                return f"{who} added a polygon labeled {label_name(label)} ({vertices}){part}"
            return f"{who} added {label_name(label)} #{before.next_number} ({vertices}){part}"
        case DraftDiscarded(shape_id=shape_id):
            draft = _shape(before, shape_id)
            vertices = "" if draft is None else f" ({words.count(len(draft.points), 'vertex')})"
            return f"{who} discarded {_name(before, shape_id, label_name)}{vertices}"
        case VertexMoved(shape_id=shape_id, index=index, x=x, y=y):
            name = _name(before, shape_id, label_name)
            return f"{who} moved {words.vertex(index)} of {name} to {words.point(x, y)}"
        case VertexInserted(shape_id=shape_id, index=index, x=x, y=y):
            name = _name(before, shape_id, label_name)
            return f"{who} inserted {words.vertex(index)} into {name} at {words.point(x, y)}"
        case VertexRemoved(shape_id=shape_id, index=index):
            return f"{who} removed {words.vertex(index)} of {_name(before, shape_id, label_name)}"
        case ShapeMoved(shape_id=shape_id, dx=dx, dy=dy):
            return f"{who} moved {_name(before, shape_id, label_name)} by {words.point(dx, dy)}"
        case ShapeRelabeled(shape_id=shape_id, label_class_id=label):
            return f"{who} relabeled {_name(before, shape_id, label_name)} as {label_name(label)}"
        case AttributesSet(shape_id=shape_id, values=values):
            changed = ", ".join(f"{name} to {words.attribute_value(value)}" for name, value in values)
            return f"{who} set {changed} of {_name(before, shape_id, label_name)}"
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
            return f"{who} deleted all shapes ({words.count(len(shape_ids), 'shape')})"
        case LabelShapesDeleted(label_class_id=label, shape_ids=shape_ids):
            return f"{who} deleted the shapes labeled {label_name(label)} ({words.count(len(shape_ids), 'shape')})"
        case ShapesMerged(into=into, shape_ids=shape_ids):
            others = [sid for sid in shape_ids if sid != into]
            merged = (
                words.count(len(others), "shape")
                if before is None
                else words.listed([_name(before, sid, label_name) for sid in others])
            )
            return f"{who} merged {merged} into {_name(before, into, label_name)}"
        case ShapeSubtracted(shape_id=shape_id, by=by, parts=parts):
            cut = f"{who} cut {_name(before, by, label_name)} out of {_name(before, shape_id, label_name)}"
            return cut if len(parts) == 1 else f"{cut}, leaving {_parts(before, shape_id, parts, label_name)}"
        case ShapeSplit(shape_id=shape_id, parts=parts):
            name = _name(before, shape_id, label_name)
            return f"{who} split {name} into {_parts(before, shape_id, parts, label_name)}"
        case ShapesPasted(shapes=shapes):
            if before is None:
                return f"{who} pasted {words.count(len(shapes), 'shape')}"
            names = [
                f"{label_name(s.label_class_id)} #{before.next_number + n}" for n, s in enumerate(shapes)
            ]
            return f"{who} pasted {words.count(len(shapes), 'shape')} ({words.listed(names)})"
        case (
            Undone(actor=actor, target_seq=target, shape_ids=shape_ids, skipped_shape_ids=skipped)
            | Redone(actor=actor, target_seq=target, shape_ids=shape_ids, skipped_shape_ids=skipped)
        ):
            undoing = isinstance(event, Undone)
            verb = "undid" if undoing else "redid"
            entry = _top_entry(before, actor, target, undoing)
            if entry is None:  # the state before is lost: what the payload says
                tail = _left_alone(None, actor, skipped, target, (), undoing, label_name, None)
                return f"{who} {verb} their action of seq {target} ({words.count(len(shape_ids), 'shape')}){tail}"
            tail = _left_alone(
                before, actor, skipped, target, entry.changes, undoing, label_name, person_name
            )
            return f"{who} {verb} '{action_phrase(entry, label_name, target_type)}'{tail}"
        case Saved():
            if before is None:
                return f"{who} saved"
            return f"{who} saved ({words.count(len(before.closed_shapes()), 'shape')})"
        case ChangesDiscarded(skipped_shape_ids=skipped) if event.scope == DISCARD_EVERYONE:
            # Stored before discard was per person: every closed shape went back to the last save.
            return (
                f"{who} discarded the changes since the last save{_not_restored(before, skipped, label_name)}"
            )
        case ChangesDiscarded(actor=actor, shape_ids=shape_ids, skipped_shape_ids=skipped):
            since, pending = (0, ()) if before is None else (before.saved_seq, pending_entries(before, actor))
            changes = [change for entry in pending for change in entry.changes]
            tail = _left_alone(before, actor, skipped, since, changes, True, label_name, person_name)
            return f"{who} discarded their changes ({words.count(len(shape_ids), 'shape')}){tail}"
        case HardExampleMarked():
            return f"{who} marked the image as a hard example"
        case HardExampleUnmarked():
            return f"{who} unmarked the image as a hard example"
        case ReviewAccepted():
            return f"{who} accepted the image"
        case ReviewRejected(reason=reason):
            return f"{who} rejected the image: {_quoted(reason)}"
        case ReviewReopened():
            return f"{who} reopened the image's review"
        case IssueOpened(issue_id=issue_id, x=x, y=y, shape_id=shape_id, text=text):
            on = "" if shape_id is None else f" on {_name(before, shape_id, label_name)}"
            name = f"issue {len(before.issues) + 1}" if before is not None else "an issue"
            return f"{who} opened {name} at {words.point(x, y)}{on}: {_quoted(text)}"
        case IssueCommented(issue_id=issue_id, text=text):
            return f"{who} commented on {_issue(before, issue_id)}: {_quoted(text)}"
        case IssueResolved(issue_id=issue_id):
            return f"{who} resolved {_issue(before, issue_id)}"
        case IssueReopened(issue_id=issue_id):
            return f"{who} reopened {_issue(before, issue_id)}"
        case _:
            assert_never(event)


def _quoted(text: str, longest: int = 80) -> str:
    """A person's text in a summary: quoted, on one line, cut past `longest` characters."""
    line = " ".join(text.split())
    return f"“{line if len(line) <= longest else line[: longest - 1] + '…'}”"


def _issue(before: ItemState | None, issue_id: str) -> str:
    """ "issue 2": issues are numbered in the order they were opened on the image, as the page shows them."""
    if before is not None:
        for n, known in enumerate(before.issues, start=1):
            if known == issue_id:
                return f"issue {n}"
    return "an issue"


def _parts(before: ItemState | None, shape_id: str, parts: Sequence[object], label_name: LabelName) -> str:
    """ "2 parts (cat #1 and cat #7)": the shape keeps its number, the new parts take the next ones."""
    shape = _shape(before, shape_id)
    if before is None or shape is None:
        return words.count(len(parts), "part")
    label = "shape" if shape.label_class_id is None else label_name(shape.label_class_id)
    new = [f"{label} #{before.next_number + n}" for n in range(len(parts) - 1)]
    return f"{words.count(len(parts), 'part')} ({words.listed([shape_name(shape, label_name), *new])})"


def _not_restored(before: ItemState | None, skipped: Sequence[str], label_name: LabelName) -> str:
    if not skipped:
        return ""
    saved = [] if before is None else [before.saved[sid] for sid in skipped if sid in before.saved]
    if len(saved) != len(skipped):
        return f"; {words.count(len(skipped), 'saved shape')} not restored, its label class is gone"
    names = [shape_name(shape, label_name) for shape in saved]
    return (
        f"; {words.listed(names)} not restored, {'its' if len(names) == 1 else 'their'} label class is gone"
    )


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
            | AttributesSet(shape_id=shape_id)
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
