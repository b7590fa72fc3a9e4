"""Snapshots (state_to_dict / state_from_dict) and stored events (event_payload / event_from_record) round-trip."""

from __future__ import annotations

import json
import uuid

import pytest

from apps.labeling.domain import (
    EVENT_TYPES,
    SCHEMA_VERSION,
    Context,
    Limits,
    Rejected,
    decide,
    event_from_record,
    event_payload,
    event_type,
    initial_state,
    replay,
    state_from_dict,
    state_to_dict,
    state_view,
)
from apps.labeling.domain.commands import (
    AddPolygon,
    AddVertex,
    ClosePolygon,
    Command,
    DeleteShape,
    MarkHardExample,
    MoveShape,
    MoveVertex,
    Redo,
    RelabelShape,
    Save,
    Undo,
)
from apps.labeling.domain.events import (
    AllShapesDeleted,
    AttributesSet,
    ChangesDiscarded,
    DraftDiscarded,
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
from apps.labeling.domain.review_messages import (
    CommentIssue,
    IssueCommented,
    IssueOpened,
    IssueReopened,
    IssueResolved,
    OpenIssue,
    RejectReview,
    ResolveIssue,
    ReviewAccepted,
    ReviewRejected,
    ReviewReopened,
)
from apps.labeling.domain.state import ItemState

ALICE, BOB = 1, 2
S, T, U, V = (str(uuid.UUID(int=n)) for n in range(1, 5))
SQUARE = ((10.0, 10.0), (30.0, 10.0), (30.0, 30.0), (10.0, 30.0))
TRIANGLE = ((50.0, 50.0), (70.0, 50.0), (60.0, 70.0))
CONTEXT = {"label_class_ids": frozenset({1, 2}), "limits": Limits()}


def given(*steps: tuple[int, Command]) -> ItemState:
    state = initial_state(100, 80)
    for actor, command in steps:
        state = replay(state, decide(state, command, Context(actor=actor, **CONTEXT)))
    return state


def busy_state() -> ItemState:
    """A state with every part filled: shapes, drafts of two people, a save, undo and redo stacks."""
    return given(
        (ALICE, AddVertex(U, 80.0, 10.0)),
        (ALICE, AddVertex(U, 90.0, 10.0)),
        (BOB, AddVertex(V, 5.0, 70.0)),
        (ALICE, AddPolygon(S, 1, SQUARE)),
        (BOB, AddPolygon(T, 2, TRIANGLE)),
        (ALICE, Save()),
        (ALICE, MoveShape(S, 2.5, -1.25)),
        (BOB, RelabelShape(T, 1)),
        (BOB, MoveVertex(S, 0, 11.0, 9.0)),
        (ALICE, DeleteShape(T)),
        (ALICE, Undo()),
        (ALICE, Undo()),
        (BOB, Undo()),
        (ALICE, MarkHardExample()),
        # Review (issue 24): an issue with its thread, another resolved, and a rejection.
        (BOB, OpenIssue(str(uuid.UUID(int=9)), 12.0, 14.5, "Corner off", S)),
        (ALICE, CommentIssue(str(uuid.UUID(int=9)), "Which one?")),
        (BOB, OpenIssue(str(uuid.UUID(int=10)), 1.0, 2.0, "Missed a cup")),
        (ALICE, ResolveIssue(str(uuid.UUID(int=10)))),
        (BOB, RejectReview("Two mistakes")),
    )


def test_the_busy_state_really_has_every_part_filled():
    state = busy_state()

    assert state.saved and state.undo.get(ALICE) and state.redo.get(ALICE) and state.redo.get(BOB)
    assert {d["actor"] for d in state_view(state)["drafts"]} == {ALICE, BOB}
    assert state.hard_example
    assert state.review.status == "rejected" and len(state.issues) == 2
    assert [i["status"] for i in state_view(state)["issues"]] == ["open", "resolved"]


@pytest.mark.parametrize("state", [initial_state(640, 480), busy_state()], ids=["initial", "busy"])
def test_a_state_round_trips_through_its_snapshot_form(state):
    assert state_from_dict(state_to_dict(state)) == state


@pytest.mark.parametrize("state", [initial_state(640, 480), busy_state()], ids=["initial", "busy"])
def test_a_state_round_trips_through_json(state):
    restored = state_from_dict(json.loads(json.dumps(state_to_dict(state))))

    assert restored == state
    assert state_view(restored) == state_view(state)


def test_a_restored_snapshot_keeps_undo_redo_and_reset_working_as_before():
    state = busy_state()
    restored = state_from_dict(json.loads(json.dumps(state_to_dict(state))))

    for actor, command in [(ALICE, Redo()), (BOB, Redo()), (ALICE, Undo()), (BOB, ClosePolygon(V, 1))]:
        context = Context(actor=actor, **CONTEXT)
        try:
            expected = decide(state, command, context)
        except Rejected as error:
            with pytest.raises(Rejected) as again:
                decide(restored, command, context)
            assert again.value.code == error.code
            continue
        assert decide(restored, command, context) == expected
        state, restored = replay(state, expected), replay(restored, expected)
        assert restored == state


# One example of every event type, with payload values of the kinds the parser produces.
EVENTS = [
    VertexAdded(ALICE, S, 1.5, 2.0),
    PolygonClosed(ALICE, S, 2),
    DraftDiscarded(BOB, T),
    PolygonAdded(BOB, T, 1, ((1.0, 2.0), (3.5, 4.0), (0.0, 9.0))),
    PolygonAdded(BOB, U, 1, ((1.0, 2.0), (3.5, 4.0), (0.0, 9.0)), "person-1"),
    PolygonClosed(ALICE, S, 2, "person-1"),
    ShapeGrouped(ALICE, S, "person-2"),
    ShapeGrouped(ALICE, S, None),
    VertexMoved(ALICE, S, 2, 7.0, 8.25),
    VertexInserted(ALICE, S, 0, 7.0, 8.0),
    VertexRemoved(BOB, S, 3),
    ShapeMoved(ALICE, S, -1.5, 0.0),
    ShapeRelabeled(ALICE, S, 2),
    AttributesSet(BOB, S, (("colour", "red"), ("count", 2.0), ("occluded", True), ("pose", None))),
    ShapeReset(BOB, S),
    ShapeDeleted(ALICE, S),
    AllShapesDeleted(ALICE, (S, T)),
    LabelShapesDeleted(BOB, 2, (T,)),
    ShapesMerged(ALICE, S, (T, S), ((1.0, 2.0), (3.5, 4.0), (0.0, 9.0))),
    ShapeSubtracted(BOB, S, T, ((S, ((1.0, 2.0), (3.5, 4.0), (0.0, 9.0))),), None),
    ShapeSubtracted(
        BOB, S, T, ((S, ((1.0, 2.0), (3.5, 4.0), (0.0, 9.0))), (U, ((5.0, 5.0), (6.0, 5.0), (6.0, 6.0)))), S
    ),
    ShapeSplit(
        ALICE, S, ((S, ((1.0, 2.0), (3.5, 4.0), (0.0, 9.0))), (U, ((5.0, 5.0), (6.0, 5.0), (6.0, 6.0))))
    ),
    ShapesPasted(
        BOB,
        (
            PastedShape(T, 1, ((1.0, 2.0), (3.5, 4.0), (0.0, 9.0))),
            PastedShape(U, 2, ((5.0, 5.0), (6.0, 5.0), (6.0, 6.0)), "copy-1"),
        ),
    ),
    Undone(ALICE, 12, (S,), (T, U)),
    Redone(ALICE, 12, (), (S,)),
    Saved(BOB),
    ChangesDiscarded(ALICE, (U,)),
    HardExampleMarked(ALICE),
    HardExampleUnmarked(BOB),
    ReviewAccepted(BOB),
    ReviewRejected(BOB, "The cup's handle is missing.\n<script>"),
    ReviewReopened(ALICE),
    IssueOpened(BOB, V, 3.5, 4.0, S, "Here"),
    IssueOpened(BOB, V, 3.5, 4.0, None, "Here"),
    IssueCommented(ALICE, V, "Done"),
    IssueResolved(ALICE, V),
    IssueReopened(BOB, V),
]


def test_the_examples_cover_every_event_type():
    assert {event_type(e) for e in EVENTS} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", EVENTS, ids=event_type)
def test_an_event_round_trips_through_its_stored_record(event):
    payload = json.loads(json.dumps(event_payload(event)))

    assert event_from_record(event_type(event), SCHEMA_VERSION, payload, event.actor) == event


@pytest.mark.parametrize("event", EVENTS, ids=event_type)
def test_an_event_payload_is_plain_json_without_the_actor(event):
    payload = event_payload(event)

    assert "actor" not in payload
    assert json.loads(json.dumps(payload)) == payload


def test_an_event_payload_names_its_fields():
    assert event_payload(PolygonAdded(ALICE, S, 1, ((1.0, 2.0), (3.0, 4.0)))) == {
        "shape_id": S,
        "label_class_id": 1,
        "points": [[1.0, 2.0], [3.0, 4.0]],
    }
    assert event_payload(Undone(ALICE, 5, (S,), (T,))) == {
        "target_seq": 5,
        "shape_ids": [S],
        "skipped_shape_ids": [T],
    }


def test_a_group_id_is_left_out_of_payloads_until_one_is_given():
    # Events stored before groups existed have no group_id; their payloads (and hashes) stay the same.
    assert "group_id" not in event_payload(PolygonClosed(ALICE, S, 2))
    assert event_payload(PolygonClosed(ALICE, S, 2, "g")) == {
        "shape_id": S,
        "label_class_id": 2,
        "group_id": "g",
        "undo_unit": "polygon",
    }
    assert event_from_record(
        "polygon_closed", SCHEMA_VERSION, {"shape_id": S, "label_class_id": 2, "undo_unit": "polygon"}, ALICE
    ) == (PolygonClosed(ALICE, S, 2))


def test_a_stored_polygon_closed_without_undo_unit_is_read_as_undoing_the_close_alone():
    # Stored before a polygon was one undo action: the upcaster gives it the rule it was decided under.
    assert event_from_record(
        "polygon_closed", SCHEMA_VERSION, {"shape_id": S, "label_class_id": 2}, ALICE
    ) == PolygonClosed(ALICE, S, 2, undo_unit="close")


def test_a_stored_changes_discarded_without_scope_is_read_as_the_discard_for_everyone():
    assert event_from_record(
        "changes_discarded", SCHEMA_VERSION, {"skipped_shape_ids": [S]}, BOB
    ) == ChangesDiscarded(BOB, (S,), (), "everyone")


def test_it_refuses_a_stored_rule_it_does_not_know():
    with pytest.raises(ValueError, match="scope"):
        event_from_record(
            "changes_discarded",
            SCHEMA_VERSION,
            {"skipped_shape_ids": [], "shape_ids": [], "scope": "all"},
            BOB,
        )


def test_a_discard_entry_survives_a_snapshot_and_other_entries_keep_the_old_row_form():
    state = replay(
        initial_state(100, 100),
        [PolygonAdded(ALICE, S, 1, ((1.0, 2.0), (3.5, 4.0), (0.0, 9.0))), ChangesDiscarded(ALICE, (), (S,))],
    )
    raw = json.loads(json.dumps(state_to_dict(state)))

    assert state.undo[ALICE][-1].discard is True
    assert state_from_dict(raw) == state
    assert [len(entry) for entry in raw["undo"][0][1]] == [2, 3]


def test_a_grouped_shape_survives_a_snapshot_and_an_ungrouped_one_keeps_the_old_row_form():
    state = replay(
        initial_state(100, 100),
        [
            PolygonAdded(ALICE, S, 1, ((1.0, 2.0), (3.5, 4.0), (0.0, 9.0)), "g"),
            PolygonAdded(ALICE, T, 1, ((1.0, 2.0), (3.5, 4.0), (0.0, 9.0))),
        ],
    )
    raw = json.loads(json.dumps(state_to_dict(state)))

    assert state_from_dict(raw) == state
    assert sorted(len(row) for row in raw["table"]) == [7, 8]


def test_a_changes_discarded_event_without_skipped_shapes_round_trips():
    event = ChangesDiscarded(BOB)

    assert event_payload(event) == {"skipped_shape_ids": [], "shape_ids": [], "scope": "mine"}
    assert event_from_record("changes_discarded", SCHEMA_VERSION, event_payload(event), BOB) == event


def test_a_stored_event_with_integer_points_comes_back_with_float_points():
    event = event_from_record(
        "polygon_added",
        SCHEMA_VERSION,
        {"shape_id": S, "label_class_id": 1, "points": [[1, 2], [3, 4], [0, 5]]},
        ALICE,
    )

    assert event.points == ((1.0, 2.0), (3.0, 4.0), (0.0, 5.0))
    assert all(isinstance(v, float) for point in event.points for v in point)


def test_it_refuses_a_record_of_a_schema_version_it_cannot_upgrade():
    with pytest.raises(ValueError, match="schema version 99"):
        event_from_record("saved", 99, {}, ALICE)


def test_replaying_stored_records_rebuilds_the_same_state():
    state = initial_state(100, 80)
    records = []
    for actor, command in [
        (ALICE, AddPolygon(S, 1, SQUARE)),
        (BOB, MoveShape(S, 1.0, 1.0)),
        (ALICE, Save()),
        (ALICE, Undo()),
        (BOB, DeleteShape(S)),
    ]:
        for event in decide(state, command, Context(actor=actor, **CONTEXT)):
            state = replay(state, [event])
            records.append((event_type(event), SCHEMA_VERSION, json.dumps(event_payload(event)), event.actor))

    rebuilt = replay(
        initial_state(100, 80), [event_from_record(t, v, json.loads(p), a) for t, v, p, a in records]
    )

    assert rebuilt == state
