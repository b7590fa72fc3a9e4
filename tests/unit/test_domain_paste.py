"""Given/when/then for paste_shapes: what it emits, the state it leads to, its refusals (all or none), and
that a paste is one undo action of its author; a hypothesis test that paste then undo restores exactly."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from apps.labeling.domain.commands import AddPolygon, Command, DeleteShape, PasteShapes, Redo, Undo
from apps.labeling.domain.events import Event, PastedShape, ShapesPasted
from apps.labeling.domain.state import ItemState

WIDTH, HEIGHT = 100, 80
ALICE, BOB = 1, 2
CAT, DOG = 1, 2
LABELS = frozenset({CAT, DOG})
S, T, U, V = (str(uuid.UUID(int=n)) for n in range(1, 5))

Points = tuple[tuple[float, float], ...]
SQUARE: Points = ((10.0, 10.0), (30.0, 10.0), (30.0, 30.0), (10.0, 30.0))
TRIANGLE: Points = ((50.0, 50.0), (70.0, 50.0), (60.0, 70.0))


def ctx(actor: int = ALICE, limits: Limits | None = None) -> Context:
    return Context(actor=actor, label_class_ids=LABELS, limits=limits or Limits())


def given_(*steps: tuple[int, Command]) -> ItemState:
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


def shapes(state: ItemState) -> dict[str, dict[str, Any]]:
    return {s["id"]: {k: v for k, v in s.items() if k != "id"} for s in state_view(state)["shapes"]}


def paste(*polygons: AddPolygon) -> PasteShapes:
    return PasteShapes(tuple(polygons))


def test_a_paste_adds_every_shape_numbered_in_order_as_one_event() -> None:
    state = given_((ALICE, AddPolygon(S, CAT, SQUARE)))

    events, after = when(state, paste(AddPolygon(T, DOG, SQUARE, "copy-1"), AddPolygon(U, CAT, TRIANGLE)))

    assert events == [
        ShapesPasted(ALICE, (PastedShape(T, DOG, SQUARE, "copy-1"), PastedShape(U, CAT, TRIANGLE)))
    ]
    assert shapes(after)[T] == {
        "number": 2,
        "label_class_id": DOG,
        "points": [list(p) for p in SQUARE],
        "group_id": "copy-1",
    }
    assert shapes(after)[U]["number"] == 3
    assert "group_id" not in shapes(after)[U]  # a whole object, as the state shows one
    assert after.next_number == 4


def test_a_closing_point_is_dropped_as_add_polygon_drops_it() -> None:
    _, after = when(initial_state(WIDTH, HEIGHT), paste(AddPolygon(S, CAT, (*SQUARE, SQUARE[0]))))

    assert shapes(after)[S]["points"] == [list(p) for p in SQUARE]


def test_one_undo_removes_the_whole_paste_and_one_redo_brings_it_back() -> None:
    before = given_((ALICE, AddPolygon(S, CAT, SQUARE)))
    _, pasted = when(before, paste(AddPolygon(T, CAT, SQUARE), AddPolygon(U, DOG, TRIANGLE)))

    _, undone = when(pasted, Undo())
    _, redone = when(undone, Redo())

    assert shapes(undone) == shapes(before)
    assert shapes(redone) == shapes(pasted)
    assert undone.next_number == pasted.next_number  # numbers are never given twice


def test_someone_elses_undo_leaves_the_paste_alone() -> None:
    state = given_((BOB, AddPolygon(S, CAT, SQUARE)), (ALICE, paste(AddPolygon(T, CAT, TRIANGLE))))

    _, after = when(state, Undo(), actor=BOB)

    assert set(shapes(after)) == {T}


def test_the_event_round_trips_through_its_stored_payload() -> None:
    event = ShapesPasted(ALICE, (PastedShape(T, DOG, SQUARE, "copy-1"), PastedShape(U, CAT, TRIANGLE)))

    payload = event_payload(event)

    assert event_type(event) == "shapes_pasted"
    assert payload["shapes"][1] == {
        "shape_id": U,
        "label_class_id": CAT,
        "points": [list(p) for p in TRIANGLE],
    }
    assert event_from_record("shapes_pasted", SCHEMA_VERSION, payload, ALICE) == event


def test_the_wire_form_parses_to_the_command() -> None:
    data = {
        "type": "paste_shapes",
        "shapes": [{"shape_id": T, "label_class_id": CAT, "points": [[10, 10], [30, 10], [30, 30]]}],
    }

    assert parse_command(data) == paste(AddPolygon(T, CAT, ((10.0, 10.0), (30.0, 10.0), (30.0, 30.0))))


# Refusals: all or none, naming the pasted shape at fault ---------------------------------------------


@pytest.mark.parametrize(
    ("second", "code"),
    [
        pytest.param(
            AddPolygon(U, CAT, ((10.0, 10.0), (130.0, 10.0), (30.0, 30.0))), "polygon_outside_image"
        ),
        pytest.param(AddPolygon(U, 99, TRIANGLE), "unknown_label_class"),
        pytest.param(AddPolygon(U, CAT, ((10.0, 10.0), (30.0, 10.0))), "too_few_vertices"),
        pytest.param(AddPolygon(S, CAT, TRIANGLE), "shape_exists"),
    ],
)
def test_a_bad_shape_refuses_the_whole_paste_and_is_named(second: AddPolygon, code: str) -> None:
    state = given_((ALICE, AddPolygon(S, CAT, SQUARE)))

    refusal = refused(state, paste(AddPolygon(T, CAT, SQUARE), second))

    assert refusal.code == code
    assert refusal.message.startswith("Pasted shape 2 of 2: ")


def test_a_paste_past_the_images_shape_limit_is_refused() -> None:
    state = given_((ALICE, AddPolygon(S, CAT, SQUARE)))

    refusal = refused(
        state, paste(AddPolygon(T, CAT, SQUARE), AddPolygon(U, CAT, TRIANGLE)), limits=Limits(max_shapes=2)
    )

    assert refusal.code == "too_many_shapes"
    assert "at most 2 shapes" in refusal.message


def test_an_empty_paste_never_reaches_decide() -> None:
    with pytest.raises(Rejected) as info:
        parse_command({"type": "paste_shapes", "shapes": []})

    assert info.value.code == "invalid_command"


def test_a_deleted_shapes_id_cannot_be_pasted_again_after_a_save() -> None:
    from apps.labeling.domain.commands import Save

    state = given_((ALICE, AddPolygon(S, CAT, SQUARE)), (ALICE, Save()), (ALICE, DeleteShape(S)))

    assert refused(state, paste(AddPolygon(S, CAT, SQUARE))).code == "shape_exists"


# Property: paste then undo restores the state exactly ------------------------------------------------

coordinate_x = st.integers(0, WIDTH)
coordinate_y = st.integers(0, HEIGHT)


@st.composite
def box(draw: st.DrawFn) -> Points:
    x, y = draw(st.integers(0, WIDTH - 2)), draw(st.integers(0, HEIGHT - 2))
    w, h = draw(st.integers(1, WIDTH - x)), draw(st.integers(1, HEIGHT - y))
    return ((x, y), (x + w, y), (x + w, y + h), (x, y + h))


@st.composite
def history_and_paste(draw: st.DrawFn) -> tuple[list[tuple[int, Command]], PasteShapes]:
    ids = [str(uuid.UUID(int=n)) for n in range(1, 40)]
    steps: list[tuple[int, Command]] = []
    for n in range(draw(st.integers(0, 4))):
        steps.append((draw(st.sampled_from([ALICE, BOB])), AddPolygon(ids[n], CAT, draw(box()))))
    pasted = draw(st.integers(1, 6))
    groups = st.sampled_from([None, "copy-1", "copy-2"])
    polygons = tuple(
        AddPolygon(ids[10 + n], draw(st.sampled_from([CAT, DOG])), draw(box()), draw(groups))
        for n in range(pasted)
    )
    return steps, PasteShapes(polygons)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=history_and_paste())
def test_paste_then_undo_restores_the_state_exactly_and_redo_the_paste(data) -> None:
    steps, command = data
    before = given_(*steps)

    events, pasted = when(before, command)
    _, undone = when(pasted, Undo())
    _, redone = when(undone, Redo())

    assert len(events) == 1
    assert len(shapes(pasted)) == len(shapes(before)) + len(command.shapes)
    # Exactly: every shape as it was (points, label, group, number, reset point), and what undo keeps.
    assert undone.shapes == before.shapes
    assert undone.undo.get(ALICE, ()) == before.undo.get(ALICE, ())
    assert redone.shapes == pasted.shapes
    # The stored form replays to the same state, as a snapshot does.
    assert state_from_dict(state_to_dict(pasted)) == pasted
    stored = [event_from_record(event_type(e), SCHEMA_VERSION, event_payload(e), e.actor) for e in events]
    assert replay(before, stored) == pasted
