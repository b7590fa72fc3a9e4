"""Given/when/then for the auditor's reading of a stream (apps/labeling/domain/audit/): the summary of every
event type, read against the state before it, and the diff of two states' closed shapes."""

from __future__ import annotations

import re

import pytest

from apps.labeling.domain import EVENT_TYPES, Context, decide, event_type, evolve, initial_state, replay
from apps.labeling.domain import review_messages as review
from apps.labeling.domain.audit.diff import common_offset, state_diff
from apps.labeling.domain.audit.summary import draft_step, event_summary, shape_number
from apps.labeling.domain.audit.words import action_phrase, shape_name, short_id
from apps.labeling.domain.commands import Command, DiscardChanges, Redo
from apps.labeling.domain.events import (
    AllShapesDeleted,
    AttributesSet,
    ChangesDiscarded,
    DraftDiscarded,
    Event,
    HardExampleMarked,
    HardExampleUnmarked,
    LabelShapesDeleted,
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
from apps.labeling.domain.state import Actor, Change, ItemState, UndoEntry

ANN, BOB = 1, 2
CAT, DOG = 10, 20
NAMES = {CAT: "cat", DOG: "dog"}
A = "a1b2c3d4-0000-4000-8000-00000000000a"
B = "b3c4d5e6-0000-4000-8000-00000000000b"
C = "c5d6e7f8-0000-4000-8000-00000000000c"
PEOPLE = {ANN: "ann", BOB: "bob"}
SQUARE = ((10.0, 10.0), (40.0, 10.0), (40.0, 40.0), (10.0, 40.0))
TRIANGLE = ((50.0, 50.0), (70.0, 50.0), (60.0, 70.0))


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


def test_shapes_are_named_by_label_and_number_and_a_draft_as_a_polygon() -> None:
    state = given(*drawn_events(), VertexAdded(BOB, C, 1, 1))

    assert shape_name(state.shapes[A], label_name) == "cat #1"
    assert shape_name(state.shapes[B], label_name) == "dog #2"
    assert shape_name(state.shapes[C], label_name) == "polygon #3"


def test_drawing_a_polygon_is_told_vertex_by_vertex_counted_from_one_then_by_label_and_number() -> None:
    empty = initial_state(100, 80)
    started = given(VertexAdded(ANN, A, 10, 10))
    all_four = given(*(VertexAdded(ANN, A, x, y) for x, y in SQUARE))

    assert summary(empty, VertexAdded(ANN, A, 10, 10)) == "mia started polygon #1 at (10, 10)"
    assert (
        summary(started, VertexAdded(ANN, A, 40.25, 10)) == "mia added vertex 2 to polygon #1 at (40.25, 10)"
    )
    assert summary(all_four, PolygonClosed(ANN, A, CAT)) == "mia drew cat #1 (4 vertices)"
    assert summary(all_four, PolygonClosed(ANN, A, CAT, "person-1")) == (
        "mia drew cat #1 (4 vertices), part of object person-1"
    )
    assert summary(all_four, DraftDiscarded(ANN, A)) == "mia discarded polygon #1 (4 vertices)"


def test_adding_a_whole_polygon_gives_it_the_next_number_and_counts_its_vertices() -> None:
    assert summary(drawn(), PolygonAdded(BOB, C, DOG, SQUARE[:3]), "bob") == "bob added dog #3 (3 vertices)"


def test_vertex_edits_count_vertices_from_one_and_name_the_shape_or_draft() -> None:
    closed, draft = drawn(), given(VertexAdded(ANN, A, 1, 1), VertexAdded(ANN, A, 5, 1))

    assert (
        summary(closed, VertexMoved(BOB, A, 2, 45, 45.5), "bob")
        == "bob moved vertex 3 of cat #1 to (45, 45.5)"
    )
    assert summary(closed, VertexInserted(BOB, A, 1, 20, 5)) == "mia inserted vertex 2 into cat #1 at (20, 5)"
    assert summary(closed, VertexRemoved(BOB, A, 3)) == "mia removed vertex 4 of cat #1"
    assert summary(draft, VertexRemoved(ANN, A, 1)) == "mia removed vertex 2 of polygon #1"
    assert summary(draft, VertexMoved(ANN, A, 0, 2, 2)) == "mia moved vertex 1 of polygon #1 to (2, 2)"


def test_shape_edits_say_what_changed_in_words() -> None:
    before = drawn()

    assert summary(before, ShapeMoved(ANN, A, 5, -2.5)) == "mia moved cat #1 by (5, -2.5)"
    assert summary(before, ShapeRelabeled(ANN, A, DOG)) == "mia relabeled cat #1 as dog"
    assert summary(before, ShapeReset(ANN, A)) == "mia reset cat #1 to its original geometry"
    assert summary(before, ShapeDeleted(ANN, B)) == "mia deleted dog #2"
    assert summary(before, ShapeGrouped(ANN, A, "car-2")) == "mia made cat #1 part of object car-2"
    assert summary(before, ShapeGrouped(ANN, A, None)) == (
        "mia made cat #1 a whole object again (out of its group)"
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


def test_undo_and_redo_quote_the_action_they_take_back() -> None:
    closed = drawn()
    moved = given(*drawn_events(), ShapeMoved(ANN, A, 5, 0))
    undone = given(*drawn_events(), ShapeMoved(ANN, A, 5, 0), Undone(ANN, 7, (A,), ()))

    assert summary(closed, Undone(ANN, 5, (A,), ()), "ann") == "ann undid 'drew cat #1 (4 vertices)'"
    assert summary(moved, Undone(ANN, 7, (A,), ()), "ann") == "ann undid 'moved cat #1 by (5, 0)'"
    assert summary(undone, Redone(ANN, 7, (A,), ()), "ann") == "ann redid 'moved cat #1 by (5, 0)'"


def test_an_undo_quotes_a_polygon_added_whole_as_added_when_told_the_type_of_its_event() -> None:
    before = drawn()
    bobs_undo = Undone(BOB, 6, (B,), ())

    assert summary(before, bobs_undo, "bob") == "bob undid 'drew dog #2 (3 vertices)'"
    assert event_summary(bobs_undo, before, "bob", label_name, target_type="polygon_added") == (
        "bob undid 'added dog #2 (3 vertices)'"
    )


def test_an_undo_while_drawing_quotes_the_step_it_takes_back() -> None:
    two = given(VertexAdded(ANN, C, 1, 1), VertexAdded(ANN, C, 5, 1))

    assert summary(two, Undone(ANN, 2, (C,), ()), "ann") == "ann undid 'added vertex 2 to polygon #1'"
    assert summary(given(VertexAdded(ANN, C, 1, 1)), Undone(ANN, 1, (C,), ()), "ann") == (
        "ann undid 'started polygon #1'"
    )


def test_an_undo_that_left_shapes_alone_names_them_and_who_changed_them() -> None:
    bob_moved = given(*drawn_events(), ShapeMoved(ANN, A, 5, 0), VertexMoved(BOB, A, 0, 1, 1))
    bob_deleted = given(*drawn_events(), ShapeMoved(ANN, A, 5, 0), ShapeDeleted(BOB, A))
    undo = Undone(ANN, 7, (), (A,))

    assert event_summary(undo, bob_moved, "ann", label_name, person_name=PEOPLE.get) == (
        "ann undid 'moved cat #1 by (5, 0)'; cat #1 left as it was: bob changed it since"
    )
    assert event_summary(undo, bob_deleted, "ann", label_name, person_name=PEOPLE.get) == (
        "ann undid 'moved cat #1 by (5, 0)'; cat #1 not brought back: bob deleted it since"
    )
    assert summary(bob_moved, undo, "ann") == (
        "ann undid 'moved cat #1 by (5, 0)'; cat #1 left as it was, changed by others since"
    )


def test_save_discard_and_hard_example_marks() -> None:
    saved = given(*drawn_events(), Saved(ANN))
    bob_moved = given(*drawn_events(), Saved(ANN), ShapeMoved(ANN, A, 5, 0), ShapeMoved(BOB, A, 1, 1))

    assert summary(drawn(), Saved(ANN)) == "mia saved (2 shapes)"
    assert summary(drawn(), ChangesDiscarded(ANN, (), (A,)), "ann") == "ann discarded their changes (1 shape)"
    assert event_summary(
        ChangesDiscarded(ANN, (A,), ()), bob_moved, "ann", label_name, person_name=PEOPLE.get
    ) == ("ann discarded their changes (0 shapes); cat #1 left as it was: bob changed it since")
    # Stored before discard was per person.
    assert (
        summary(drawn(), ChangesDiscarded(ANN, scope="everyone"))
        == "mia discarded the changes since the last save"
    )
    assert summary(saved, ChangesDiscarded(ANN, (B,), scope="everyone")) == (
        "mia discarded the changes since the last save; dog #2 not restored, its label class is gone"
    )
    assert summary(saved, HardExampleMarked(ANN)) == "mia marked the image as a hard example"
    assert summary(saved, HardExampleUnmarked(ANN)) == "mia unmarked the image as a hard example"


def decided(state: ItemState, command: Command, actor: Actor) -> Event:
    (event,) = decide(state, command, Context(actor, frozenset(NAMES)))
    return event


def test_a_discard_or_redo_that_met_a_shape_deleted_since_says_who_deleted_it() -> None:
    moved = given(*drawn_events(), Saved(ANN), ShapeMoved(ANN, A, 5, 0))
    bob_deleted = replay(moved, [ShapeDeleted(BOB, A)])
    undone = replay(given(*drawn_events()), [ShapeDeleted(ANN, B), Undone(ANN, 7, (B,), ())])
    bob_deleted_too = replay(undone, [ShapeDeleted(BOB, B)])

    discard = decided(bob_deleted, DiscardChanges(), ANN)
    redo = decided(bob_deleted_too, Redo(), ANN)

    assert event_summary(discard, bob_deleted, "ann", label_name, person_name=PEOPLE.get) == (
        "ann discarded their changes (0 shapes); cat #1 not brought back: bob deleted it since"
    )
    assert event_summary(redo, bob_deleted_too, "ann", label_name, person_name=PEOPLE.get) == (
        "ann redid 'deleted dog #2'; dog #2 left as it was: bob deleted it since"
    )


def test_an_undone_discard_is_quoted_as_the_discard() -> None:
    discarded = given(*drawn_events(), ChangesDiscarded(ANN, (), (A,)))

    assert (
        summary(discarded, Undone(ANN, 7, (A,), ()), "ann") == "ann undid 'discarded their changes (1 shape)'"
    )


def drawn_events() -> list[Event]:
    return [
        *(VertexAdded(ANN, A, x, y) for x, y in SQUARE),
        PolygonClosed(ANN, A, CAT),
        PolygonAdded(BOB, B, DOG, ((50.0, 10.0), (70.0, 10.0), (60.0, 30.0))),
    ]


def test_a_summary_about_a_shape_the_state_does_not_hold_still_reads() -> None:
    """A stream altered in the database: the event applies to nothing, the summary says what it can."""
    empty = initial_state(100, 80)

    assert summary(empty, ShapeDeleted(ANN, A)) == "mia deleted a shape that was not there"
    assert summary(empty, ShapeRelabeled(ANN, A, DOG)) == "mia relabeled a shape that was not there as dog"
    assert summary(empty, PolygonClosed(ANN, A, CAT)) == "mia drew a polygon labeled cat"


def test_without_the_state_before_a_summary_says_what_its_event_holds() -> None:
    assert summary(None, VertexAdded(ANN, A, 1, 2)) == f"mia added a vertex to shape {short_id(A)} at (1, 2)"
    assert summary(None, PolygonClosed(ANN, A, CAT)) == "mia drew a polygon labeled cat"
    assert summary(None, PolygonAdded(ANN, A, CAT, SQUARE)) == "mia added a polygon labeled cat (4 vertices)"
    assert summary(None, Saved(ANN)) == "mia saved"
    assert summary(None, ChangesDiscarded(ANN)) == "mia discarded their changes (0 shapes)"
    assert summary(None, ShapeDeleted(ANN, A)) == f"mia deleted shape {short_id(A)}"
    assert summary(None, Undone(ANN, 12, (A,), (B,))) == (
        "mia undid their action of seq 12 (1 shape); 1 shape left as it was, changed by others since"
    )


@pytest.mark.parametrize("type_", sorted(EVENT_TYPES))
def test_every_event_type_has_a_summary_that_names_the_actor_and_no_id(type_: str) -> None:
    samples = {
        "vertex_added": VertexAdded(ANN, A, 1, 2),
        "polygon_closed": PolygonClosed(ANN, A, CAT),
        "draft_discarded": DraftDiscarded(ANN, A),
        "polygon_added": PolygonAdded(ANN, C, CAT, SQUARE),
        "vertex_moved": VertexMoved(ANN, A, 0, 1, 2),
        "vertex_inserted": VertexInserted(ANN, A, 0, 1, 2),
        "vertex_removed": VertexRemoved(ANN, A, 0),
        "shape_moved": ShapeMoved(ANN, A, 1, 2),
        "shape_relabeled": ShapeRelabeled(ANN, A, DOG),
        "attributes_set": AttributesSet(ANN, A, (("occluded", True), ("pose", None))),
        "shape_grouped": ShapeGrouped(ANN, A, "g"),
        "shape_reset": ShapeReset(ANN, A),
        "shape_deleted": ShapeDeleted(ANN, A),
        "all_shapes_deleted": AllShapesDeleted(ANN, (A,)),
        "label_shapes_deleted": LabelShapesDeleted(ANN, CAT, (A,)),
        "shapes_merged": ShapesMerged(ANN, A, (B, A), SQUARE),
        "shape_subtracted": ShapeSubtracted(ANN, A, B, ((A, SQUARE), (C, TRIANGLE)), A),
        "shape_split": ShapeSplit(ANN, A, ((A, SQUARE), (C, TRIANGLE))),
        "shapes_pasted": ShapesPasted(
            ANN, (PastedShape(C, CAT, SQUARE), PastedShape(B + "0", DOG, TRIANGLE, "g"))
        ),
        "undone": Undone(ANN, 5, (A,), ()),
        "redone": Redone(ANN, 5, (A,), ()),
        "saved": Saved(ANN),
        "changes_discarded": ChangesDiscarded(ANN),
        "hard_example_marked": HardExampleMarked(ANN),
        "hard_example_unmarked": HardExampleUnmarked(ANN),
        # Review (issue 24).
        "review_accepted": review.ReviewAccepted(ANN),
        "review_rejected": review.ReviewRejected(ANN, "Tail <missing>"),
        "review_reopened": review.ReviewReopened(ANN),
        "issue_opened": review.IssueOpened(ANN, C, 5.0, 6.0, A, "Corner"),
        "issue_commented": review.IssueCommented(ANN, C, "Fixed"),
        "issue_resolved": review.IssueResolved(ANN, C),
        "issue_reopened": review.IssueReopened(ANN, C),
    }
    assert set(samples) == set(EVENT_TYPES)

    before = given(*drawn_events(), Undone(ANN, 5, (A,), ())) if type_ == "redone" else drawn()

    text = summary(before, samples[type_], "zoe")

    assert text.startswith("zoe ")
    assert len(text) > len("zoe ") + 5
    assert "a1b2" not in text and "c5d6" not in text and "seq" not in text


# An action's phrase reads as its event's summary -----------------------------------------------------


def _entry_made_by(before: ItemState, event: Event) -> UndoEntry:
    after = evolve(before, event)
    return after.undo[event.actor][-1]


@pytest.mark.parametrize(
    ("events", "event"),
    [
        ((), VertexAdded(ANN, C, 1, 1)),
        ((VertexAdded(ANN, C, 1, 1),), VertexAdded(ANN, C, 5, 1)),
        ((VertexAdded(ANN, C, 1, 1), VertexAdded(ANN, C, 5, 1)), VertexRemoved(ANN, C, 0)),
        ((VertexAdded(ANN, C, 1, 1), VertexAdded(ANN, C, 5, 1)), VertexMoved(ANN, C, 1, 6, 6)),
        ((VertexAdded(ANN, C, 1, 1),), VertexRemoved(ANN, C, 0)),
        ((VertexAdded(ANN, C, 1, 1), VertexAdded(ANN, C, 5, 1)), DraftDiscarded(ANN, C)),
        (tuple(VertexAdded(ANN, C, x, y) for x, y in SQUARE), PolygonClosed(ANN, C, DOG, "car-1")),
        ((), PolygonAdded(ANN, C, DOG, SQUARE)),
        ((), ShapesPasted(ANN, (PastedShape(C, DOG, SQUARE), PastedShape(B + "0", CAT, TRIANGLE, "g")))),
        ((), VertexMoved(ANN, A, 1, 41, 12)),
        ((), VertexInserted(ANN, A, 2, 45, 25)),
        ((), VertexInserted(ANN, A, 4, 5, 25)),
        ((), VertexRemoved(ANN, A, 2)),
        ((), ShapeMoved(ANN, A, 3, -4)),
        ((), ShapeRelabeled(ANN, A, DOG)),
        ((), ShapeGrouped(ANN, A, "car-1")),
        ((ShapeGrouped(ANN, A, "car-1"),), ShapeGrouped(ANN, A, None)),
        ((ShapeMoved(BOB, A, 3, 4), VertexMoved(BOB, A, 0, 1, 1)), ShapeReset(ANN, A)),
        ((), ShapeDeleted(ANN, B)),
        ((), AllShapesDeleted(ANN, (A, B))),
        ((), LabelShapesDeleted(ANN, DOG, (B,))),
        ((), ShapesMerged(ANN, A, (B, A), SQUARE)),
        ((), ShapeSplit(ANN, A, ((A, SQUARE), (C, TRIANGLE)))),
    ],
)
def test_the_phrase_of_an_action_is_its_events_summary_without_coordinates(
    events: tuple[Event, ...], event: Event
) -> None:
    before = given(*drawn_events(), *events)

    plain = summary(before, event, "ann")
    phrase = action_phrase(_entry_made_by(before, event), label_name, event_type(event))

    assert plain.startswith(f"ann {phrase}")
    assert re.fullmatch(r"( (at|to) \([-\d.]+, [-\d.]+\))?", plain[len(f"ann {phrase}") :])


def test_a_merge_a_cut_and_a_split_read_in_words_with_the_numbers_of_the_parts() -> None:
    before = drawn()
    left, right = (
        ((10.0, 10.0), (20.0, 10.0), (20.0, 40.0), (10.0, 40.0)),
        ((20.0, 10.0), (40.0, 10.0), (40.0, 40.0)),
    )
    cut = ShapeSubtracted(ANN, A, B, ((A, left), (C, right)), A)
    split = ShapeSplit(ANN, A, ((A, left), (C, right), (B, SQUARE)))

    assert summary(before, ShapesMerged(ANN, A, (A, B), SQUARE)) == "mia merged dog #2 into cat #1"
    assert summary(before, ShapeSubtracted(ANN, A, B, ((A, left),), None)) == "mia cut dog #2 out of cat #1"
    assert summary(before, cut) == "mia cut dog #2 out of cat #1, leaving 2 parts (cat #1 and cat #3)"
    assert summary(before, split) == "mia split cat #1 into 3 parts (cat #1, cat #3 and cat #4)"
    assert action_phrase(_entry_made_by(before, cut), label_name, "shape_subtracted") == (
        "cut a shape out of cat #1, leaving 2 parts (cat #1 and cat #3)"
    )
    # An undo quotes the action it takes back.
    after = evolve(before, cut)
    undo = Undone(ANN, after.seq, (A, C), ())
    assert event_summary(undo, after, "ann", label_name, target_type="shape_subtracted") == (
        "ann undid 'cut a shape out of cat #1, leaving 2 parts (cat #1 and cat #3)'"
    )
    # Without the state before, the payload's ids and counts.
    assert (
        summary(None, ShapesMerged(ANN, A, (A, B), SQUARE)) == f"mia merged 1 shape into shape {short_id(A)}"
    )
    assert summary(None, split) == f"mia split shape {short_id(A)} into 3 parts"
    for event in (cut, split, ShapesMerged(ANN, A, (A, B), SQUARE)):
        assert facts(event, before) == (False, None)


def test_without_its_event_type_an_action_is_told_from_its_changes_alone() -> None:
    before = given(*drawn_events(), ShapeMoved(BOB, A, 3, 4), VertexMoved(BOB, A, 0, 1, 1))

    def phrase(event: Event) -> str:
        return action_phrase(_entry_made_by(before, event), label_name)

    assert phrase(PolygonAdded(ANN, C, DOG, SQUARE)) == "drew dog #3 (4 vertices)"
    assert phrase(AllShapesDeleted(ANN, (A, B))) == "deleted 2 shapes"
    assert phrase(LabelShapesDeleted(ANN, DOG, (B,))) == "deleted dog #2"
    assert phrase(ShapeReset(ANN, A)) == "reshaped cat #1"
    assert phrase(VertexRemoved(ANN, A, 1)) == "removed vertex 2 of cat #1"


def test_a_legacy_close_reads_as_drawing_and_a_mixed_action_as_changes() -> None:
    before = given(*(VertexAdded(ANN, A, x, y) for x, y in SQUARE))
    legacy = _entry_made_by(before, PolygonClosed(ANN, A, CAT, undo_unit="close"))
    mixed = UndoEntry(9, (Change(A, None, drawn().shapes[A]), Change(B, drawn().shapes[B], None)))

    assert action_phrase(legacy, label_name) == "drew cat #1 (4 vertices)"
    assert action_phrase(mixed, label_name) == "changed 2 shapes"


# Grouping a timeline --------------------------------------------------------------------------------


def facts(event: Event, before: ItemState | None) -> tuple[bool, int | None]:
    return draft_step(event, before), shape_number(event, before)


def test_vertex_events_on_a_draft_and_their_undo_are_draft_steps_with_the_drafts_number() -> None:
    one = given(*drawn_events(), VertexAdded(ANN, C, 1, 1))
    two = replay(one, [VertexAdded(ANN, C, 5, 1)])

    assert facts(VertexAdded(ANN, C, 1, 1), drawn()) == (True, 3)
    assert facts(VertexAdded(ANN, C, 5, 1), one) == (True, 3)
    assert facts(VertexMoved(ANN, C, 0, 2, 2), two) == (True, 3)
    assert facts(VertexRemoved(ANN, C, 0), two) == (True, 3)
    assert facts(Undone(ANN, 8, (C,), ()), two) == (True, 3)
    # What ends a draft's run of steps is no step itself, and names the same number.
    assert facts(PolygonClosed(ANN, C, CAT), two) == (False, 3)
    assert facts(DraftDiscarded(ANN, C), two) == (False, 3)


def test_edits_of_closed_shapes_are_no_draft_steps() -> None:
    before = drawn()

    assert not draft_step(VertexMoved(ANN, A, 0, 2, 2), before)
    assert not draft_step(VertexInserted(ANN, A, 0, 2, 2), before)
    assert not draft_step(Undone(ANN, 5, (A,), ()), before)  # the whole polygon
    assert shape_number(VertexMoved(ANN, A, 0, 2, 2), before) == 1
    assert shape_number(Undone(ANN, 5, (A,), ()), before) == 1
    assert shape_number(PolygonAdded(BOB, C, DOG, SQUARE), before) == 3


def test_events_about_several_shapes_or_none_have_no_shape_number() -> None:
    before = drawn()

    for event in (AllShapesDeleted(ANN, (A, B)), Saved(ANN), ChangesDiscarded(ANN), HardExampleMarked(ANN)):
        assert shape_number(event, before) is None
        assert not draft_step(event, before)
    assert shape_number(VertexMoved(ANN, A, 0, 2, 2), None) is None
    assert draft_step(VertexAdded(ANN, A, 1, 1), None)


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
