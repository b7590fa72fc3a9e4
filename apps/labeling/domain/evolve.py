"""evolve(state, event) -> state: apply one event. It never refuses; decide has already guarded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import assert_never

from .events import (
    DISCARD_EVERYONE,
    UNDO_CLOSE,
    AllShapesDeleted,
    AttributesSet,
    ChangesDiscarded,
    DraftDiscarded,
    Event,
    HardExampleMarked,
    HardExampleUnmarked,
    LabelShapesDeleted,
    Part,
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
from .review import evolve_review, review_after_save
from .review_messages import REVIEW_EVENTS
from .state import UNDO_DEPTH, Actor, Change, ItemState, Shape, UndoEntry, content, pending_entries

Patch = Mapping[str, Shape | None]


def _state(s: ItemState, **kw: object) -> ItemState:
    # A hand-written replace(): dataclasses.replace is several times slower on the replay hot path.
    return ItemState(
        width=s.width,
        height=s.height,
        seq=kw.get("seq", s.seq),  # type: ignore[arg-type]
        saved_seq=kw.get("saved_seq", s.saved_seq),  # type: ignore[arg-type]
        hard_example=kw.get("hard_example", s.hard_example),  # type: ignore[arg-type]
        next_number=kw.get("next_number", s.next_number),  # type: ignore[arg-type]
        shapes=kw.get("shapes", s.shapes),  # type: ignore[arg-type]
        saved=kw.get("saved", s.saved),  # type: ignore[arg-type]
        undo=kw.get("undo", s.undo),  # type: ignore[arg-type]
        redo=kw.get("redo", s.redo),  # type: ignore[arg-type]
        review=kw.get("review", s.review),  # type: ignore[arg-type]
        issues=kw.get("issues", s.issues),  # type: ignore[arg-type]
    )


def _patched(shapes: Mapping[str, Shape], patch: Patch) -> dict[str, Shape]:
    out = dict(shapes)
    for shape_id, shape in patch.items():
        if shape is None:
            out.pop(shape_id, None)
        else:
            out[shape_id] = shape
    return out


def _with(stacks: Mapping[Actor, tuple[UndoEntry, ...]], actor: Actor, stack: tuple[UndoEntry, ...]):
    out = dict(stacks)
    if stack:
        out[actor] = stack[-UNDO_DEPTH:]
    else:
        out.pop(actor, None)
    return out


def _act(state: ItemState, seq: int, actor: Actor, patch: Patch, **kw: object) -> ItemState:
    """Apply a person's undoable action: change shapes, push an undo entry, clear their redo."""
    if not patch:
        return _state(state, seq=seq)
    changes = tuple(Change(sid, state.shapes.get(sid), new) for sid, new in patch.items())
    undo = _with(state.undo, actor, (*state.undo.get(actor, ()), UndoEntry(seq, changes)))
    redo = _with(state.redo, actor, ()) if actor in state.redo else state.redo
    return _state(state, seq=seq, shapes=_patched(state.shapes, patch), undo=undo, redo=redo, **kw)


def _created(state: ItemState, seq: int, actor: Actor, shape: Shape) -> ItemState:
    """A new shape on the image (built with the number `state.next_number`): the next one is one more."""
    return _act(state, seq, actor, {shape.id: shape}, next_number=shape.number + 1)


def _restore(state: ItemState, current: Shape | None, target: Shape | None) -> Shape | None:
    """The shape undo/redo/discard puts back: the target's content with today's reset point, which is the
    current one, or the last save's geometry for a shape that comes back and was in that save. The current
    shape and the save must be this very shape (its number), not another that reused its freed id
    (docs/domain.md)."""
    if target is None or not target.closed:
        return target
    saved = state.saved.get(target.id)
    if current is not None and current.closed and current.number == target.number:
        original = current.original
    elif saved is not None and saved.number == target.number:
        original = saved.points
    else:
        original = target.original
    if original == target.original:
        return target
    return replace(target, original=original)


def _edit(state: ItemState, shape_id: str, points: tuple[tuple[float, float], ...] | None = None, **kw):
    shape = state.shapes.get(shape_id)
    if shape is None:
        return {}
    return {shape_id: replace(shape, **kw) if points is None else replace(shape, points=points, **kw)}


def _points_of(state: ItemState, shape_id: str) -> tuple[tuple[float, float], ...]:
    shape = state.shapes.get(shape_id)
    return () if shape is None else shape.points


