"""The attribute rows a command changes (readmodels.attribute_counts_change): counted only when a shape the
command touched had or got values; equal to counting the whole state whenever they are counted."""

from __future__ import annotations

from apps.labeling.domain import Context, decide, evolve, initial_state
from apps.labeling.domain.attributes import parse_declarations
from apps.labeling.domain.commands import (
    AddPolygon,
    DeleteShape,
    MoveShape,
    RelabelShape,
    SetAttributes,
    Undo,
)
from apps.labeling.readmodels import attribute_counts, attribute_counts_change

DECLARED = parse_declarations([{"name": "occluded", "kind": "checkbox"}, {"name": "n", "kind": "number"}])
CONTEXT = Context(actor=1, label_class_ids=frozenset({1, 2}), attributes={1: {s.name: s for s in DECLARED}})


def square(left: float) -> tuple[tuple[float, float], ...]:
    return ((left, 10.0), (left + 20, 10.0), (left + 20, 30.0), (left, 30.0))


def after(state, command):
    for event in decide(state, command, CONTEXT):
        state = evolve(state, event)
    return state


def given_two_squares_one_with_values():
    state = after(initial_state(200, 100), AddPolygon("a", 1, square(10)))
    state = after(state, AddPolygon("b", 1, square(50)))
    return after(state, SetAttributes("a", (("n", 5), ("occluded", True))))


def test_a_command_touching_no_valued_shape_counts_nothing():
    state = given_two_squares_one_with_values()
    for command in (MoveShape("a", 1, 1), MoveShape("b", 1, 1), AddPolygon("c", 1, square(100))):
        assert attribute_counts_change(state, after(state, command)) == ({}, {})


def test_a_command_changing_values_labels_or_valued_shapes_counts_both_states():
    state = given_two_squares_one_with_values()
    whole = attribute_counts(state)
    assert whole == {(1, "n", "5.0"): 1, (1, "occluded", "true"): 1}
    for command in (
        SetAttributes("b", (("occluded", True),)),
        SetAttributes("a", (("n", None),)),
        RelabelShape("a", 2),
        DeleteShape("a"),
        Undo(),
    ):
        new = after(state, command)
        assert attribute_counts_change(state, new) == (whole, attribute_counts(new)), command
        assert attribute_counts(new) != whole, command


def test_true_and_one_are_two_values_and_five_and_five_point_oh_one():
    state = after(initial_state(200, 100), AddPolygon("a", 1, square(10)))
    state = after(state, AddPolygon("b", 1, square(50)))
    state = after(state, SetAttributes("a", (("n", 1),)))
    state = after(state, SetAttributes("b", (("n", 1.0), ("occluded", True))))
    assert attribute_counts(state) == {(1, "n", "1.0"): 2, (1, "occluded", "true"): 1}
