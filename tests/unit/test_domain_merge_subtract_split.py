"""Given/when/then for merge_shapes, subtract_shape and split_shape: what each emits, the state it leads to,
its refusals, and that each is one undo action of its author."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest

from apps.labeling.domain import (
    SCHEMA_VERSION,
    Context,
    Limits,
    Rejected,
    decide,
    event_from_record,
    event_payload,
    event_type,
    initial_state,
    parse_command,
    replay,
    state_from_dict,
    state_to_dict,
    state_view,
)
from apps.labeling.domain.commands import (
    AddPolygon,
    AddVertex,
    Command,
    GroupShape,
    ImportPolygon,
    MergeShapes,
    MoveShape,
    Redo,
    SplitShape,
    SubtractShape,
    Undo,
)
from apps.labeling.domain.decide import PARTS_NAMESPACE
from apps.labeling.domain.events import Event, Redone, ShapesMerged, ShapeSplit, ShapeSubtracted, Undone
from apps.labeling.domain.state import ItemState

WIDTH, HEIGHT = 100, 80
ALICE, BOB = 1, 2
CAT, DOG = 1, 2
LABELS = frozenset({CAT, DOG})
S, T, U, V = (str(uuid.UUID(int=n)) for n in range(1, 5))

Points = tuple[tuple[float, float], ...]
SQUARE: Points = ((10.0, 10.0), (30.0, 10.0), (30.0, 30.0), (10.0, 30.0))
OVERLAPPING: Points = ((20.0, 20.0), (40.0, 20.0), (40.0, 40.0), (20.0, 40.0))
NEIGHBOUR: Points = ((30.0, 10.0), (50.0, 10.0), (50.0, 30.0), (30.0, 30.0))  # shares SQUARE's right edge
CORNER: Points = ((30.0, 30.0), (40.0, 30.0), (40.0, 40.0), (30.0, 40.0))  # touches SQUARE at one point
FAR: Points = ((60.0, 50.0), (70.0, 50.0), (70.0, 60.0), (60.0, 60.0))
BAR: Points = ((0.0, 18.0), (60.0, 18.0), (60.0, 22.0), (0.0, 22.0))  # across SQUARE, left to right
INSIDE: Points = ((15.0, 15.0), (25.0, 15.0), (25.0, 25.0), (15.0, 25.0))
COVER: Points = ((5.0, 5.0), (35.0, 5.0), (35.0, 35.0), (5.0, 35.0))
# A U open at the top and a lid over it: together they enclose the square (20, 20)-(30, 30).
U_SHAPE: Points = (
    (10.0, 10.0),
    (20.0, 10.0),
    (20.0, 30.0),
    (30.0, 30.0),
    (30.0, 10.0),
    (40.0, 10.0),
    (40.0, 40.0),
    (10.0, 40.0),
)
LID: Points = ((10.0, 5.0), (40.0, 5.0), (40.0, 12.0), (10.0, 12.0))
BOW_TIE: Points = ((10.0, 10.0), (30.0, 30.0), (30.0, 10.0), (10.0, 20.0))
DOWN_AT_15: Points = ((15.0, 0.0), (15.0, 40.0))

Step = tuple[int, Command]


def ctx(actor: int = ALICE, limits: Limits | None = None) -> Context:
    return Context(actor=actor, label_class_ids=LABELS, limits=limits or Limits())


def given(*steps: Step) -> ItemState:
    state = initial_state(WIDTH, HEIGHT)
    for actor, command in steps:
        state = replay(state, decide(state, command, ctx(actor)))
    return state


def when(
    state: ItemState, command: Command, actor: int = ALICE, limits: Limits | None = None
) -> tuple[list[Event], ItemState]:
    events = decide(state, command, ctx(actor, limits))
    return events, replay(state, events)


def refused(state: ItemState, command: Command, actor: int = ALICE, limits: Limits | None = None) -> Rejected:
    with pytest.raises(Rejected) as info:
        decide(state, command, ctx(actor, limits))
    assert info.value.message
    return info.value


def added(
    shape_id: str, points: Points, label: int = CAT, actor: int = ALICE, group: str | None = None
) -> Step:
    return (actor, AddPolygon(shape_id, label, points, group))


def shapes(state: ItemState) -> dict[str, dict[str, Any]]:
    """The closed shapes as people see them, keyed by id."""
    return {s["id"]: {k: v for k, v in s.items() if k != "id"} for s in state_view(state)["shapes"]}


def shape(state: ItemState, shape_id: str) -> dict[str, Any]:
    return shapes(state)[shape_id]


def as_lists(points: Points) -> list[list[float]]:
    return [[x, y] for x, y in points]


def part_id(shape_id: str, seq: int, n: int) -> str:
    return str(uuid.uuid5(PARTS_NAMESPACE, f"{shape_id}/{seq}/{n}"))


def undone_and_redone(state: ItemState, actor: int = ALICE) -> tuple[ItemState, ItemState]:
    undone = replay(state, decide(state, Undo(), ctx(actor)))
    return undone, replay(undone, decide(undone, Redo(), ctx(actor)))


# merge_shapes


def test_merge_makes_into_the_union_of_overlapping_shapes_and_removes_the_others():
    state = given(added(S, SQUARE), added(T, OVERLAPPING))

    events, after = when(state, MergeShapes((S, T), S))

    union = (
        (10.0, 10.0),
        (30.0, 10.0),
        (30.0, 20.0),
        (40.0, 20.0),
        (40.0, 40.0),
        (20.0, 40.0),
        (20.0, 30.0),
        (10.0, 30.0),
    )
    assert events == [ShapesMerged(ALICE, S, (S, T), union)]
    assert shapes(after) == {S: {"number": 1, "label_class_id": CAT, "points": as_lists(union)}}
    assert after.next_number == state.next_number  # no shape was created


def test_merge_joins_neighbours_that_share_a_border_and_keeps_the_border_vertices():
    state = given(added(S, SQUARE), added(T, NEIGHBOUR))

    _, after = when(state, MergeShapes((S, T), S))

    assert shape(after, S)["points"] == as_lists(
        ((10.0, 10.0), (30.0, 10.0), (50.0, 10.0), (50.0, 30.0), (30.0, 30.0), (10.0, 30.0))
    )


def test_the_merged_shape_keeps_intos_id_number_group_and_turning_and_starts_at_its_first_vertex_left():
    state = given(added(S, SQUARE), added(T, OVERLAPPING, group="person-1"), added(U, NEIGHBOUR))

    events, after = when(state, MergeShapes((S, T, U), T))

    assert set(shapes(after)) == {T}
    merged = shape(after, T)
    assert (merged["number"], merged["group_id"]) == (2, "person-1")
    # T's first two vertices, (20, 20) and (40, 20), are inside the union; its third starts the outline.
    assert merged["points"][0] == [40.0, 40.0]
    assert len(merged["points"]) == len(events[0].points) == 9


def test_merging_a_shape_inside_another_gives_the_outer_one():
    state = given(added(S, INSIDE), added(T, COVER))

    _, after = when(state, MergeShapes((S, T), S))

    assert shapes(after) == {S: {"number": 1, "label_class_id": CAT, "points": as_lists(COVER)}}


def test_anyone_may_merge_anyones_shapes_and_the_merge_is_one_action_of_its_author():
    state = given(added(S, SQUARE), added(T, OVERLAPPING, actor=BOB))

    _, after = when(state, MergeShapes((S, T), S), BOB)

    assert after.undo[BOB][-1].seq == after.seq
    assert [c.shape_id for c in after.undo[BOB][-1].changes] == [S, T]
    assert after.undo[ALICE] == state.undo[ALICE]


def test_undo_of_a_merge_brings_every_shape_back_as_it_was_and_redo_merges_again():
    state = given(added(S, SQUARE), added(T, OVERLAPPING, group="g"))
    _, merged = when(state, MergeShapes((S, T), S))

    undone, redone = undone_and_redone(merged)

    assert shapes(undone) == shapes(state)
    assert shapes(redone) == shapes(merged)
    assert undone.next_number == redone.next_number == state.next_number


def test_an_undo_of_a_merge_leaves_the_merged_shape_alone_if_someone_moved_it_since():
    state = given(added(S, SQUARE), added(T, OVERLAPPING))
    _, merged = when(state, MergeShapes((S, T), S))
    moved = replay(merged, decide(merged, MoveShape(S, 5.0, 5.0), ctx(BOB)))

    events, after = when(moved, Undo())

    assert events == [Undone(ALICE, merged.seq, (T,), (S,))]
    assert shape(after, S) == shape(moved, S)
    assert shape(after, T) == shape(state, T)


@pytest.mark.parametrize(
    ("steps", "command", "code", "message"),
    [
        (
            [added(S, SQUARE), added(T, OVERLAPPING, DOG)],
            MergeShapes((S, T), S),
            "different_labels",
            "Shape #2 has another label than shape #1: only shapes of one label merge (relabel it first).",
        ),
        (
            [added(S, SQUARE), added(T, FAR)],
            MergeShapes((S, T), S),
            "shapes_not_touching",
            "Shape #2 neither overlaps nor shares a border with shape #1, so they cannot become one polygon.",
        ),
        (
            [added(S, SQUARE), added(T, CORNER), added(U, OVERLAPPING), added(V, FAR)],
            MergeShapes((S, T, V), S),
            "shapes_not_touching",
            "Shapes #2 and #4 neither overlap nor share a border with shape #1, so they cannot become one polygon.",
        ),
        (
            [added(S, U_SHAPE), added(T, LID)],
            MergeShapes((S, T), T),
            "result_has_hole",
            "Shapes #1 and #2 enclose a hole, which a polygon cannot have: cover the hole with another shape "
            "of the label and merge that too.",
        ),
        (
            [added(S, SQUARE)],
            MergeShapes((S, T), S),
            "unknown_shape",
            f"There is no shape {T} on this image (it may have been deleted).",
        ),
        (
            [added(S, SQUARE), (ALICE, AddVertex(T, 20.0, 20.0))],
            MergeShapes((S, T), S),
            "shape_is_draft",
            "Draft #2 is still being drawn; close it first.",
        ),
        (
            [added(S, SQUARE), (ALICE, ImportPolygon(T, CAT, BOW_TIE))],
            MergeShapes((S, T), S),
            "self_intersecting",
            "Shape #2 crosses itself (it was imported so); fix its outline first.",
        ),
    ],
    ids=["labels", "apart", "a-corner-only", "hole", "unknown", "draft", "crossing"],
)
def test_merge_refuses(steps: list[Step], command: Command, code: str, message: str):
    refusal = refused(given(*steps), command)

    assert (refusal.code, refusal.message) == (code, message)


def test_merge_refuses_a_union_with_more_vertices_than_a_polygon_may_have():
    refusal = refused(
        given(added(S, SQUARE), added(T, OVERLAPPING)), MergeShapes((S, T), S), limits=Limits(max_vertices=6)
    )

    assert refusal.code == "too_many_vertices"
    assert refusal.message == "The merge of shapes #1 and #2 would have 8 vertices; a polygon has at most 6."


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ({"shape_ids": [S], "into": S}, "shape_ids must be a list of 2 to 1000 shape ids."),
        ({"shape_ids": [S, S], "into": S}, "shape_ids names a shape twice."),
        (
            {"shape_ids": [S, T], "into": U},
            "into must be one of shape_ids (the shape the others merge into).",
        ),
        ({"shape_ids": [S, "x"], "into": S}, "shape_ids[1] 'x' is not a UUID."),
    ],
)
def test_the_parser_refuses_a_merge_that_cannot_mean_anything(wire: dict[str, Any], message: str):
    with pytest.raises(Rejected) as info:
        parse_command({"type": "merge_shapes", **wire})

    assert (info.value.code, info.value.message) == ("invalid_command", message)


# subtract_shape


def test_subtract_cuts_the_overlap_out_and_leaves_the_cutter_as_it_was():
    state = given(added(S, SQUARE), added(T, OVERLAPPING, DOG))

    events, after = when(state, SubtractShape(S, T))

    rest = ((10.0, 10.0), (30.0, 10.0), (30.0, 20.0), (20.0, 20.0), (20.0, 30.0), (10.0, 30.0))
    assert events == [ShapeSubtracted(ALICE, S, T, ((S, rest),), None)]
    assert shapes(after) == {
        S: {"number": 1, "label_class_id": CAT, "points": as_lists(rest)},
        T: shape(state, T),
    }
    assert after.next_number == state.next_number


def test_a_cut_in_two_makes_the_smaller_piece_a_new_shape_of_the_same_object():
    state = given(added(S, SQUARE), added(T, ((0.0, 14.0), (60.0, 14.0), (60.0, 18.0), (0.0, 18.0)), DOG))

    events, after = when(state, SubtractShape(S, T))

    new = part_id(S, state.seq + 1, 1)
    top = ((10.0, 10.0), (30.0, 10.0), (30.0, 14.0), (10.0, 14.0))
    bottom = ((30.0, 30.0), (10.0, 30.0), (10.0, 18.0), (30.0, 18.0))
    assert events == [ShapeSubtracted(ALICE, S, T, ((S, bottom), (new, top)), S)]
    # The larger piece keeps the shape's id and number; the other is the image's next shape. Both are the
    # parts of one object now: a group named by the shape's id.
    assert shape(after, S) == {"number": 1, "label_class_id": CAT, "points": as_lists(bottom), "group_id": S}
    assert shape(after, new) == {"number": 3, "label_class_id": CAT, "points": as_lists(top), "group_id": S}
    assert after.next_number == 4
    assert after.shapes[new].actor == ALICE


def test_the_pieces_of_a_shape_in_a_group_stay_in_that_group():
    state = given(added(S, SQUARE, group="person-1"), added(T, BAR, DOG))

    _, after = when(state, SubtractShape(S, T))

    assert {s.get("group_id") for s in shapes(after).values() if s["label_class_id"] == CAT} == {"person-1"}


def test_a_piece_smaller_than_a_pixel_is_dropped_as_a_sliver():
    # The cutter misses the square's left edge by a hair: what would be left there is 0.04 x 20 pixels.
    state = given(added(S, SQUARE), added(T, ((10.04, 0.0), (60.0, 0.0), (60.0, 40.0), (10.04, 40.0))))

    with pytest.raises(Rejected) as info:
        decide(state, SubtractShape(S, T), ctx())
    assert info.value.code == "empty_result"

    state = given(added(S, SQUARE), added(T, ((10.04, 0.0), (20.0, 0.0), (20.0, 40.0), (10.04, 40.0))))
    events, after = when(state, SubtractShape(S, T))

    assert [part for part, _ in events[0].parts] == [S]
    assert shape(after, S)["points"] == as_lists(((30.0, 10.0), (30.0, 30.0), (20.0, 30.0), (20.0, 10.0)))


def test_undo_of_a_cut_in_two_removes_the_new_piece_and_redo_brings_it_back_with_its_number():
    state = given(added(S, SQUARE), added(T, BAR, DOG))
    events, cut = when(state, SubtractShape(S, T))
    new = events[0].parts[1][0]

    undone, redone = undone_and_redone(cut)

    assert shapes(undone) == shapes(state)
    assert shapes(redone) == shapes(cut)
    # Numbers are never given twice: the next new shape after the undo is #4, not #3 again.
    after_undo = replay(undone, decide(undone, AddPolygon(U, CAT, FAR), ctx()))
    assert shape(after_undo, U)["number"] == 4
    assert new not in after_undo.shapes


@pytest.mark.parametrize(
    ("cutter", "code", "message"),
    [
        (FAR, "shapes_not_overlapping", "Shape #2 does not overlap shape #1: there is nothing to cut out."),
        (
            NEIGHBOUR,
            "shapes_not_overlapping",
            "Shape #2 does not overlap shape #1: there is nothing to cut out.",
        ),
        (
            COVER,
            "empty_result",
            "Shape #2 covers all of shape #1: nothing of it would be left (delete it instead).",
        ),
        (
            INSIDE,
            "result_has_hole",
            "Cutting shape #2 out of shape #1 would leave a hole in it, which a polygon cannot have: split "
            "shape #1 across shape #2 first, then cut it out of each part.",
        ),
    ],
    ids=["apart", "a-border-only", "covered", "hole"],
)
def test_subtract_refuses(cutter: Points, code: str, message: str):
    refusal = refused(given(added(S, SQUARE), added(T, cutter, DOG)), SubtractShape(S, T))

    assert (refusal.code, refusal.message) == (code, message)


def test_subtract_refuses_unknown_shapes_and_drafts_on_either_side():
    state = given(added(S, SQUARE), (ALICE, AddVertex(T, 20.0, 20.0)))

    assert refused(state, SubtractShape(S, U)).code == "unknown_shape"
    assert refused(state, SubtractShape(U, S)).code == "unknown_shape"
    assert refused(state, SubtractShape(S, T)).code == "shape_is_draft"
    assert refused(state, SubtractShape(T, S)).code == "shape_is_draft"


def test_subtract_refuses_pieces_past_the_shape_limit():
    state = given(added(S, SQUARE), added(T, BAR, DOG))

    refusal = refused(state, SubtractShape(S, T), limits=Limits(max_shapes=2))

    assert refusal.code == "too_many_shapes"
    assert refusal.message == "Shape #1 would become 2 shapes, and an image holds at most 2 shapes."


def test_the_parser_refuses_a_shape_cut_out_of_itself():
    with pytest.raises(Rejected) as info:
        parse_command({"type": "subtract_shape", "shape_id": S, "by": S})

    assert (info.value.code, info.value.message) == (
        "invalid_command",
        "by must be another shape than shape_id.",
    )


# split_shape


def test_split_cuts_a_shape_in_two_along_a_line_the_larger_part_keeping_its_id():
    state = given(added(S, SQUARE))

    events, after = when(state, SplitShape(S, DOWN_AT_15))

    new = part_id(S, state.seq + 1, 1)
    right = ((30.0, 10.0), (30.0, 30.0), (15.0, 30.0), (15.0, 10.0))
    left = ((10.0, 10.0), (15.0, 10.0), (15.0, 30.0), (10.0, 30.0))
    assert events == [ShapeSplit(ALICE, S, ((S, right), (new, left)))]
    assert shapes(after) == {
        S: {"number": 1, "label_class_id": CAT, "points": as_lists(right)},
        new: {"number": 2, "label_class_id": CAT, "points": as_lists(left)},
    }


def test_a_bent_line_gives_its_bend_to_both_parts():
    state = given(added(S, SQUARE))

    events, _ = when(state, SplitShape(S, ((0.0, 15.0), (20.0, 25.0), (40.0, 15.0))))

    assert all((20.0, 25.0) in points for _, points in events[0].parts)
    assert len(events[0].parts) == 2


def test_a_line_that_crosses_a_shape_twice_cuts_it_in_three_numbered_in_order():
    state = given(added(S, SQUARE))

    events, after = when(state, SplitShape(S, ((15.0, 0.0), (15.0, 40.0), (25.0, 40.0), (25.0, 0.0))))

    parts = [part for part, _ in events[0].parts]
    assert parts == [S, part_id(S, 2, 1), part_id(S, 2, 2)]
    assert [shape(after, p)["number"] for p in parts] == [1, 2, 3]
    assert shape(after, S)["points"] == as_lists(((25.0, 30.0), (15.0, 30.0), (15.0, 10.0), (25.0, 10.0)))


def test_the_parts_of_a_split_shape_keep_its_label_and_group():
    state = given(added(S, SQUARE, DOG, group="car-1"))

    _, after = when(state, SplitShape(S, DOWN_AT_15))

    assert [(s["label_class_id"], s["group_id"]) for s in shapes(after).values()] == [(DOG, "car-1")] * 2


def test_undo_of_a_split_makes_the_shape_whole_again_and_redo_splits_it_again():
    state = given(added(S, SQUARE), (ALICE, GroupShape(S, "g")))
    _, split = when(state, SplitShape(S, DOWN_AT_15))

    undone, redone = undone_and_redone(split)

    assert shapes(undone) == shapes(state)
    assert shapes(redone) == shapes(split)


def test_an_undo_of_a_split_leaves_a_part_someone_moved_since():
    state = given(added(S, SQUARE))
    events, split = when(state, SplitShape(S, DOWN_AT_15))
    new = events[0].parts[1][0]
    moved = replay(split, decide(split, MoveShape(new, -5.0, 0.0), ctx(BOB)))

    undo, after = when(moved, Undo())

    assert undo == [Undone(ALICE, split.seq, (S,), (new,))]
    assert shape(after, S) == shape(state, S)
    assert shape(after, new) == shape(moved, new)


@pytest.mark.parametrize(
    ("line", "code", "message"),
    [
        (
            ((15.0, 0.0), (15.0, 20.0)),
            "line_does_not_cross",
            "The line does not cut shape #1 in two: draw it across the shape, from outside it to outside it.",
        ),
        (
            ((0.0, 50.0), (60.0, 50.0)),
            "line_does_not_cross",
            "The line does not cut shape #1 in two: draw it across the shape, from outside it to outside it.",
        ),
        (
            ((10.0, 0.0), (10.0, 40.0)),
            "line_does_not_cross",
            "The line does not cut shape #1 in two: draw it across the shape, from outside it to outside it.",
        ),
        (
            ((20.0, 20.0), (20.0, 20.0)),
            "line_does_not_cross",
            "The line does not cut shape #1 in two: draw it across the shape, from outside it to outside it.",
        ),
        (
            ((10.04, 0.0), (10.04, 40.0)),
            "line_does_not_cross",
            "The line does not cut shape #1 in two: draw it across the shape, from outside it to outside it.",
        ),
        (
            ((12.0, 12.0), (28.0, 12.0), (28.0, 28.0), (12.0, 28.0), (12.0, 12.0)),
            "result_has_hole",
            "The line closes a loop inside shape #1, which would leave a hole in a part: a polygon cannot "
            "have one. Draw the loop out to the shape's border.",
        ),
        (
            ((15.0, -1e300), (15.0, 1e300)),
            "line_outside_image",
            "Line point 0 (15, -1e+300) lies too far outside the 100x80 image.",
        ),
        (
            ((15.0, 0.0), (math.nan, 40.0)),
            "non_finite_coordinate",
            "Line point 1 (nan, 40.0) is not a pair of finite numbers.",
        ),
    ],
    ids=["ends-inside", "misses", "along-an-edge", "no-length", "a-sliver-only", "loop", "far-away", "nan"],
)
def test_split_refuses(line: Points, code: str, message: str):
    refusal = refused(given(added(S, SQUARE)), SplitShape(S, line))

    assert (refusal.code, refusal.message) == (code, message)


def test_split_refuses_a_line_longer_than_a_polygon_and_parts_with_too_many_vertices():
    state = given(added(S, SQUARE))
    # 38 points, 36 of them inside the square: each part gets those, the two crossings and two corners.
    zigzag = ((15.0, 5.0), *((15.0 + i % 2, 11.0 + i * 0.5) for i in range(36)), (15.0, 35.0))

    refusal = refused(state, SplitShape(S, zigzag), limits=Limits(max_vertices=37))
    assert (refusal.code, refusal.message) == ("too_many_vertices", "A cutting line has at most 37 points.")
    refusal = refused(state, SplitShape(S, zigzag), limits=Limits(max_vertices=38))
    assert refusal.code == "too_many_vertices"
    assert refusal.message == "Shape #1 would have 40 vertices; a polygon has at most 38."


def test_split_refuses_unknown_shapes_drafts_and_shapes_that_cross_themselves():
    state = given((ALICE, AddVertex(T, 20.0, 20.0)), (ALICE, ImportPolygon(U, CAT, BOW_TIE)))

    assert refused(state, SplitShape(S, DOWN_AT_15)).code == "unknown_shape"
    assert refused(state, SplitShape(T, DOWN_AT_15)).code == "shape_is_draft"
    assert refused(state, SplitShape(U, DOWN_AT_15)).code == "self_intersecting"


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ({"shape_id": S, "line": [[1, 2]]}, "line must be a list of at least 2 [x, y] pairs."),
        ({"shape_id": S, "line": [[1, 2], [3]]}, "line[1] must be an [x, y] pair."),
        ({"shape_id": S}, "split_shape needs line."),
    ],
)
def test_the_parser_refuses_a_split_without_a_line(wire: dict[str, Any], message: str):
    with pytest.raises(Rejected) as info:
        parse_command({"type": "split_shape", **wire})

    assert (info.value.code, info.value.message) == ("invalid_command", message)


# Stored, replayed and snapshotted alike


def test_the_three_events_replay_from_their_stored_records_and_survive_a_snapshot():
    state = given(added(S, SQUARE), added(T, OVERLAPPING), added(U, BAR, DOG))
    events: list[Event] = []
    for command in (MergeShapes((S, T), S), SubtractShape(S, U), SplitShape(U, ((45.0, 0.0), (45.0, 40.0)))):
        new = decide(state, command, ctx())
        events += new
        state = replay(state, new)
    records = [(event_type(e), event_payload(e), e.actor) for e in events]

    rebuilt = replay(
        given(added(S, SQUARE), added(T, OVERLAPPING), added(U, BAR, DOG)),
        [event_from_record(t, SCHEMA_VERSION, p, a) for t, p, a in records],
    )

    assert rebuilt == state
    assert state_from_dict(state_to_dict(state)) == state
    assert [t for t, _, _ in records] == ["shapes_merged", "shape_subtracted", "shape_split"]
    assert records[1][1]["parts"][0] == {"shape_id": S, "points": as_lists(events[1].parts[0][1])}


def test_a_redo_after_a_split_is_named_by_its_event():
    state = given(added(S, SQUARE))
    _, split = when(state, SplitShape(S, DOWN_AT_15))
    undone = replay(split, decide(split, Undo(), ctx()))

    redo = decide(undone, Redo(), ctx())

    assert redo == [Redone(ALICE, split.seq, (S, part_id(S, 2, 1)), ())]