def _cut(
    state: ItemState, seq: int, actor: Actor, shape_id: str, parts: tuple[Part, ...], group_id: str | None
) -> ItemState:
    """A subtract or split: the shape takes the first part's points, and each other part becomes a new
    shape of its label in `group_id`, drawn by the actor, numbered in order. One action of the actor."""
    shape = state.shapes.get(shape_id)
    if shape is None or not parts:
        return _state(state, seq=seq)
    (_, points), *others = parts
    patch: dict[str, Shape | None] = {shape_id: replace(shape, points=points, group_id=group_id)}
    for n, (part_id, part_points) in enumerate(others):
        number = state.next_number + n
        patch[part_id] = Shape(
            part_id,
            actor,
            part_points,
            True,
            shape.label_class_id,
            part_points,
            group_id,
            number,
            shape.attributes,
        )
    return _act(state, seq, actor, patch, next_number=state.next_number + len(others))


def _replay_entry(state: ItemState, seq: int, event: Undone | Redone) -> ItemState:
    undoing = isinstance(event, Undone)
    source = (state.undo if undoing else state.redo).get(event.actor, ())
    if not source or source[-1].seq != event.target_seq:
        return _state(state, seq=seq)
    entry = source[-1]
    keep = set(event.shape_ids)
    changes = tuple(c for c in entry.changes if c.shape_id in keep)
    patch = {
        c.shape_id: _restore(state, state.shapes.get(c.shape_id), c.before if undoing else c.after)
        for c in changes
    }
    # An entry whose shapes were all skipped is used up; a discard's stays redoable even then, since
    # undoing or redoing it also says whether the entries below it are pending.
    moved = (UndoEntry(entry.seq, changes, entry.discard),) if changes or entry.discard else ()
    target = state.redo if undoing else state.undo
    source_stacks = _with(state.undo if undoing else state.redo, event.actor, source[:-1])
    target_stacks = _with(target, event.actor, (*target.get(event.actor, ()), *moved))
    undo, redo = (source_stacks, target_stacks) if undoing else (target_stacks, source_stacks)
    return _state(state, seq=seq, shapes=_patched(state.shapes, patch), undo=undo, redo=redo)


def discard_patch(state: ItemState, actor: Actor, skipped: tuple[str, ...] = ()) -> dict[str, Shape | None]:
    """What a stored scope "everyone" discard did (the rule before discard was per person): closed
    shapes back to the save (but for `skipped` ones), the actor's own drafts gone."""
    patch: dict[str, Shape | None] = {}
    for shape_id, shape in state.shapes.items():
        if (shape.closed and shape_id not in state.saved) or (not shape.closed and shape.actor == actor):
            patch[shape_id] = None
    for shape_id, shape in state.saved.items():
        if shape_id not in skipped and state.shapes.get(shape_id) != shape:
            patch[shape_id] = shape
    return patch


def pending_steps(state: ItemState, actor: Actor) -> dict[str, list[Change]]:
    """The person's pending changes per shape, newest first."""
    steps: dict[str, list[Change]] = {}
    for entry in reversed(pending_entries(state, actor)):
        for change in entry.changes:
            steps.setdefault(change.shape_id, []).append(change)
    return steps


def revert_steps(current: Shape | None, steps: list[Change]) -> tuple[Shape | None, bool]:
    """Walk a shape back through a person's changes, newest first, as long as it still looks as each
    left it (the undo rule); stop at the first that someone else's change stands in the way of.
    Returns where it gets to and whether it went all the way."""
    target = current
    for change in steps:
        if content(target) != content(change.after):
            return target, False
        target = change.before
    return target, True


def discard_target(state: ItemState, actor: Actor, shape_id: str, steps: list[Change]) -> Shape | None:
    """Where the person's discard takes a shape: back through their pending changes, and a draft of
    theirs that is left goes too (a draft is nobody else's to change)."""
    current = state.shapes.get(shape_id)
    target, _ = revert_steps(current, steps)
    if target is not None and not target.closed and target.actor == actor:
        return None
    return target


