"""decide(state, command, context) -> [events]: guard first, then emit. Pure: no I/O, no clock."""

from __future__ import annotations

import uuid
from typing import assert_never

from . import pieces
from .attributes import changed_values
from .commands import (
    AddPolygon,
    AddVertex,
    ClosePolygon,
    Command,
    DeleteAllShapes,
    DeleteLabelShapes,
    DeleteShape,
    DiscardChanges,
    DiscardDraft,
    GroupShape,
    ImportPolygon,
    InsertVertex,
    MarkHardExample,
    MergeShapes,
    MoveShape,
    MoveVertex,
    PasteShapes,
    Redo,
    RelabelShape,
    RemoveVertex,
    ResetShape,
    Save,
    SetAttributes,
    SplitShape,
    SubtractShape,
    Undo,
    UnmarkHardExample,
)
from .context import Context
from .errors import Rejected
from .events import (
    AllShapesDeleted,
    AttributesSet,
    ChangesDiscarded,
    DraftDiscarded,
    Event,
    HardExampleMarked,
    HardExampleUnmarked,
    LabelShapesDeleted,
    Part,
    PastedShape,
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
from .evolve import discard_target, pending_steps, revert_steps
from .geometry import check_finite, check_inside, check_polygon, crosses_itself, fmt, without_closing_point
from .review import decide_review
from .review_messages import REVIEW_COMMANDS
from .state import Actor, ItemState, Shape, content, pending_entries


def _unknown(shape_id: str) -> Rejected:
    return Rejected(
        "unknown_shape", f"There is no shape {shape_id} on this image (it may have been deleted)."
    )


def _named(shape: Shape) -> str:
    """How a refusal names a shape that exists: by its number, as people see it ("Shape #3")."""
    return f"{'Shape' if shape.closed else 'Draft'} #{shape.number}"


def _closed(state: ItemState, shape_id: str) -> Shape:
    shape = state.shapes.get(shape_id)
    if shape is None:
        raise _unknown(shape_id)
    if not shape.closed:
        raise Rejected("shape_is_draft", f"{_named(shape)} is still being drawn; close it first.")
    return shape


def _draft(state: ItemState, shape_id: str, actor: Actor) -> Shape:
    shape = state.shapes.get(shape_id)
    if shape is None:
        raise _unknown(shape_id)
    if shape.closed:
        raise Rejected("shape_closed", f"{_named(shape)} is already closed.")
    if shape.actor != actor:
        raise Rejected("not_your_draft", f"{_named(shape)} is being drawn by someone else.")
    return shape


def _editable(state: ItemState, shape_id: str, actor: Actor) -> Shape:
    """A closed shape, or the actor's own draft."""
    shape = state.shapes.get(shape_id)
    if shape is not None and not shape.closed:
        return _draft(state, shape_id, actor)
    return _closed(state, shape_id)


def _label(ctx: Context, label_class_id: int) -> int:
    if label_class_id not in ctx.label_class_ids:
        raise Rejected("unknown_label_class", f"Label class {label_class_id} does not exist in this job.")
    return label_class_id


def _new_shape(state: ItemState, ctx: Context, shape_id: str, *, draft: bool) -> None:
    if shape_id in state.shapes or shape_id in state.saved:
        raise Rejected("shape_exists", f"Shape id {shape_id} is already used on this image.")
    if draft:
        # Drafts are limited per person, so nobody's abandoned drafts can fill an image for the others.
        mine = sum(1 for s in state.shapes.values() if not s.closed and s.actor == ctx.actor)
        if mine >= ctx.limits.max_drafts:
            raise Rejected(
                "too_many_drafts",
                f"You are drawing {mine} polygons on this image already; close or discard one.",
            )
    elif len(state.closed_shapes()) >= ctx.limits.max_shapes:
        raise Rejected("too_many_shapes", f"An image holds at most {ctx.limits.max_shapes} shapes.")


def _index(shape: Shape, index: int, *, inclusive_end: bool = False) -> int:
    last = len(shape.points) if inclusive_end else len(shape.points) - 1
    if index > last:
        raise Rejected("invalid_vertex_index", f"{_named(shape)} has no vertex position {index} (0..{last}).")
    return index


def _check_shape_points(state: ItemState, ctx: Context, shape: Shape, points: tuple) -> None:
    if shape.closed:
        # An imported shape that already crosses itself may be edited without being fixed in one go.
        may_cross = crosses_itself(shape.points)
        check_polygon(points, state.width, state.height, ctx.limits.max_vertices, may_cross=may_cross)
    elif len(points) > ctx.limits.max_vertices:
        raise Rejected("too_many_vertices", f"A polygon has at most {ctx.limits.max_vertices} vertices.")


def _point(state: ItemState, x: float, y: float) -> None:
    check_finite(x, y)
    check_inside(x, y, state.width, state.height)


def _replayable(state: ItemState, ctx: Context, entry_changes, undoing: bool) -> tuple[list[str], list[str]]:
    """Which shapes of an undo/redo entry can be put back: those nobody else changed since."""
    done, skipped = [], []
    for change in entry_changes:
        expected, target = (change.after, change.before) if undoing else (change.before, change.after)
        current = state.shapes.get(change.shape_id)
        label_gone = target is not None and target.closed and target.label_class_id not in ctx.label_class_ids
        if content(current) == content(expected) and not label_gone:
            done.append(change.shape_id)
        else:
            skipped.append(change.shape_id)
    return done, skipped


# The ids of the new shapes that subtract and split make: derived from the shape, the event's seq and the
# part's place (uuid5), so that deciding stays pure and the same command decided at the same seq names
# them the same. The event carries them; clients learn them from it.
PARTS_NAMESPACE = uuid.UUID("5b0f6c1e-2a57-4d0e-9a43-8f1d6c3b7e21")


def _parts(state: ItemState, ctx: Context, shape: Shape, rings: list[tuple]) -> tuple[Part, ...]:
    """The shape's new points and the new shapes its other pieces become, with their ids."""
    new = len(rings) - 1
    if new and len(state.closed_shapes()) + new > ctx.limits.max_shapes:
        raise Rejected(
            "too_many_shapes",
            f"{_named(shape)} would become {len(rings)} shapes, and an image holds at most "
            f"{ctx.limits.max_shapes} shapes.",
        )
    ids = [shape.id]
    for n in range(1, len(rings)):
        part_id = str(uuid.uuid5(PARTS_NAMESPACE, f"{shape.id}/{state.seq + 1}/{n}"))
        if part_id in state.shapes or part_id in state.saved:  # all but impossible; refused if so
            raise Rejected("shape_exists", f"Shape id {part_id} is already used on this image.")
        ids.append(part_id)
    return tuple(zip(ids, rings, strict=True))


def _merge(state: ItemState, ctx: Context, shape_ids: tuple[str, ...], into: str) -> list[Event]:
    shapes = [_closed(state, shape_id) for shape_id in shape_ids]
    target = state.shapes[into]
    others = [s for s in shapes if s.label_class_id != target.label_class_id]
    if others:
        one = len(others) == 1
        raise Rejected(
            "different_labels",
            f"{pieces.capital(pieces.names(others))} {'has' if one else 'have'} another label than "
            f"shape #{target.number}: only shapes of one label merge (relabel {'it' if one else 'them'} first).",
        )
    points = pieces.merged(shapes, target, state.width, state.height, ctx.limits.max_vertices)
    return [ShapesMerged(ctx.actor, into, shape_ids, points)]


def _subtract(state: ItemState, ctx: Context, shape_id: str, by: str) -> list[Event]:
    shape, cutter = _closed(state, shape_id), _closed(state, by)
    rings = pieces.subtracted(shape, cutter, state.width, state.height, ctx.limits.max_vertices)
    parts = _parts(state, ctx, shape, rings)
    # Pieces of a whole object that what covers it cut apart are still one object: they become a group.
    group_id = shape.group_id if shape.group_id is not None or len(parts) == 1 else shape.id
    return [ShapeSubtracted(ctx.actor, shape_id, by, parts, group_id)]


def _split(state: ItemState, ctx: Context, shape_id: str, line: tuple) -> list[Event]:
    shape = _closed(state, shape_id)
    rings = pieces.split(shape, line, state.width, state.height, ctx.limits.max_vertices)
    return [ShapeSplit(ctx.actor, shape_id, _parts(state, ctx, shape, rings))]


def _paste(state: ItemState, ctx: Context, shapes: tuple[AddPolygon, ...]) -> list[Event]:
    """Every shape is checked as add_polygon checks one, and the refusal names which: all or none."""
    if len(state.closed_shapes()) + len(shapes) > ctx.limits.max_shapes:
        raise Rejected(
            "too_many_shapes",
            f"Pasting {len(shapes)} shapes would make {len(state.closed_shapes()) + len(shapes)}, and an "
            f"image holds at most {ctx.limits.max_shapes} shapes.",
        )
    pasted = []
    for n, shape in enumerate(shapes, 1):
        points = without_closing_point(shape.points)
        try:
            _new_shape(state, ctx, shape.shape_id, draft=False)
            _label(ctx, shape.label_class_id)
            check_polygon(points, state.width, state.height, ctx.limits.max_vertices)
        except Rejected as error:
            raise Rejected(error.code, f"Pasted shape {n} of {len(shapes)}: {error.message}") from None
        pasted.append(PastedShape(shape.shape_id, shape.label_class_id, points, shape.group_id))
    return [ShapesPasted(ctx.actor, tuple(pasted))]


def _discard(state: ItemState, ctx: Context) -> list[Event]:
    """Revert the sender's pending changes, like their undo would one by one: per shape newest first,
    up to a change of someone else's; a shape that would go back to a label class no longer in the job
    is left as it is. Their drafts go. Nothing pending and no draft: nothing to do."""
    actor = ctx.actor
    steps = pending_steps(state, actor)
    own_drafts = [sid for sid, s in state.shapes.items() if not s.closed and s.actor == actor]
    changed, skipped = [], []
    for shape_id in [*steps, *(sid for sid in own_drafts if sid not in steps)]:
        current = state.shapes.get(shape_id)
        target = discard_target(state, actor, shape_id, steps.get(shape_id, []))
        _, complete = revert_steps(current, steps.get(shape_id, []))
        if target is not None and target.closed and target.label_class_id not in ctx.label_class_ids:
            skipped.append(shape_id)
            continue
        if not complete:
            skipped.append(shape_id)
        if content(target) != content(current):
            changed.append(shape_id)
    if not pending_entries(state, actor) and not changed:
        return []
    return [ChangesDiscarded(actor, tuple(skipped), tuple(changed))]


def decide(state: ItemState, command: Command, ctx: Context) -> list[Event]:
    actor = ctx.actor
    match command:
        case AddVertex(shape_id=shape_id, x=x, y=y):
            _point(state, x, y)
            shape = state.shapes.get(shape_id)
            if shape is None:
                _new_shape(state, ctx, shape_id, draft=True)
            else:
                shape = _draft(state, shape_id, actor)
                if len(shape.points) >= ctx.limits.max_vertices:
                    raise Rejected(
                        "too_many_vertices", f"A polygon has at most {ctx.limits.max_vertices} vertices."
                    )
                if (x, y) in shape.points:
                    first = " (close the polygon instead)" if shape.points[0] == (x, y) else ""
                    raise Rejected("duplicate_vertex", f"({fmt(x)}, {fmt(y)}) is already a vertex{first}.")
            return [VertexAdded(actor, shape_id, x, y)]
        case ClosePolygon(shape_id=shape_id, label_class_id=label_class_id, group_id=group_id):
            shape = _draft(state, shape_id, actor)
            _label(ctx, label_class_id)
            check_polygon(shape.points, state.width, state.height, ctx.limits.max_vertices)
            if len(state.closed_shapes()) >= ctx.limits.max_shapes:
                raise Rejected("too_many_shapes", f"An image holds at most {ctx.limits.max_shapes} shapes.")
            return [PolygonClosed(actor, shape_id, label_class_id, group_id)]
        case DiscardDraft(shape_id=shape_id):
            _draft(state, shape_id, actor)
            return [DraftDiscarded(actor, shape_id)]
        case AddPolygon(shape_id=shape_id, label_class_id=label_class_id, points=points, group_id=group_id):
            points = without_closing_point(points)
            _new_shape(state, ctx, shape_id, draft=False)
            _label(ctx, label_class_id)
            check_polygon(points, state.width, state.height, ctx.limits.max_vertices)
            return [PolygonAdded(actor, shape_id, label_class_id, points, group_id)]
        case ImportPolygon(
            shape_id=shape_id, label_class_id=label_class_id, points=points, group_id=group_id
        ):
            points = without_closing_point(points)
            _new_shape(state, ctx, shape_id, draft=False)
            _label(ctx, label_class_id)
            check_polygon(points, state.width, state.height, ctx.limits.max_vertices, may_cross=True)
            return [PolygonAdded(actor, shape_id, label_class_id, points, group_id)]
        case MoveVertex(shape_id=shape_id, index=index, x=x, y=y):
            shape = _editable(state, shape_id, actor)
            _index(shape, index)
            _point(state, x, y)
            if shape.points[index] == (x, y):
                return []
            points = (*shape.points[:index], (x, y), *shape.points[index + 1 :])
            _check_shape_points(state, ctx, shape, points)
            return [VertexMoved(actor, shape_id, index, x, y)]
        case InsertVertex(shape_id=shape_id, index=index, x=x, y=y):
            shape = _editable(state, shape_id, actor)
            _index(shape, index, inclusive_end=True)
            _point(state, x, y)
            points = (*shape.points[:index], (x, y), *shape.points[index:])
            _check_shape_points(state, ctx, shape, points)
            return [VertexInserted(actor, shape_id, index, x, y)]
        case RemoveVertex(shape_id=shape_id, index=index):
            shape = _editable(state, shape_id, actor)
            _index(shape, index)
            if shape.closed:
                points = (*shape.points[:index], *shape.points[index + 1 :])
                check_polygon(points, state.width, state.height, ctx.limits.max_vertices)
            return [VertexRemoved(actor, shape_id, index)]
        case MoveShape(shape_id=shape_id, dx=dx, dy=dy):
            shape = _closed(state, shape_id)
            check_finite(dx, dy, what="Offset")
            if dx == 0 and dy == 0:
                return []
            for i, (x, y) in enumerate(shape.points):
                check_inside(x + dx, y + dy, state.width, state.height, index=i)
            # Float rounding can flatten a thin polygon when it moves, so check what would be stored.
            moved = tuple((x + dx, y + dy) for x, y in shape.points)
            check_polygon(moved, state.width, state.height, ctx.limits.max_vertices)
            return [ShapeMoved(actor, shape_id, dx, dy)]
        case RelabelShape(shape_id=shape_id, label_class_id=label_class_id):
            shape = _closed(state, shape_id)
            _label(ctx, label_class_id)
            return (
                []
                if shape.label_class_id == label_class_id
                else [ShapeRelabeled(actor, shape_id, label_class_id)]
            )
        case SetAttributes(shape_id=shape_id, values=values):
            shape = _closed(state, shape_id)
            declared = ctx.attributes.get(shape.label_class_id, {})
            changes = changed_values(declared, shape.attributes, values, _named(shape))
            return [AttributesSet(actor, shape_id, changes)] if changes else []
        case GroupShape(shape_id=shape_id, group_id=group_id):
            shape = _closed(state, shape_id)
            return [] if shape.group_id == group_id else [ShapeGrouped(actor, shape_id, group_id)]
        case ResetShape(shape_id=shape_id):
            shape = _closed(state, shape_id)
            return [] if shape.original in (None, shape.points) else [ShapeReset(actor, shape_id)]
        case DeleteShape(shape_id=shape_id):
            _closed(state, shape_id)
            return [ShapeDeleted(actor, shape_id)]
        case DeleteAllShapes():
            shape_ids = tuple(s.id for s in state.closed_shapes())
            return [AllShapesDeleted(actor, shape_ids)] if shape_ids else []
        case DeleteLabelShapes(label_class_id=label_class_id):
            shape_ids = tuple(s.id for s in state.closed_shapes() if s.label_class_id == label_class_id)
            if not shape_ids:
                _label(ctx, label_class_id)
            return [LabelShapesDeleted(actor, label_class_id, shape_ids)] if shape_ids else []
        case MergeShapes(shape_ids=shape_ids, into=into):
            return _merge(state, ctx, shape_ids, into)
        case SubtractShape(shape_id=shape_id, by=by):
            return _subtract(state, ctx, shape_id, by)
        case SplitShape(shape_id=shape_id, line=line):
            return _split(state, ctx, shape_id, line)
        case PasteShapes(shapes=shapes):
            return _paste(state, ctx, shapes)
        case Undo():
            stack = state.undo.get(actor)
            if not stack:
                raise Rejected("nothing_to_undo", "There is nothing of yours to undo on this image.")
            done, skipped = _replayable(state, ctx, stack[-1].changes, undoing=True)
            return [Undone(actor, stack[-1].seq, tuple(done), tuple(skipped))]
        case Redo():
            stack = state.redo.get(actor)
            if not stack:
                raise Rejected("nothing_to_redo", "There is nothing of yours to redo on this image.")
            done, skipped = _replayable(state, ctx, stack[-1].changes, undoing=False)
            return [Redone(actor, stack[-1].seq, tuple(done), tuple(skipped))]
        case Save():
            return [Saved(actor)]
        case DiscardChanges():
            return _discard(state, ctx)
        case MarkHardExample():
            return [] if state.hard_example else [HardExampleMarked(actor)]
        case UnmarkHardExample():
            return [HardExampleUnmarked(actor)] if state.hard_example else []
        case _ if isinstance(command, REVIEW_COMMANDS):  # issue 24: never a shape change (review.py)
            return list(decide_review(state, command, actor))
        case _:
            assert_never(command)
