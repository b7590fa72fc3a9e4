"""Attributes (DESIGN section 9): what a label class declares, and set_attributes -> attributes_set, given
/ when / then: what it emits, the state it leads to, undo and redo, its refusals, and the replay's words."""

from __future__ import annotations

import uuid

import pytest

from apps.labeling.domain import (
    Context,
    Rejected,
    decide,
    initial_state,
    parse_command,
    replay,
    state_from_dict,
    state_to_dict,
    state_view,
)
from apps.labeling.domain.attributes import declarations_json, parse_declarations
from apps.labeling.domain.audit import event_summary
from apps.labeling.domain.commands import (
    AddPolygon,
    Command,
    RelabelShape,
    SetAttributes,
    SplitShape,
    Undo,
)
from apps.labeling.domain.events import AttributesSet, Event
from apps.labeling.domain.state import ItemState

ALICE, BOB = 1, 2
CAR, TREE = 1, 2
S = str(uuid.UUID(int=1))
T = str(uuid.UUID(int=2))
SQUARE = ((10.0, 10.0), (30.0, 10.0), (30.0, 30.0), (10.0, 30.0))

CAR_ATTRIBUTES = [
    {"name": "occluded", "kind": "checkbox"},
    {"name": "colour", "kind": "select", "options": ["red", "blue", "white"], "default": "white"},
    {"name": "doors", "kind": "number", "min": 2, "max": 5},
    {"name": "plate", "kind": "text"},
]
DECLARED = {CAR: {spec.name: spec for spec in parse_declarations(CAR_ATTRIBUTES)}}


def ctx(actor: int = ALICE) -> Context:
    return Context(actor=actor, label_class_ids=frozenset({CAR, TREE}), attributes=DECLARED)


def given(*steps: tuple[int, Command]) -> ItemState:
    state = initial_state(100, 80)
    for actor, command in steps:
        state = replay(state, decide(state, command, ctx(actor)))
    return state


def when(state: ItemState, command: Command, actor: int = ALICE) -> tuple[list[Event], ItemState]:
    events = decide(state, command, ctx(actor))
    return events, replay(state, events)


def refused(state: ItemState, command: Command, actor: int = ALICE) -> Rejected:
    with pytest.raises(Rejected) as info:
        decide(state, command, ctx(actor))
    assert info.value.message
    return info.value


def a_car(actor: int = ALICE, shape_id: str = S) -> tuple[int, Command]:
    return actor, AddPolygon(shape_id, CAR, SQUARE)


def set_(values: dict, shape_id: str = S) -> SetAttributes:
    return parse_command({"type": "set_attributes", "shape_id": shape_id, "values": values})


def attributes(state: ItemState, shape_id: str = S) -> dict:
    [shape] = [s for s in state_view(state)["shapes"] if s["id"] == shape_id]
    return shape.get("attributes", {})


# Declarations


def test_declarations_take_each_kind_with_its_natural_default_or_the_one_given():
    assert declarations_json(parse_declarations(CAR_ATTRIBUTES)) == [
        {"name": "occluded", "kind": "checkbox", "default": False},
        {"name": "colour", "kind": "select", "default": "white", "options": ["red", "blue", "white"]},
        {"name": "doors", "kind": "number", "default": 2.0, "min": 2.0, "max": 5.0},
        {"name": "plate", "kind": "text", "default": ""},
    ]


@pytest.mark.parametrize(
    "declarations, says",
    [
        ({"name": "x"}, "must be a list"),
        ([{"name": "x", "kind": "colour"}], "kind must be one of"),
        ([{"name": "", "kind": "text"}], "name must be a printable name"),
        ([{"name": "x", "kind": "select"}], "options must be a list"),
        ([{"name": "x", "kind": "select", "options": ["a", "a"]}], "names an option twice"),
        ([{"name": "x", "kind": "select", "options": ["a"], "default": "b"}], "default: Attribute 'x' takes"),
        ([{"name": "x", "kind": "number", "min": 3, "max": 1}], "min is above max"),
        ([{"name": "x", "kind": "number", "default": 9, "max": 5}], "default: Attribute 'x' takes"),
        ([{"name": "x", "kind": "checkbox", "options": ["a"]}], "only a select has options"),
        ([{"name": "x", "kind": "text", "colour": 1}], "does not take colour"),
        ([{"name": "x", "kind": "text"}, {"name": "x", "kind": "checkbox"}], "names an attribute twice"),
    ],
)
def test_declarations_refuse_what_they_cannot_mean(declarations, says):
    with pytest.raises(Rejected) as info:
        parse_declarations(declarations)
    assert info.value.code == "invalid_attributes"
    assert says in info.value.message


# set_attributes


def test_set_attributes_emits_the_values_that_change_and_the_shape_carries_them():
    state = given(a_car())

    events, after = when(state, set_({"occluded": True, "colour": "red", "doors": 4}), BOB)

    assert events == [AttributesSet(BOB, S, (("colour", "red"), ("doors", 4.0), ("occluded", True)))]
    assert attributes(after) == {"colour": "red", "doors": 4.0, "occluded": True}