def _discard_mine(state: ItemState, seq: int, event: ChangesDiscarded) -> ItemState:
    """Revert the shapes decide chose (`shape_ids`) and push one discard entry, so that one undo brings
    back what it reverted and the entries below it are no longer pending."""
    actor = event.actor
    steps = pending_steps(state, actor)
    patch: dict[str, Shape | None] = {}
    for shape_id in event.shape_ids:
        current = state.shapes.get(shape_id)
        target = discard_target(state, actor, shape_id, steps.get(shape_id, []))
        if content(target) != content(current):
            patch[shape_id] = _restore(state, current, target)
    changes = tuple(Change(sid, state.shapes.get(sid), new) for sid, new in patch.items())
    undo = _with(state.undo, actor, (*state.undo.get(actor, ()), UndoEntry(seq, changes, discard=True)))
    redo = _with(state.redo, actor, ()) if actor in state.redo else state.redo
    return _state(state, seq=seq, shapes=_patched(state.shapes, patch), undo=undo, redo=redo)


def _draft_step(entry: UndoEntry, shape_id: str) -> bool:
    """Whether an undo entry is one step of drawing the draft `shape_id` (a vertex added, moved,
    inserted or removed): one change, and the shape a draft (or absent) on both sides."""
    if entry.discard or len(entry.changes) != 1:
        return False
    change = entry.changes[0]
    return change.shape_id == shape_id and all(
        shape is None or not shape.closed for shape in (change.before, change.after)
    )


def _close_whole(state: ItemState, seq: int, actor: Actor, shape_id: str, closed: Shape) -> ItemState:
    """Close a polygon as one action: the draft's steps leave the person's undo stack and one entry takes
    the shape from before its first vertex to closed. Only the draft's own owner can have drawn it, so
    every step of it is in this stack; the person's other entries keep their order."""
    stack = state.undo.get(actor, ())
    before = state.shapes.get(shape_id)
    merged: set[int] = set()
    for index in range(len(stack) - 1, -1, -1):
        entry = stack[index]
        if all(c.shape_id != shape_id for c in entry.changes):
            continue
        if not _draft_step(entry, shape_id):
            break
        merged.add(index)
        before = entry.changes[0].before
        if before is None:  # the draft's first vertex
            break
    # The steps are mostly the top of the stack: copy what lies below the lowest one as it is.
    low = min(merged, default=len(stack))
    kept = stack[:low] + tuple(entry for index, entry in enumerate(stack[low:], low) if index not in merged)
    entry = UndoEntry(seq, (Change(shape_id, before, closed),))
    undo = _with(state.undo, actor, (*kept, entry))
    redo = _with(state.redo, actor, ()) if actor in state.redo else state.redo
    shapes = _patched(state.shapes, {shape_id: closed})
    return _state(state, seq=seq, shapes=shapes, undo=undo, redo=redo)


