"""Given/when/then for the auditor's reading of a stream (apps/labeling/domain/audit.py): the summary of every
event type, read against the state before it, and the diff of two states' closed shapes."""

from __future__ import annotations

import uuid

import pytest

from apps.labeling.domain import EVENT_TYPES, initial_state, replay
from apps.labeling.domain.audit import common_offset, event_summary, short_id, state_diff
from apps.labeling.domain.events import (
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
from apps.labeling.domain.state import ItemState

ANN, BOB = 1, 2
CAT, DOG = 10, 20
NAMES = {CAT: "cat", DOG: "dog"}
A = str(uuid.UUID(int=0xA1B2))
B = str(uuid.UUID(int=0xB3C4))
SQUARE = ((10.0, 10.0), (40.0, 10.0), (40.0, 40.0), (10.0, 40.0))


def label_name(label_class_id: int) -> str:
    return NAMES.get(label_class_id, f"label class {label_class_id}")


def given(*events: Event) -> ItemState:
    return replay(initial_state(100, 80), events)


def summary(before: ItemState | None, event: Event, who: str = "mia") -> str:
    return event_summary(event, before, who, label_name)


def drawn() -> ItemState:
    """ann drew A (a cat square, closed from a draft) and bob added B (a dog triangle)."""
    return given(
        *(VertexAdded(ANN, A, x, y) for x, y in SQUARE),
        PolygonClosed(ANN, A, CAT),
        PolygonAdded(BOB, B, DOG, ((50.0, 10.0), (70.0, 10.0), (60.0, 30.0))),
    )


# Summaries ----------------------------------------------------------------------------------------


def test_a_shape_is_named_by_the_start_of_its_id() -> None:
    assert short_id(A) == f"{A[:4]}…"


def test_drawing_a_polygon_is_told_vertex_by_vertex_then_with_its_label_and_vertex_count() -> None:
    empty = initial_state(100, 80)
    started = given(VertexAdded(ANN, A, 10, 10))
    all_four = given(*(VertexAdded(ANN, A, x, y) for x, y in SQUARE))

    assert summary(empty, VertexAdded(ANN, A, 10, 10)) == f"mia started a polygon {short_id(A)} at (10, 10)"
    assert summary(started, VertexAdded(ANN, A, 40.25, 10)) == (
        f"mia added vertex 1 to draft {short_id(A)} at (40.25, 10)"
    )
    assert summary(all_four, PolygonClosed(ANN, A, CAT)) == "mia drew a polygon labeled cat (4 vertices)"
    assert summary(all_four, PolygonClosed(ANN, A, CAT, "person-1")) == (
        "mia drew a polygon labeled cat (4 vertices), part of object person-1"
    )
    assert summary(all_four, DraftDiscarded(ANN, A)) == f"mia discarded the draft {short_id(A)} (4 vertices)"


def test_adding_a_whole_polygon_counts_its_vertices() -> None:
    assert summary(initial_state(100, 80), PolygonAdded(BOB, B, DOG, SQUARE[:3]), "bob") == (
        "bob added a polygon labeled dog (3 vertices)"
    )


def test_vertex_edits_name_the_vertex_index_and_whether_the_shape_is_a_draft() -> None:
    closed, draft = drawn(), given(VertexAdded(ANN, A, 1, 1), VertexAdded(ANN, A, 5, 1))

    assert summary(closed, VertexMoved(BOB, A, 2, 45, 45.5), "bob") == (
        f"bob moved vertex 2 of shape {short_id(A)} to (45, 45.5)"
    )
    assert summary(closed, VertexInserted(BOB, A, 1, 20, 5)) == (
        f"mia inserted vertex 1 into shape {short_id(A)} at (20, 5)"
    )
    assert summary(closed, VertexRemoved(BOB, A, 3)) == f"mia removed vertex 3 of shape {short_id(A)}"
    assert summary(draft, VertexRemoved(ANN, A, 1)) == f"mia removed vertex 1 of draft {short_id(A)}"


def test_shape_edits_say_what_changed() -> None:
    before = drawn()

    assert summary(before, ShapeMoved(ANN, A, 5, -2.5)) == f"mia moved shape {short_id(A)} by (5, -2.5)"
    assert (
        summary(before, ShapeRelabeled(ANN, A, DOG)) == f"mia relabeled shape {short_id(A)} from cat to dog"
    )
    assert summary(before, ShapeReset(ANN, A)) == f"mia reset shape {short_id(A)} to its original geometry"
    assert summary(before, ShapeDeleted(ANN, B)) == f"mia deleted shape {short_id(B)} (dog)"
    assert (
        summary(before, ShapeGrouped(ANN, A, "car-2")) == f"mia made shape {short_id(A)} part of object car-2"
    )
    assert summary(before, ShapeGrouped(ANN, A, None)) == (
        f"mia made shape {short_id(A)} a whole object again (out of its group)"
    )


def test_deletions_count_the_shapes_they_removed() -> None:
    before = drawn()

    assert summary(before, AllShapesDeleted(ANN, (A, B))) == "mia deleted all shapes (2 shapes)"
    assert (
        summary(before, LabelShapesDeleted(ANN, DOG, (B,))) == "mia deleted the shapes labeled dog (1 shape)"
    )
    assert summary(before, LabelShapesDeleted(ANN, 99, ())) == (
        "mia deleted the shapes labeled label class 99 (0 shapes)"
    )


def test_undo_and_redo_name_the_seq_and_what_was_left_alone() -> None:
    before = drawn()

    assert summary(before, Undone(ANN, 12, (A, B), ()), "alice") == "alice undid seq 12 (2 shapes)"
    assert summary(before, Undone(ANN, 12, (), (A,)), "alice") == (
        "alice undid seq 12 (0 shapes; 1 shape left as they were, changed by others since)"
    )
    assert summary(before, Redone(ANN, 7, (A,), ()), "alice") == "alice redid seq 7 (1 shape)"


def test_save_discard_and_hard_example_marks() -> None:
    saved = given(*drawn_events(), Saved(ANN))

    assert summary(drawn(), Saved(ANN)) == "mia saved (2 shapes)"
    assert summary(drawn(), ChangesDiscarded(ANN, (), (A,))) == (
        "mia discarded their own changes since the start (no save yet) (1 shape)"
    )
    assert summary(saved, ChangesDiscarded(ANN, (B,), (A,))) == (
        f"mia discarded their own changes since the last save (seq {saved.saved_seq}) "
        "(1 shape; 1 shape left as they were, changed by others since)"
    )
    # Stored before discard was per person.
    assert (
        summary(drawn(), ChangesDiscarded(ANN, scope="everyone"))
        == "mia discarded the changes since the start (no save yet)"
    )
    assert summary(saved, ChangesDiscarded(ANN, (B,), scope="everyone")) == (
        f"mia discarded the changes since the last save (seq {saved.saved_seq}); "
        "1 saved shape not restored, its label class is gone"
    )
    assert summary(saved, HardExampleMarked(ANN)) == "mia marked the image as a hard example"
    assert summary(saved, HardExampleUnmarked(ANN)) == "mia unmarked the image as a hard example"


def drawn_events() -> list[Event]:
    return [
        *(VertexAdded(ANN, A, x, y) for x, y in SQUARE),
        PolygonClosed(ANN, A, CAT),
        PolygonAdded(BOB, B, DOG, ((50.0, 10.0), (70.0, 10.0), (60.0, 30.0))),
    ]


def test_a_summary_about_a_shape_the_state_does_not_hold_still_reads() -> None:
    """A shape deleted by someone else meanwhile: the event applies to nothing, the summary says what it can."""
    empty = initial_state(100, 80)

    assert summary(empty, ShapeDeleted(ANN, A)) == f"mia deleted shape {short_id(A)}"
    assert summary(empty, ShapeRelabeled(ANN, A, DOG)) == f"mia relabeled shape {short_id(A)} to dog"
    assert summary(empty, PolygonClosed(ANN, A, CAT)) == "mia drew a polygon labeled cat"


def test_without_the_state_before_a_summary_says_what_its_event_holds() -> None:
    assert (
        summary(None, VertexAdded(ANN, A, 1, 2)) == f"mia added a vertex to polygon {short_id(A)} at (1, 2)"
    )
    assert summary(None, PolygonClosed(ANN, A, CAT)) == "mia drew a polygon labeled cat"
    assert summary(None, Saved(ANN)) == "mia saved"
    assert (
        summary(None, ChangesDiscarded(ANN))
        == "mia discarded their own changes since the last save (0 shapes)"
    )
    assert summary(None, ShapeDeleted(ANN, A)) == f"mia deleted shape {short_id(A)}"


@pytest.mark.parametrize("type_", sorted(EVENT_TYPES))
def test_every_event_type_has_a_summary_that_names_the_actor(type_: str) -> None:
    samples = {
        "vertex_added": VertexAdded(ANN, A, 1, 2),
        "polygon_closed": PolygonClosed(ANN, A, CAT),
        "draft_discarded": DraftDiscarded(ANN, A),
        "polygon_added": PolygonAdded(ANN, A, CAT, SQUARE),
        "vertex_moved": VertexMoved(ANN, A, 0, 1, 2),
        "vertex_inserted": VertexInserted(ANN, A, 0, 1, 2),
        "vertex_removed": VertexRemoved(ANN, A, 0),
        "shape_moved": ShapeMoved(ANN, A, 1, 2),
        "shape_relabeled": ShapeRelabeled(ANN, A, DOG),
        "shape_grouped": ShapeGrouped(ANN, A, "g"),
        "shape_reset": ShapeReset(ANN, A),
        "shape_deleted": ShapeDeleted(ANN, A),
        "all_shapes_deleted": AllShapesDeleted(ANN, (A,)),
        "label_shapes_deleted": LabelShapesDeleted(ANN, CAT, (A,)),
        "undone": Undone(ANN, 1, (A,), ()),
        "redone": Redone(ANN, 1, (A,), ()),
        "saved": Saved(ANN),
        "changes_discarded": ChangesDiscarded(ANN),
        "hard_example_marked": HardExampleMarked(ANN),
        "hard_example_unmarked": HardExampleUnmarked(ANN),
    }
    assert set(samples) == set(EVENT_TYPES)

    text = summary(drawn(), samples[type_], "zoe")

    assert text.startswith("zoe ")
    assert len(text) > len("zoe ") + 5


# Diff ---------------------------------------------------------------------------------------------


def test_given_two_states_the_diff_lists_added_and_removed_shapes_with_who_drew_them() -> None:
    before = given(PolygonAdded(ANN, A, CAT, SQUARE))
    after = given(
        PolygonAdded(ANN, A, CAT, SQUARE), PolygonAdded(BOB, B, DOG, SQUARE[:3]), ShapeDeleted(ANN, A)
    )

    forward, backward = state_diff(before, after), state_diff(after, before)

    b_view = {
        "id": B,
        "number": 2,
        "label_class_id": DOG,
        "points": [list(p) for p in SQUARE[:3]],
        "actor": BOB,
    }
    a_view = {"id": A, "number": 1, "label_class_id": CAT, "points": [list(p) for p in SQUARE], "actor": ANN}
    assert forward == {"added": [b_view], "removed": [a_view], "changed": []}
    assert backward == {"added": [a_view], "removed": [b_view], "changed": []}


def test_drafts_are_not_part_of_the_diff() -> None:
    assert state_diff(
        initial_state(100, 80), given(VertexAdded(ANN, A, 1, 1), VertexAdded(ANN, A, 5, 5))
    ) == {
        "added": [],
        "removed": [],
        "changed": [],
    }


def test_a_moved_shape_reports_the_offset_even_when_the_float_differences_disagree_in_the_last_bits() -> None:
    awkward = ((0.1, 0.7), (0.7, 0.1), (0.3, 0.9))
    before = given(PolygonAdded(ANN, A, CAT, awkward))
    after = given(PolygonAdded(ANN, A, CAT, awkward), ShapeMoved(ANN, A, 0.2, -0.1))

    (change,) = state_diff(before, after)["changed"]

    assert change["changes"] == ["points"]
    assert change["moved_vertices"] == [0, 1, 2]
    assert change["moved_by"] == [0.2, -0.1]


def test_a_single_vertex_move_names_its_index_and_no_common_offset() -> None:
    before = given(PolygonAdded(ANN, A, CAT, SQUARE))
    after = given(PolygonAdded(ANN, A, CAT, SQUARE), VertexMoved(BOB, A, 1, 41, 12))

    (change,) = state_diff(before, after)["changed"]

    assert change["moved_vertices"] == [1]
    assert "moved_by" not in change
    assert change["after"]["actor"] == ANN


def test_relabel_and_group_are_named_and_carry_no_vertex_fields() -> None:
    before = given(PolygonAdded(ANN, A, CAT, SQUARE))
    after = given(PolygonAdded(ANN, A, CAT, SQUARE), ShapeRelabeled(BOB, A, DOG), ShapeGrouped(BOB, A, "g1"))

    (change,) = state_diff(before, after)["changed"]

    assert change["changes"] == ["label_class_id", "group_id"]
    assert "moved_vertices" not in change and "moved_by" not in change
    assert change["after"]["group_id"] == "g1"
    assert "group_id" not in change["before"]


def test_an_id_reused_by_someone_else_is_another_shape() -> None:
    before = given(PolygonAdded(ANN, A, CAT, SQUARE))
    after = given(PolygonAdded(ANN, A, CAT, SQUARE), ShapeDeleted(ANN, A), PolygonAdded(BOB, A, CAT, SQUARE))

    diff = state_diff(before, after)

    assert [s["actor"] for s in diff["removed"]] == [ANN]
    assert [s["actor"] for s in diff["added"]] == [BOB]
    assert diff["changed"] == []


def test_a_reset_reads_as_the_move_back() -> None:
    moved = given(PolygonAdded(ANN, A, CAT, SQUARE), ShapeMoved(ANN, A, 3, 4))
    reset = replay(moved, [ShapeReset(ANN, A)])

    (change,) = state_diff(moved, reset)["changed"]

    assert change["moved_by"] == [-3.0, -4.0]
    assert change["after"]["points"] == [list(p) for p in SQUARE]


def test_the_common_offset_needs_equal_vertex_counts_and_writes_no_negative_zero() -> None:
    assert common_offset(SQUARE, SQUARE[:3]) is None
    assert common_offset((), ()) is None
    assert common_offset(((1.0, 1.0), (2.0, 2.0)), ((1.0, 3.0), (2.0, 4.0))) == [0.0, 2.0]
    assert str(common_offset(((-0.0, 1.0),), ((-0.0, 1.0),))) == "[0.0, 0.0]"