def test_a_value_it_already_has_changes_nothing_and_only_the_changed_ones_are_in_the_event():
    state = given(a_car(), (ALICE, set_({"occluded": True})))

    assert decide(state, set_({"occluded": True}), ctx()) == []
    events, after = when(state, set_({"occluded": True, "plate": "B-123"}))
    assert events == [AttributesSet(ALICE, S, (("plate", "B-123"),))]
    assert attributes(after) == {"occluded": True, "plate": "B-123"}


def test_null_sets_an_attribute_back_to_its_default():
    state = given(a_car(), (ALICE, set_({"colour": "red", "plate": "X"})))

    events, after = when(state, set_({"colour": None}))

    assert events == [AttributesSet(ALICE, S, (("colour", None),))]
    assert attributes(after) == {"plate": "X"}
    assert decide(after, set_({"colour": None}), ctx()) == []  # no value: already the default


@pytest.mark.parametrize(
    "values, says",
    [
        ({"occluded": "yes"}, "'occluded' takes true or false"),
        ({"colour": "green"}, "'colour' takes one of 'red', 'blue', 'white'"),
        ({"doors": 7}, "'doors' takes a number from 2 to 5"),
        ({"doors": True}, "'doors' takes a number"),
        ({"plate": "x" * 1001}, "'plate' takes a text of at most 1000 characters"),
        ({"plate": 5}, "'plate' takes a text"),
    ],
)
def test_a_value_the_attribute_does_not_take_is_refused_and_nothing_changes(values, says):
    state = given(a_car())

    refusal = refused(state, set_(values))

    assert refusal.code == "invalid_attribute_value"
    assert says in refusal.message


def test_an_attribute_the_shapes_label_class_does_not_declare_is_refused():
    state = given(a_car(), (ALICE, AddPolygon(T, TREE, ((50.0, 50.0), (70.0, 50.0), (60.0, 70.0)))))

    assert refused(state, set_({"wheels": 4})).code == "unknown_attribute"
    tree = refused(state, set_({"occluded": True}, T))
    assert tree.code == "unknown_attribute"
    assert "it declares none" in tree.message


def test_set_attributes_needs_a_closed_shape_that_exists():
    assert refused(given(), set_({"occluded": True})).code == "unknown_shape"


@pytest.mark.parametrize(
    "wire",
    [
        {"type": "set_attributes", "shape_id": S},
        {"type": "set_attributes", "shape_id": S, "values": {}},
        {"type": "set_attributes", "shape_id": S, "values": [["occluded", True]]},
        {"type": "set_attributes", "shape_id": S, "values": {"occluded": [True]}},
    ],
)
def test_the_parser_refuses_values_that_are_not_an_object_of_scalars(wire):
    with pytest.raises(Rejected) as info:
        parse_command(wire)
    assert info.value.code == "invalid_command"


# Undo, redo, two people


def test_undo_takes_back_the_values_and_redo_sets_them_again():
    state = given(
        a_car(), (ALICE, set_({"occluded": True})), (ALICE, set_({"occluded": False, "plate": "P"}))
    )

    _, undone = when(state, Undo())
    assert attributes(undone) == {"occluded": True}
    _, redone = when(undone, parse_command({"type": "redo"}))
    assert attributes(redone) == {"occluded": False, "plate": "P"}


def test_two_people_set_attributes_of_one_shape_and_each_undo_is_their_own():
    state = given(a_car(), (ALICE, set_({"occluded": True})), (BOB, set_({"plate": "B-1"})))
    assert attributes(state) == {"occluded": True, "plate": "B-1"}

    # Alice's undo would take back her value, but Bob changed the shape since: it leaves the shape alone
    # and says so (skipped), so Bob's value is not lost.
    [undone], after = when(state, Undo(), ALICE)
    assert (undone.shape_ids, undone.skipped_shape_ids) == ((), (S,))
    assert attributes(after) == {"occluded": True, "plate": "B-1"}
    _, after = when(state, Undo(), BOB)
    assert attributes(after) == {"occluded": True}


def test_a_relabel_starts_the_shape_at_its_new_class_defaults_and_undo_brings_the_values_back():
    state = given(a_car(), (ALICE, set_({"colour": "red"})))

    _, relabeled = when(state, RelabelShape(S, TREE), BOB)
    assert attributes(relabeled) == {}
    _, undone = when(relabeled, Undo(), BOB)
    assert attributes(undone) == {"colour": "red"}


def test_the_parts_of_a_split_keep_the_shapes_values():
    state = given(a_car(), (ALICE, set_({"plate": "P"})))

    _, after = when(state, SplitShape(S, ((20.0, 0.0), (20.0, 40.0))))

    assert [s.get("attributes") for s in state_view(after)["shapes"]] == [{"plate": "P"}, {"plate": "P"}]


def test_a_snapshot_keeps_the_values():
    state = given(a_car(), (ALICE, set_({"doors": 3, "occluded": True})))

    assert state_from_dict(state_to_dict(state)) == state


def test_the_replay_says_who_set_what_of_which_shape():
    state = given(a_car())
    [event] = decide(state, set_({"occluded": True, "colour": "red", "plate": None}), ctx(BOB))

    text = event_summary(event, state, "bob", lambda label: {CAR: "car"}.get(label, "?"))

    assert text == "bob set colour to 'red', occluded to yes of car #1"