def evolve(state: ItemState, event: Event) -> ItemState:
    seq = state.seq + 1
    match event:
        case VertexAdded(actor=actor, shape_id=shape_id, x=x, y=y):
            current = state.shapes.get(shape_id)
            if current is None:
                return _created(
                    state, seq, actor, Shape(shape_id, actor, ((x, y),), False, number=state.next_number)
                )
            return _act(state, seq, actor, _edit(state, shape_id, (*current.points, (x, y))))
        case PolygonClosed(
            actor=actor, shape_id=shape_id, label_class_id=label_class_id, group_id=group_id, undo_unit=unit
        ):
            points = _points_of(state, shape_id)
            patch = _edit(
                state,
                shape_id,
                closed=True,
                label_class_id=label_class_id,
                original=points,
                group_id=group_id,
            )
            if unit == UNDO_CLOSE or not patch:  # stored before polygons were one action: as decided then
                return _act(state, seq, actor, patch)
            return _close_whole(state, seq, actor, shape_id, patch[shape_id])
        case DraftDiscarded(actor=actor, shape_id=shape_id) | ShapeDeleted(actor=actor, shape_id=shape_id):
            return _act(state, seq, actor, {shape_id: None} if shape_id in state.shapes else {})
        case PolygonAdded(
            actor=actor, shape_id=shape_id, label_class_id=label_class_id, points=points, group_id=group_id
        ):
            shape = Shape(shape_id, actor, points, True, label_class_id, points, group_id, state.next_number)
            return _created(state, seq, actor, shape)
        case VertexMoved(actor=actor, shape_id=shape_id, index=index, x=x, y=y):
            points = _points_of(state, shape_id)
            return _act(
                state, seq, actor, _edit(state, shape_id, (*points[:index], (x, y), *points[index + 1 :]))
            )
        case VertexInserted(actor=actor, shape_id=shape_id, index=index, x=x, y=y):
            points = _points_of(state, shape_id)
            return _act(state, seq, actor, _edit(state, shape_id, (*points[:index], (x, y), *points[index:])))
        case VertexRemoved(actor=actor, shape_id=shape_id, index=index):
            points = _points_of(state, shape_id)
            rest = (*points[:index], *points[index + 1 :])
            patch = _edit(state, shape_id, rest) if rest else {shape_id: None}
            return _act(state, seq, actor, patch if shape_id in state.shapes else {})
        case ShapeMoved(actor=actor, shape_id=shape_id, dx=dx, dy=dy):
            moved = tuple((x + dx, y + dy) for x, y in _points_of(state, shape_id))
            return _act(state, seq, actor, _edit(state, shape_id, moved))
        case ShapeRelabeled(actor=actor, shape_id=shape_id, label_class_id=label_class_id):
            # The values were the old class's answers: a relabeled shape starts at the new class's defaults.
            return _act(
                state, seq, actor, _edit(state, shape_id, label_class_id=label_class_id, attributes=())
            )
        case AttributesSet(actor=actor, shape_id=shape_id, values=values):
            shape = state.shapes.get(shape_id)
            if shape is None:
                return _state(state, seq=seq)
            merged = dict(shape.attributes)
            for name, value in values:
                if value is None:
                    merged.pop(name, None)
                else:
                    merged[name] = value
            return _act(state, seq, actor, _edit(state, shape_id, attributes=tuple(sorted(merged.items()))))
        case ShapeGrouped(actor=actor, shape_id=shape_id, group_id=group_id):
            return _act(state, seq, actor, _edit(state, shape_id, group_id=group_id))
        case ShapeReset(actor=actor, shape_id=shape_id):
            shape = state.shapes.get(shape_id)
            original = None if shape is None else shape.original
            return _act(state, seq, actor, _edit(state, shape_id, original) if original else {})
        case (
            AllShapesDeleted(actor=actor, shape_ids=shape_ids)
            | LabelShapesDeleted(actor=actor, shape_ids=shape_ids)
        ):
            return _act(state, seq, actor, {sid: None for sid in shape_ids if sid in state.shapes})
        case ShapesMerged(actor=actor, into=into, shape_ids=shape_ids, points=points):
            patch = _edit(state, into, points)
            patch.update({sid: None for sid in shape_ids if sid != into and sid in state.shapes})
            return _act(state, seq, actor, patch)
        case ShapeSubtracted(actor=actor, shape_id=shape_id, parts=parts, group_id=group_id):
            return _cut(state, seq, actor, shape_id, parts, group_id)
        case ShapeSplit(actor=actor, shape_id=shape_id, parts=parts):
            shape = state.shapes.get(shape_id)
            return _cut(state, seq, actor, shape_id, parts, None if shape is None else shape.group_id)
        case ShapesPasted(actor=actor, shapes=shapes):
            if not shapes:
                return _state(state, seq=seq)
            pasted: dict[str, Shape | None] = {
                s.shape_id: Shape(
                    s.shape_id,
                    actor,
                    s.points,
                    True,
                    s.label_class_id,
                    s.points,
                    s.group_id,
                    state.next_number + n,
                )
                for n, s in enumerate(shapes)
            }
            return _act(state, seq, actor, pasted, next_number=state.next_number + len(shapes))
        case Undone() | Redone():
            return _replay_entry(state, seq, event)
        case Saved():
            shapes = {
                sid: replace(s, original=s.points) if s.closed and s.original != s.points else s
                for sid, s in state.shapes.items()
            }
            saved = {sid: s for sid, s in shapes.items() if s.closed}
            review = review_after_save(state.review, state.saved, saved, seq)
            return _state(state, seq=seq, saved_seq=seq, shapes=shapes, saved=saved, review=review)
        case ChangesDiscarded(actor=actor, skipped_shape_ids=skipped) if event.scope == DISCARD_EVERYONE:
            # Stored before discard was per person: replayed by the rule it was decided under.
            return _act(state, seq, actor, discard_patch(state, actor, skipped))
        case ChangesDiscarded():
            return _discard_mine(state, seq, event)
        case HardExampleMarked():
            return _state(state, seq=seq, hard_example=True)
        case HardExampleUnmarked():
            return _state(state, seq=seq, hard_example=False)
        case _ if isinstance(event, REVIEW_EVENTS):  # issue 24: never a shape change (review.py)
            review, issues = evolve_review(state, seq, event)
            return _state(state, seq=seq, review=review, issues=issues)
        case _:
            assert_never(event)


def replay(state: ItemState, events) -> ItemState:
    """Fold events into a state: the projector is this plain loop."""
    for event in events:
        state = evolve(state, event)
    return state
