"""The state of one item: its shapes (closed polygons and per-person drafts), save point and undo history.

Every value here is immutable; `evolve` builds a new state rather than changing one. Mappings are plain
dicts that nobody mutates after construction (cheaper to copy than a persistent map at our sizes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Point = tuple[float, float]
Actor = int

# How many actions back a person can undo on one item (like the undo depth of an editor).
UNDO_DEPTH = 100


@dataclass(frozen=True, slots=True)
class Shape:
    """A closed polygon, or a draft (`closed` False) that only its `actor` may extend.

    `actor` is who drew it. `original` is the geometry "reset" returns to: the points at the last save,
    or at closing if the shape was closed after that save; drafts have none. `group_id` joins the parts
    of one object drawn in pieces (the same client-chosen string on each part; None for a whole object).
    `number` is how people name it ("chair #3"): the n-th shape created on the image is #n, from its first
    vertex (or its import) on; a number is never given again, and undo brings a shape back with its own.
    `attributes` are the values people set ((name, value) pairs sorted by name; domain/attributes.py): an
    attribute of the label class that the shape has no value for reads as its default.
    """

    id: str
    actor: Actor
    points: tuple[Point, ...]
    closed: bool
    label_class_id: int | None = None
    original: tuple[Point, ...] | None = None
    group_id: str | None = None
    number: int = 0
    attributes: tuple[tuple[str, Any], ...] = ()

    def content(self) -> tuple[Any, ...]:
        """What a person sees of the shape, and whose it is; undo compares this to detect others' changes
        (the actor tells a shape from another person's shape that reuses a freed id)."""
        return (self.actor, self.closed, self.label_class_id, self.points, self.group_id, self.attributes)


def content(shape: Shape | None) -> tuple[Any, ...] | None:
    return None if shape is None else shape.content()


@dataclass(frozen=True, slots=True)
class Change:
    shape_id: str
    before: Shape | None
    after: Shape | None


@dataclass(frozen=True, slots=True)
class UndoEntry:
    """One undoable action: the seq of the event that made it and what it changed.

    `discard` marks the entry of a person's `changes_discarded` (scope "mine"): while it is on their undo
    stack, the entries below it are no longer pending changes (it reverted them).
    """

    seq: int
    changes: tuple[Change, ...]
    discard: bool = False


# An item's review status (docs/review.md): "none" (no labeled save yet: nothing to review), "to_review"
# (a labeled save is waiting for a reviewer), "accepted", "rejected".
REVIEW_NONE, REVIEW_TO_REVIEW, REVIEW_ACCEPTED, REVIEW_REJECTED = "none", "to_review", "accepted", "rejected"
REVIEW_STATUSES = (REVIEW_NONE, REVIEW_TO_REVIEW, REVIEW_ACCEPTED, REVIEW_REJECTED)
ISSUE_OPEN, ISSUE_RESOLVED = "open", "resolved"


@dataclass(frozen=True, slots=True)
class Review:
    """Where the item stands in review. `actor` is the reviewer whose decision set the status (None when a
    save set it), `seq` the event that set it (None for "none"), `reason` a rejection's."""

    status: str = REVIEW_NONE
    reason: str | None = None
    actor: Actor | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class Comment:
    text: str
    actor: Actor
    seq: int


@dataclass(frozen=True, slots=True)
class Issue:
    """A remark pinned to a point of the image (and maybe to a shape), with its thread of comments."""

    id: str
    x: float
    y: float
    shape_id: str | None
    text: str
    author: Actor
    status: str
    seq: int  # the issue_opened event's
    comments: tuple[Comment, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemState:
    width: float
    height: float
    seq: int = 0
    saved_seq: int = 0
    hard_example: bool = False
    next_number: int = 1  # the number the next new shape gets
    shapes: Mapping[str, Shape] = field(default_factory=dict)
    saved: Mapping[str, Shape] = field(default_factory=dict)
    undo: Mapping[Actor, tuple[UndoEntry, ...]] = field(default_factory=dict)
    redo: Mapping[Actor, tuple[UndoEntry, ...]] = field(default_factory=dict)
    # Review lives in the item's own stream (DESIGN section 9): it never changes shapes, and undo skips it.
    review: Review = Review()
    issues: Mapping[str, Issue] = field(default_factory=dict)  # by id, in the order they were opened

    def closed_shapes(self) -> list[Shape]:
        return [s for s in self.shapes.values() if s.closed]

    def drafts(self) -> list[Shape]:
        return [s for s in self.shapes.values() if not s.closed]


def initial_state(width: float, height: float) -> ItemState:
    return ItemState(width=float(width), height=float(height))


def pending_entries(state: ItemState, actor: Actor) -> tuple[UndoEntry, ...]:
    """The person's pending changes: their undo entries made (or redone) since the last save, above
    their latest discard, oldest first. A person's undo stack is in seq order, so they are its top."""
    stack = state.undo.get(actor, ())
    start = len(stack)
    while start > 0 and stack[start - 1].seq > state.saved_seq and not stack[start - 1].discard:
        start -= 1
    return stack[start:]


def pending_actors(state: ItemState) -> list[Actor]:
    """Who has pending changes (what a save would checkpoint and their discard would revert), sorted."""
    return sorted(actor for actor in state.undo if pending_entries(state, actor))


def _shape_view(s: Shape) -> dict[str, Any]:
    view = {
        "id": s.id,
        "number": s.number,
        "label_class_id": s.label_class_id,
        "points": [[x, y] for x, y in s.points],
    }
    if s.group_id is not None:  # only on parts of an object drawn in pieces (DESIGN section 8 extended)
        view["group_id"] = s.group_id
    if s.attributes:  # only on shapes someone set an attribute of (DESIGN section 9)
        view["attributes"] = dict(s.attributes)
    return view


def state_view(state: ItemState, item_id: int | None = None) -> dict[str, Any]:
    """The public form of the state (DESIGN section 8)."""
    return {
        "item_id": item_id,
        "seq": state.seq,
        "saved_seq": state.saved_seq,
        "image": {"width": state.width, "height": state.height},
        "hard_example": state.hard_example,
        # Extends DESIGN section 8: shapes and drafts carry their "number" (#n), and this is the next one,
        # so a client that follows the events numbers new shapes as the server does.
        "next_number": state.next_number,
        "shapes": [_shape_view(s) for s in state.shapes.values() if s.closed],
        "drafts": [
            {"id": s.id, "number": s.number, "actor": s.actor, "points": [[x, y] for x, y in s.points]}
            for s in state.shapes.values()
            if not s.closed
        ],
        # Extends DESIGN section 8: who has changes since the last save, so a client asks "Save?" only
        # the people in it.
        "pending": pending_actors(state),
        # Issue 24: the review status and the issues pinned on the image (docs/review.md).
        "review": review_view(state.review),
        "issues": [issue_view(issue) for issue in state.issues.values()],
    }


def review_view(review: Review) -> dict[str, Any]:
    return {"status": review.status, "reason": review.reason, "actor": review.actor, "seq": review.seq}


def issue_view(issue: Issue) -> dict[str, Any]:
    return {
        "id": issue.id,
        "x": issue.x,
        "y": issue.y,
        "shape_id": issue.shape_id,
        "text": issue.text,
        "author": issue.author,
        "status": issue.status,
        "seq": issue.seq,
        "comments": [{"text": c.text, "actor": c.actor, "seq": c.seq} for c in issue.comments],
    }


def open_issue_count(state: ItemState) -> int:
    return sum(1 for issue in state.issues.values() if issue.status == ISSUE_OPEN)


# Snapshots: a state as plain JSON and back. Compact lists keep snapshot rows small.


def _points_out(points: tuple[Point, ...] | None) -> list[float] | None:
    # Flat [x0, y0, x1, y1, ...]: a third of the list objects of [[x, y], ...], so snapshots load faster.
    return None if points is None else [c for point in points for c in point]


def _points_in(flat: list[float] | None) -> tuple[Point, ...] | None:
    if flat is None:
        return None
    # Coordinates are always stored as floats (the parser makes them so), so no float() per number here.
    return tuple(zip(flat[::2], flat[1::2], strict=True))


def _shape_out(s: Shape | None) -> list[Any] | None:
    if s is None:
        return None
    # An original equal to the points (the common case) is written as 1, which keeps snapshots small.
    original = 1 if s.original is not None and s.original == s.points else _points_out(s.original)
    row = [s.id, s.actor, s.number, _points_out(s.points), s.closed, s.label_class_id, original]
    # Optional trailing fields, so snapshots written before they existed read the same.
    if s.attributes:
        return [*row, s.group_id, [list(pair) for pair in s.attributes]]
    return row if s.group_id is None else [*row, s.group_id]


def _shape_in(raw: list[Any] | None, earlier: list[Shape | None]) -> Shape | None:
    """A table row as a shape; its points may be the index of an `earlier` row with the same points."""
    if raw is None:
        return None
    id_, actor, number, raw_points, closed, label_class_id, raw_original, *rest = raw
    shared = isinstance(raw_points, int)
    points = earlier[raw_points].points if shared else _points_in(raw_points) or ()  # type: ignore[union-attr]
    original = points if raw_original == 1 else _points_in(raw_original)
    group_id = rest[0] if rest else None
    attributes = tuple((name, value) for name, value in rest[1]) if len(rest) > 1 else ()
    return Shape(id_, actor, points, closed, label_class_id, original, group_id, number, attributes)


class _ShapeTable:
    """Writes each distinct shape once and refers to it by index: the shape after one edit is the shape
    before the next, and the current and saved shapes repeat the undo history's, so this halves snapshots.
    Points a row shares with an earlier row (an edit that left them: attributes set, relabelled, grouped)
    are written as that row's index (format 3), so a snapshot's size and reading follow the coordinates
    drawn, not the edits made to the shapes (an export reads attributes' states as fast as plain ones)."""

    def __init__(self) -> None:
        self.rows: list[Any] = []
        self._index: dict[Shape, int] = {}
        self._points: dict[tuple[Point, ...], int] = {}

    def ref(self, shape: Shape | None) -> int | None:
        if shape is None:
            return None
        index = self._index.get(shape)
        if index is None:
            index = self._index[shape] = len(self.rows)
            row = _shape_out(shape)
            if shape.points:
                same = self._points.setdefault(shape.points, index)
                if same != index:
                    row[3] = same  # type: ignore[index]
            self.rows.append(row)
        return index


def _stack_out(table: _ShapeTable, stack: tuple[UndoEntry, ...]) -> list[Any]:
    out = []
    for e in stack:
        row = [e.seq, [[c.shape_id, table.ref(c.before), table.ref(c.after)] for c in e.changes]]
        # A third field on discard entries only: snapshots written before it existed read the same.
        out.append([*row, 1] if e.discard else row)
    return out


def _stack_in(shapes: list[Shape | None], raw: list[Any]) -> tuple[UndoEntry, ...]:
    def at(index: int | None) -> Shape | None:
        return None if index is None else shapes[index]

    return tuple(
        UndoEntry(seq, tuple(Change(sid, at(b), at(a)) for sid, b, a in changes), bool(discard))
        for seq, changes, *discard in raw
    )


# 2: shapes carry their number, and the state its next_number. Format 1 snapshots are rewritten by the
# migration that brought numbers (labeling 0005), from the log. 3: a row's points may be the index of an
# earlier row with the same points; format 2 snapshots (always lists) read as they are.
SNAPSHOT_FORMAT = 3
_READABLE_FORMATS = (2, 3)


def state_to_dict(state: ItemState) -> dict[str, Any]:
    table = _ShapeTable()
    shapes = [table.ref(s) for s in state.shapes.values()]
    saved = [table.ref(s) for s in state.saved.values()]
    undo = [[actor, _stack_out(table, stack)] for actor, stack in state.undo.items()]
    redo = [[actor, _stack_out(table, stack)] for actor, stack in state.redo.items()]
    return {
        "format": SNAPSHOT_FORMAT,
        "width": state.width,
        "height": state.height,
        "seq": state.seq,
        "saved_seq": state.saved_seq,
        "hard_example": state.hard_example,
        "next_number": state.next_number,
        "table": table.rows,
        "shapes": shapes,
        "saved": saved,
        "undo": undo,
        "redo": redo,
        "review": [state.review.status, state.review.reason, state.review.actor, state.review.seq],
        "issues": [_issue_out(issue) for issue in state.issues.values()],
    }


def _issue_out(i: Issue) -> list[Any]:
    comments = [[c.text, c.actor, c.seq] for c in i.comments]
    return [i.id, i.x, i.y, i.shape_id, i.text, i.author, i.status, i.seq, comments]


def _issue_in(raw: list[Any]) -> Issue:
    id_, x, y, shape_id, text, author, status, seq, comments = raw
    return Issue(id_, x, y, shape_id, text, author, status, seq, tuple(Comment(*c) for c in comments))


def _review_in(raw: dict[str, Any], saved: bool) -> Review:
    """A snapshot's review; one written before review existed (no key) holds no review event, so its
    status is what its saves made it: "to_review" from a labeled save, at that save (docs/review.md)."""
    if "review" in raw:
        return Review(*raw["review"])
    return Review(REVIEW_TO_REVIEW, None, None, raw["saved_seq"]) if saved else Review()


def state_from_dict(raw: dict[str, Any]) -> ItemState:
    if raw.get("format") not in _READABLE_FORMATS:
        raise ValueError(f"unknown snapshot format {raw.get('format')!r}; rebuild_projections rewrites it")
    table: list[Shape | None] = []
    for row in raw["table"]:
        table.append(_shape_in(row, table))
    shapes = [table[i] for i in raw["shapes"]]
    saved = [table[i] for i in raw["saved"]]
    issues = [_issue_in(row) for row in raw.get("issues", ())]
    return ItemState(
        width=raw["width"],
        height=raw["height"],
        seq=raw["seq"],
        saved_seq=raw["saved_seq"],
        hard_example=raw["hard_example"],
        next_number=raw["next_number"],
        shapes={s.id: s for s in shapes if s is not None},
        saved={s.id: s for s in saved if s is not None},
        undo={actor: _stack_in(table, stack) for actor, stack in raw["undo"]},
        redo={actor: _stack_in(table, stack) for actor, stack in raw["redo"]},
        review=_review_in(raw, any(s is not None for s in saved)),
        issues={issue.id: issue for issue in issues},
    )
