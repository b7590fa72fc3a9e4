"""Given/when/then: a shape's reset point when its freed id is used again by someone else's new shape.

A shape made and deleted since the last save frees its id: another shape may be added under it
(docs/domain.md "Reset to original"). The first two tests are the histories hypothesis found against
test_reset_returns_a_shape_to_its_points_at_the_last_save_or_at_closing, written out in plain steps (the
property's model then remembered reset points by id, so it took Bob's undone square for Alice's shape); the
third is the domain's own edge, where a save holds the other shape under that id.
"""

from __future__ import annotations

import uuid

from apps.labeling.domain import Context, Limits, decide, initial_state, replay
from apps.labeling.domain.commands import (
    AddPolygon,
    Command,
    DeleteAllShapes,
    DeleteShape,
    DiscardChanges,
    PasteShapes,
    RemoveVertex,
    ResetShape,
    Save,
    Undo,
)
from apps.labeling.domain.state import ItemState

WIDTH, HEIGHT = 100, 80
ALICE, BOB = 1, 2
CAT = 1
S = str(uuid.UUID(int=3))

Points = tuple[tuple[float, float], ...]
WIDE: Points = ((0.0, 0.0), (15.0, 0.0), (15.0, 5.0), (0.0, 5.0))
SQUARE: Points = ((0.0, 0.0), (5.0, 0.0), (5.0, 5.0), (0.0, 5.0))
TRIANGLE: Points = ((50.0, 50.0), (70.0, 50.0), (60.0, 70.0))


def ctx(actor: int) -> Context:
    return Context(actor=actor, label_class_ids=frozenset({CAT}), limits=Limits())


def given(*steps: tuple[int, Command]) -> ItemState:
    state = initial_state(WIDTH, HEIGHT)
    for actor, command in steps:
        state = replay(state, decide(state, command, ctx(actor)))
    return state


def alice_pastes_then_bob_deletes_it_and_reuses_its_id(*edits: tuple[int, Command]) -> ItemState:
    """Alice pastes S after the save and edits it; her delete and its undo leave it there; Bob's
    delete-all takes it away and her discard has nothing left to revert. Bob adds his own square under
    the freed id S, undoes that, then discards his changes: his delete-all is reverted, so Alice's S
    comes back."""
    return given(
        (ALICE, Save()),
        (ALICE, PasteShapes((AddPolygon(S, CAT, WIDE),))),
        *edits,
        (ALICE, DeleteShape(S)),
        (ALICE, Undo()),
        (BOB, DeleteAllShapes()),
        (ALICE, DiscardChanges()),
        (BOB, AddPolygon(S, CAT, SQUARE)),
        (BOB, Undo()),
        (BOB, DiscardChanges()),
    )


def test_alices_shape_back_under_a_reused_id_is_already_at_its_pasted_points() -> None:
    state = alice_pastes_then_bob_deletes_it_and_reuses_its_id()
    assert (state.shapes[S].actor, state.shapes[S].points) == (ALICE, WIDE)

    assert decide(state, ResetShape(S), ctx(BOB)) == []


def test_alices_edited_shape_back_under_a_reused_id_resets_to_its_pasted_points_not_bobs_square() -> None:
    state = alice_pastes_then_bob_deletes_it_and_reuses_its_id((ALICE, RemoveVertex(S, 1)))
    assert state.shapes[S].points == (WIDE[0], *WIDE[2:])

    after = replay(state, decide(state, ResetShape(S), ctx(BOB)))

    assert after.shapes[S].points == WIDE


def test_a_shape_undone_back_under_an_id_another_saved_shape_used_resets_to_its_own_closing() -> None:
    # Alice's #1 is deleted; Bob's #2 takes the freed id and is saved, then deleted; Alice's undo brings
    # her #1 back. The last save holds Bob's #2 under S, not her shape: she must not reset to his triangle.
    state = given(
        (ALICE, AddPolygon(S, CAT, SQUARE)),
        (ALICE, DeleteShape(S)),
        (BOB, AddPolygon(S, CAT, TRIANGLE)),
        (BOB, Save()),
        (BOB, DeleteShape(S)),
        (ALICE, Undo()),
        (ALICE, RemoveVertex(S, 0)),
    )
    assert (state.shapes[S].number, state.saved[S].number) == (1, 2)

    after = replay(state, decide(state, ResetShape(S), ctx(ALICE)))

    assert after.shapes[S].points == SQUARE


def test_a_discard_that_brings_back_bobs_shape_over_alices_under_the_same_id_keeps_bobs_reset_point() -> None:
    # Bob pastes S; Alice's delete-all takes it and she pastes her own square under the freed id; her
    # discard reverts both, so Bob's tall shape is back in place of her square: its reset point is his.
    tall: Points = ((0.0, 0.0), (5.0, 0.0), (5.0, 10.0), (0.0, 10.0))
    state = given(
        (BOB, PasteShapes((AddPolygon(S, CAT, tall),))),
        (ALICE, DeleteAllShapes()),
        (ALICE, PasteShapes((AddPolygon(S, CAT, SQUARE),))),
        (ALICE, DiscardChanges()),
    )
    assert (state.shapes[S].actor, state.shapes[S].points) == (BOB, tall)

    assert decide(state, ResetShape(S), ctx(BOB)) == []
