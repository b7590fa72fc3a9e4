"""Given/when/then for every command of the labeling domain: what it emits, the state it leads to, its refusals."""

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
    initial_state,
    replay,
    state_view,
)
from apps.labeling.domain.commands import (
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
    MoveShape,
    MoveVertex,
    Redo,
    RelabelShape,
    RemoveVertex,
    ResetShape,
    Save,
    Undo,
    UnmarkHardExample,
)
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

WIDTH, HEIGHT = 100, 80
ALICE, BOB = 1, 2
CAT, DOG = 1, 2
LABELS = frozenset({CAT, DOG})

S = str(uuid.UUID(int=1))
T = str(uuid.UUID(int=2))
U = str(uuid.UUID(int=3))

SQUARE = ((10.0, 10.0), (30.0, 10.0), (30.0, 30.0), (10.0, 30.0))
TRIANGLE = ((50.0, 50.0), (70.0, 50.0), (60.0, 70.0))
# Its two lobes differ in size. A symmetric one has a signed area of 0 and must still read as crossing.
BOW_TIE = ((10.0, 10.0), (30.0, 30.0), (30.0, 10.0), (10.0, 20.0))
SYMMETRIC_BOW_TIE = ((10.0, 10.0), (30.0, 30.0), (30.0, 10.0), (10.0, 30.0))
COLLINEAR = ((10.0, 10.0), (20.0, 20.0), (30.0, 30.0))

Step = tuple[int, Command]


def ctx(actor: int = ALICE, *, labels: frozenset[int] = LABELS, limits: Limits | None = None) -> Context:
    return Context(actor=actor, label_class_ids=labels, limits=limits or Limits())


def given(*steps: Step, limits: Limits | None = None) -> ItemState:
    """The state after each (actor, command) was decided and its events applied, from a 100x80 image."""
    state = initial_state(WIDTH, HEIGHT)
    for actor, command in steps:
        state = replay(state, decide(state, command, ctx(actor, limits=limits)))
    return state


def when(
    state: ItemState,
    command: Command,
    actor: int = ALICE,
    *,
    labels: frozenset[int] = LABELS,
    limits: Limits | None = None,
) -> tuple[list[Event], ItemState]:
    events = decide(state, command, ctx(actor, labels=labels, limits=limits))
    return events, replay(state, events)


def refused(
    state: ItemState,
    command: Command,
    actor: int = ALICE,
    *,
    labels: frozenset[int] = LABELS,
    limits: Limits | None = None,
) -> Rejected:
    with pytest.raises(Rejected) as info:
        decide(state, command, ctx(actor, labels=labels, limits=limits))
    assert info.value.message, "a refusal always carries a message for people"
    return info.value


def draft(actor: int, shape_id: str, points: tuple[tuple[float, float], ...]) -> list[Step]:
    return [(actor, AddVertex(shape_id, x, y)) for x, y in points]


def closed(actor: int, shape_id: str, points=SQUARE, label: int = CAT) -> list[Step]:
    return [*draft(actor, shape_id, points), (actor, ClosePolygon(shape_id, label))]


def shapes(state: ItemState) -> dict[str, dict[str, Any]]:
    """The closed shapes of the public view, keyed by id (undo may put a shape back in another position)."""
    return {
        s["id"]: {"label_class_id": s["label_class_id"], "points": s["points"]}
        for s in state_view(state)["shapes"]
    }


def drafts(state: ItemState) -> dict[str, dict[str, Any]]:
    return {d["id"]: {"actor": d["actor"], "points": d["points"]} for d in state_view(state)["drafts"]}


def as_lists(points) -> list[list[float]]:
    return [[x, y] for x, y in points]


def stored(state: ItemState, *records: tuple[str, dict[str, Any], int]) -> ItemState:
    """The state after stored rows (type, payload, actor) of schema version 1, read by the upcaster."""
    return replay(state, [event_from_record(t, SCHEMA_VERSION, payload, a) for t, payload, a in records])


def moved(points, dx: float, dy: float) -> tuple[tuple[float, float], ...]:
    return tuple((x + dx, y + dy) for x, y in points)


# add_vertex


def test_add_vertex_with_a_new_shape_id_starts_the_actors_draft():
    state = given()

    events, after = when(state, AddVertex(S, 10.0, 20.0))

    assert events == [VertexAdded(ALICE, S, 10.0, 20.0)]
    view = state_view(after)
    assert view["drafts"] == [{"id": S, "number": 1, "actor": ALICE, "points": [[10.0, 20.0]]}]
    assert view["shapes"] == []
    assert view["seq"] == 1


def test_add_vertex_extends_the_actors_own_draft():
    state = given((ALICE, AddVertex(S, 10.0, 20.0)))

    events, after = when(state, AddVertex(S, 30.0, 20.0))

    assert events == [VertexAdded(ALICE, S, 30.0, 20.0)]
    assert drafts(after) == {S: {"actor": ALICE, "points": [[10.0, 20.0], [30.0, 20.0]]}}


def test_each_actor_draws_their_own_draft_side_by_side():
    state = given((ALICE, AddVertex(S, 10.0, 20.0)))

    _, after = when(state, AddVertex(T, 40.0, 40.0), BOB)

    assert drafts(after) == {
        S: {"actor": ALICE, "points": [[10.0, 20.0]]},
        T: {"actor": BOB, "points": [[40.0, 40.0]]},
    }


@pytest.mark.parametrize("x, y", [(0.0, 0.0), (100.0, 80.0), (100.0, 0.0), (0.0, 80.0)])
def test_it_accepts_a_vertex_on_the_image_border(x, y):
    events, after = when(given(), AddVertex(S, x, y))

    assert events == [VertexAdded(ALICE, S, x, y)]
    assert drafts(after)[S]["points"] == [[x, y]]


@pytest.mark.parametrize("x, y", [(-0.5, 10.0), (100.5, 10.0), (10.0, -1.0), (10.0, 80.01)])
def test_it_rejects_polygon_outside_image_on_add_vertex(x, y):
    error = refused(given(), AddVertex(S, x, y))

    assert error.code == "polygon_outside_image"
    assert "outside the 100x80 image" in error.message


@pytest.mark.parametrize(
    "x, y",
    [(math.nan, 10.0), (10.0, math.nan), (math.inf, 10.0), (10.0, -math.inf)],
    ids=["nan-x", "nan-y", "inf", "-inf"],
)
def test_it_rejects_non_finite_coordinate_on_add_vertex(x, y):
    error = refused(given(), AddVertex(S, x, y))

    assert error.code == "non_finite_coordinate"


def test_it_rejects_a_vertex_that_repeats_the_last_one():
    state = given((ALICE, AddVertex(S, 10.0, 20.0)))

    error = refused(state, AddVertex(S, 10.0, 20.0))

    assert error.code == "duplicate_vertex"


def test_it_rejects_a_vertex_that_repeats_an_earlier_one():
    state = given(*draft(ALICE, S, TRIANGLE))

    error = refused(state, AddVertex(S, *TRIANGLE[1]))

    assert error.code == "duplicate_vertex"


def test_it_rejects_a_vertex_on_the_first_one_pointing_to_close_instead():
    state = given(*draft(ALICE, S, TRIANGLE))

    error = refused(state, AddVertex(S, *TRIANGLE[0]))

    assert error.code == "duplicate_vertex"
    assert "close the polygon instead" in error.message


def test_it_rejects_adding_a_vertex_to_someone_elses_draft():
    state = given((ALICE, AddVertex(S, 10.0, 20.0)))

    error = refused(state, AddVertex(S, 30.0, 20.0), BOB)

    assert error.code == "not_your_draft"


def test_it_rejects_adding_a_vertex_to_a_closed_shape():
    state = given(*closed(ALICE, S))

    error = refused(state, AddVertex(S, 50.0, 50.0))

    assert error.code == "shape_closed"


def test_it_rejects_a_draft_beyond_the_vertex_limit():
    limits = Limits(max_vertices=3)
    state = given(*draft(ALICE, S, TRIANGLE), limits=limits)

    error = refused(state, AddVertex(S, 90.0, 10.0), limits=limits)

    assert error.code == "too_many_vertices"


def test_it_rejects_a_new_draft_beyond_the_persons_draft_limit():
    limits = Limits(max_drafts=1)
    state = given((ALICE, AddVertex(S, 10.0, 20.0)), limits=limits)

    error = refused(state, AddVertex(T, 50.0, 50.0), ALICE, limits=limits)

    assert error.code == "too_many_drafts"


def test_one_persons_drafts_do_not_use_up_anothers():
    limits = Limits(max_drafts=1)
    state = given((ALICE, AddVertex(S, 10.0, 20.0)), limits=limits)

    events, _ = when(state, AddVertex(T, 50.0, 50.0), BOB, limits=limits)

    assert [type(e).__name__ for e in events] == ["VertexAdded"]


def test_it_rejects_closing_a_draft_beyond_the_shape_limit():
    limits = Limits(max_shapes=1)
    state = given(*closed(ALICE, S), *draft(BOB, T, TRIANGLE), limits=limits)

    error = refused(state, ClosePolygon(T, CAT), BOB, limits=limits)

    assert error.code == "too_many_shapes"


def test_it_rejects_moving_a_thin_polygon_where_rounding_would_flatten_it():
    thin = ((0.0, 0.0), (1e-15, 40.0), (0.0, 79.0))
    state = given((ALICE, AddPolygon(S, CAT, thin)))

    error = refused(state, MoveShape(S, 50.0, 0.0))

    assert error.code == "zero_area"


def test_it_rejects_a_new_draft_with_the_id_of_a_shape_kept_by_the_last_save():
    state = given(*closed(ALICE, S), (ALICE, Save()), (ALICE, DeleteShape(S)))

    error = refused(state, AddVertex(S, 50.0, 50.0))

    assert error.code == "shape_exists"


# close_polygon


def test_close_polygon_turns_the_draft_into_a_labelled_shape():
    state = given(*draft(ALICE, S, SQUARE))

    events, after = when(state, ClosePolygon(S, DOG))

    assert events == [PolygonClosed(ALICE, S, DOG)]
    view = state_view(after)
    assert view["shapes"] == [{"id": S, "number": 1, "label_class_id": DOG, "points": as_lists(SQUARE)}]
    assert view["drafts"] == []


def test_it_rejects_closing_with_fewer_than_3_vertices():
    state = given(*draft(ALICE, S, ((10.0, 10.0), (30.0, 10.0))))

    error = refused(state, ClosePolygon(S, CAT))

    assert error.code == "too_few_vertices"
    assert "this one has 2" in error.message


def test_it_rejects_closing_a_self_intersecting_bow_tie():
    state = given(*draft(ALICE, S, BOW_TIE))

    error = refused(state, ClosePolygon(S, CAT))

    assert error.code == "self_intersecting"


def test_it_rejects_closing_collinear_vertices_with_zero_area():
    state = given(*draft(ALICE, S, COLLINEAR))

    error = refused(state, ClosePolygon(S, CAT))

    assert error.code == "zero_area"


def test_it_rejects_closing_with_an_unknown_label_class():
    state = given(*draft(ALICE, S, SQUARE))

    error = refused(state, ClosePolygon(S, 99))

    assert error.code == "unknown_label_class"
    assert "99" in error.message


def test_it_rejects_closing_someone_elses_draft():
    state = given(*draft(ALICE, S, SQUARE))

    error = refused(state, ClosePolygon(S, CAT), BOB)

    assert error.code == "not_your_draft"


def test_it_rejects_closing_a_shape_that_is_already_closed():
    state = given(*closed(ALICE, S))

    error = refused(state, ClosePolygon(S, DOG))

    assert error.code == "shape_closed"


def test_it_rejects_closing_an_unknown_shape():
    error = refused(given(), ClosePolygon(S, CAT))

    assert error.code == "unknown_shape"
    assert S in error.message


# discard_draft


def test_discard_draft_drops_the_actors_draft():
    state = given(*draft(ALICE, S, TRIANGLE), *draft(BOB, T, SQUARE))

    events, after = when(state, DiscardDraft(S))

    assert events == [DraftDiscarded(ALICE, S)]
    assert drafts(after) == {T: {"actor": BOB, "points": as_lists(SQUARE)}}


def test_it_rejects_discarding_someone_elses_draft():
    state = given(*draft(ALICE, S, TRIANGLE))

    assert refused(state, DiscardDraft(S), BOB).code == "not_your_draft"


def test_it_rejects_discarding_a_closed_shape_as_a_draft():
    state = given(*closed(ALICE, S))

    assert refused(state, DiscardDraft(S)).code == "shape_closed"


def test_it_rejects_discarding_an_unknown_draft():
    assert refused(given(), DiscardDraft(S)).code == "unknown_shape"


# add_polygon


def test_add_polygon_adds_a_whole_closed_polygon_in_one_event():
    events, after = when(given(), AddPolygon(S, DOG, TRIANGLE), BOB)

    assert events == [PolygonAdded(BOB, S, DOG, TRIANGLE)]
    view = state_view(after)
    assert view["shapes"] == [{"id": S, "number": 1, "label_class_id": DOG, "points": as_lists(TRIANGLE)}]
    assert view["drafts"] == []


def test_it_accepts_a_polygon_touching_the_image_border():
    corners = ((0.0, 0.0), (100.0, 0.0), (100.0, 80.0), (0.0, 80.0))

    events, after = when(given(), AddPolygon(S, CAT, corners))

    assert events == [PolygonAdded(ALICE, S, CAT, corners)]
    assert shapes(after)[S]["points"] == as_lists(corners)


@pytest.mark.parametrize(
    "points, distinct",
    [(((10.0, 10.0), (20.0, 20.0)), 2), (((10.0, 10.0), (20.0, 20.0), (10.0, 10.0)), 2)],
    ids=["two-vertices", "three-vertices-two-distinct"],
)
def test_it_rejects_a_polygon_with_fewer_than_3_distinct_vertices(points, distinct):
    error = refused(given(), AddPolygon(S, CAT, points))

    assert error.code == "too_few_vertices"
    assert f"this one has {distinct}" in error.message


def test_it_rejects_a_polygon_that_repeats_a_vertex():
    points = ((10.0, 10.0), (30.0, 10.0), (30.0, 10.0), (30.0, 30.0))

    error = refused(given(), AddPolygon(S, CAT, points))

    assert error.code == "duplicate_vertex"
    assert error.message == "Vertex 2 (30, 10) repeats an earlier vertex."


def test_add_polygon_stores_a_ring_given_with_its_first_point_repeated_at_the_end_listed_once():
    ring = ((10.0, 10.0), (30.0, 10.0), (30.0, 30.0), (10.0, 10.0))

    events, after = when(given(), AddPolygon(S, CAT, ring))

    assert events == [PolygonAdded(ALICE, S, CAT, ring[:-1])]
    assert shapes(after)[S]["points"] == as_lists(ring[:-1])


def test_it_rejects_a_self_intersecting_bow_tie():
    error = refused(given(), AddPolygon(S, CAT, BOW_TIE))

    assert error.code == "self_intersecting"
    assert "crosses itself" in error.message


@pytest.mark.parametrize("how", ["add_polygon", "close_polygon"])
def test_it_rejects_a_symmetric_bow_tie_as_self_intersecting(how):
    if how == "add_polygon":
        state, command = given(), AddPolygon(S, CAT, SYMMETRIC_BOW_TIE)
    else:
        state, command = given(*draft(ALICE, S, SYMMETRIC_BOW_TIE)), ClosePolygon(S, CAT)

    error = refused(state, command)

    assert error.code == "self_intersecting"


def test_it_rejects_a_polygon_with_zero_area():
    assert refused(given(), AddPolygon(S, CAT, COLLINEAR)).code == "zero_area"


def test_it_rejects_polygon_outside_image():
    points = ((10.0, 10.0), (30.0, 10.0), (120.0, 10.0), (10.0, 30.0))

    error = refused(given(), AddPolygon(S, CAT, points))

    assert error.code == "polygon_outside_image"
    assert error.message == "Vertex 2 (120, 10) lies outside the 100x80 image."


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_it_rejects_a_polygon_with_a_non_finite_coordinate(bad):
    points = ((10.0, 10.0), (30.0, bad), (30.0, 30.0))

    error = refused(given(), AddPolygon(S, CAT, points))

    assert error.code == "non_finite_coordinate"
    assert "Vertex 1" in error.message


def test_it_rejects_a_polygon_with_an_unknown_label_class():
    assert refused(given(), AddPolygon(S, 7, SQUARE)).code == "unknown_label_class"


def test_it_rejects_a_polygon_with_too_many_vertices():
    pentagon = ((10.0, 10.0), (30.0, 10.0), (40.0, 20.0), (30.0, 30.0), (10.0, 30.0))

    error = refused(given(), AddPolygon(S, CAT, pentagon), limits=Limits(max_vertices=4))

    assert error.code == "too_many_vertices"
    assert "at most 4" in error.message


def test_it_rejects_a_polygon_beyond_the_shape_limit():
    limits = Limits(max_shapes=2)
    state = given((ALICE, AddPolygon(S, CAT, SQUARE)), (BOB, AddPolygon(T, DOG, TRIANGLE)), limits=limits)

    error = refused(state, AddPolygon(U, CAT, ((60.0, 10.0), (80.0, 10.0), (70.0, 30.0))), limits=limits)

    assert error.code == "too_many_shapes"


@pytest.mark.parametrize("existing", ["closed", "draft"])
def test_it_rejects_a_polygon_whose_id_is_already_used(existing):
    steps = closed(BOB, S) if existing == "closed" else draft(BOB, S, SQUARE)
    state = given(*steps)

    error = refused(state, AddPolygon(S, CAT, TRIANGLE))

    assert error.code == "shape_exists"


# move_vertex


def test_move_vertex_moves_one_vertex_of_a_closed_shape():
    state = given(*closed(ALICE, S))

    events, after = when(state, MoveVertex(S, 2, 40.0, 35.0), BOB)

    assert events == [VertexMoved(BOB, S, 2, 40.0, 35.0)]
    assert shapes(after)[S]["points"] == [[10.0, 10.0], [30.0, 10.0], [40.0, 35.0], [10.0, 30.0]]


def test_move_vertex_moves_a_vertex_of_the_actors_own_draft():
    state = given(*draft(ALICE, S, ((10.0, 10.0), (20.0, 20.0))))

    events, after = when(state, MoveVertex(S, 0, 5.0, 5.0))

    assert events == [VertexMoved(ALICE, S, 0, 5.0, 5.0)]
    assert drafts(after)[S]["points"] == [[5.0, 5.0], [20.0, 20.0]]


def test_moving_a_vertex_onto_itself_changes_nothing():
    state = given(*closed(ALICE, S))

    assert decide(state, MoveVertex(S, 1, 30.0, 10.0), ctx()) == []


def test_it_rejects_polygon_outside_image_on_move_vertex():
    state = given(*closed(ALICE, S))

    error = refused(state, MoveVertex(S, 1, 101.0, 10.0))

    assert error.code == "polygon_outside_image"


def test_it_rejects_a_non_finite_coordinate_on_move_vertex():
    state = given(*closed(ALICE, S))

    assert refused(state, MoveVertex(S, 1, math.nan, 10.0)).code == "non_finite_coordinate"


def test_it_rejects_moving_a_vertex_so_the_polygon_crosses_itself():
    state = given(*closed(ALICE, S))

    # Swapping the places of two corners makes the square's edges cross.
    error = refused(state, MoveVertex(S, 1, 30.0, 40.0))

    assert error.code == "self_intersecting"


def test_it_rejects_moving_a_vertex_so_the_polygon_loses_its_area():
    state = given(*closed(ALICE, S, TRIANGLE))

    error = refused(state, MoveVertex(S, 2, 60.0, 50.0))

    assert error.code == "zero_area"


@pytest.mark.parametrize("onto", [0, 3], ids=["neighbour", "opposite"])
def test_it_rejects_moving_a_vertex_onto_another_vertex(onto):
    state = given(*closed(ALICE, S))

    error = refused(state, MoveVertex(S, 1, *SQUARE[onto]))

    assert error.code == "duplicate_vertex"
    assert "repeats an earlier vertex" in error.message


def test_it_rejects_moving_a_vertex_that_does_not_exist():
    state = given(*closed(ALICE, S))

    error = refused(state, MoveVertex(S, 4, 20.0, 20.0))

    assert error.code == "invalid_vertex_index"
    assert "(0..3)" in error.message


def test_it_rejects_moving_a_vertex_of_an_unknown_shape():
    assert refused(given(), MoveVertex(S, 0, 20.0, 20.0)).code == "unknown_shape"


def test_it_rejects_moving_a_vertex_of_someone_elses_draft():
    state = given(*draft(ALICE, S, SQUARE))

    assert refused(state, MoveVertex(S, 0, 5.0, 5.0), BOB).code == "not_your_draft"


# insert_vertex


def test_insert_vertex_lands_at_the_given_index():
    state = given(*closed(ALICE, S))

    events, after = when(state, InsertVertex(S, 1, 20.0, 5.0))

    assert events == [VertexInserted(ALICE, S, 1, 20.0, 5.0)]
    assert shapes(after)[S]["points"] == [[10.0, 10.0], [20.0, 5.0], [30.0, 10.0], [30.0, 30.0], [10.0, 30.0]]


def test_insert_vertex_at_the_end_appends_after_the_last_vertex():
    state = given(*closed(ALICE, S))

    _, after = when(state, InsertVertex(S, 4, 5.0, 20.0))

    assert shapes(after)[S]["points"][-1] == [5.0, 20.0]
    assert len(shapes(after)[S]["points"]) == 5


def test_insert_vertex_works_on_the_actors_own_draft():
    state = given(*draft(ALICE, S, ((10.0, 10.0), (30.0, 10.0))))

    events, after = when(state, InsertVertex(S, 1, 20.0, 5.0))

    assert events == [VertexInserted(ALICE, S, 1, 20.0, 5.0)]
    assert drafts(after)[S]["points"] == [[10.0, 10.0], [20.0, 5.0], [30.0, 10.0]]


def test_it_rejects_inserting_a_vertex_past_the_end():
    state = given(*closed(ALICE, S))

    error = refused(state, InsertVertex(S, 5, 20.0, 5.0))

    assert error.code == "invalid_vertex_index"
    assert "(0..4)" in error.message


def test_it_rejects_inserting_a_vertex_beyond_the_vertex_limit():
    limits = Limits(max_vertices=4)
    state = given(*closed(ALICE, S), limits=limits)

    error = refused(state, InsertVertex(S, 1, 20.0, 5.0), limits=limits)

    assert error.code == "too_many_vertices"


def test_it_rejects_inserting_a_vertex_that_makes_the_polygon_cross_itself():
    state = given(*closed(ALICE, S))

    # A vertex beyond the opposite edge pulls the edge 0-1 across edge 2-3.
    error = refused(state, InsertVertex(S, 1, 20.0, 40.0))

    assert error.code == "self_intersecting"


def test_it_rejects_inserting_a_vertex_where_one_already_is():
    state = given(*closed(ALICE, S))

    assert refused(state, InsertVertex(S, 1, *SQUARE[0])).code == "duplicate_vertex"


def test_it_rejects_polygon_outside_image_on_insert_vertex():
    state = given(*closed(ALICE, S))

    assert refused(state, InsertVertex(S, 1, 20.0, -5.0)).code == "polygon_outside_image"


def test_it_rejects_inserting_a_vertex_into_an_unknown_shape():
    assert refused(given(), InsertVertex(S, 0, 20.0, 5.0)).code == "unknown_shape"


# remove_vertex


def test_remove_vertex_removes_a_vertex_of_a_closed_shape():
    state = given(*closed(ALICE, S))

    events, after = when(state, RemoveVertex(S, 3), BOB)

    assert events == [VertexRemoved(BOB, S, 3)]
    assert shapes(after)[S]["points"] == [[10.0, 10.0], [30.0, 10.0], [30.0, 30.0]]


def test_remove_vertex_removes_a_vertex_of_the_actors_draft():
    state = given(*draft(ALICE, S, TRIANGLE))

    events, after = when(state, RemoveVertex(S, 2))

    assert events == [VertexRemoved(ALICE, S, 2)]
    assert drafts(after)[S]["points"] == as_lists(TRIANGLE[:2])


def test_removing_the_only_vertex_of_a_draft_drops_the_draft():
    state = given((ALICE, AddVertex(S, 10.0, 10.0)))

    events, after = when(state, RemoveVertex(S, 0))

    assert events == [VertexRemoved(ALICE, S, 0)]
    assert state_view(after)["drafts"] == []


def test_it_rejects_removing_a_vertex_that_leaves_fewer_than_3_vertices():
    state = given(*closed(ALICE, S, TRIANGLE))

    assert refused(state, RemoveVertex(S, 0)).code == "too_few_vertices"


def test_it_rejects_removing_a_vertex_that_leaves_no_area():
    # A triangle with an extra vertex on its base: without the apex it is a line.
    state = given(*closed(ALICE, S, ((10.0, 10.0), (20.0, 10.0), (30.0, 10.0), (20.0, 30.0))))

    assert refused(state, RemoveVertex(S, 3)).code == "zero_area"


def test_it_rejects_removing_a_vertex_that_does_not_exist():
    state = given(*draft(ALICE, S, TRIANGLE))

    assert refused(state, RemoveVertex(S, 3)).code == "invalid_vertex_index"


def test_it_rejects_removing_a_vertex_of_someone_elses_draft():
    state = given(*draft(ALICE, S, TRIANGLE))

    assert refused(state, RemoveVertex(S, 0), BOB).code == "not_your_draft"


def test_it_rejects_removing_a_vertex_of_an_unknown_shape():
    assert refused(given(), RemoveVertex(S, 0)).code == "unknown_shape"


# move_shape


def test_move_shape_translates_every_vertex():
    state = given(*closed(ALICE, S))

    events, after = when(state, MoveShape(S, 5.0, -2.5), BOB)

    assert events == [ShapeMoved(BOB, S, 5.0, -2.5)]
    assert shapes(after)[S] == {"label_class_id": CAT, "points": as_lists(moved(SQUARE, 5.0, -2.5))}


def test_moving_a_shape_by_nothing_changes_nothing():
    state = given(*closed(ALICE, S))

    assert decide(state, MoveShape(S, 0.0, 0.0), ctx()) == []


def test_it_accepts_moving_a_shape_onto_the_image_border():
    state = given(*closed(ALICE, S))

    events, after = when(state, MoveShape(S, 70.0, 50.0))

    assert events == [ShapeMoved(ALICE, S, 70.0, 50.0)]
    assert shapes(after)[S]["points"][2] == [100.0, 80.0]


def test_it_rejects_polygon_outside_image_on_move_shape():
    state = given(*closed(ALICE, S))

    error = refused(state, MoveShape(S, 71.0, 0.0))

    assert error.code == "polygon_outside_image"
    assert error.message == "Vertex 1 (101, 10) lies outside the 100x80 image."


@pytest.mark.parametrize("dx, dy", [(math.nan, 0.0), (0.0, math.inf)], ids=["nan", "inf"])
def test_it_rejects_a_non_finite_offset_on_move_shape(dx, dy):
    state = given(*closed(ALICE, S))

    assert refused(state, MoveShape(S, dx, dy)).code == "non_finite_coordinate"


def test_it_rejects_moving_an_unknown_shape():
    assert refused(given(), MoveShape(S, 1.0, 1.0)).code == "unknown_shape"


def test_it_rejects_moving_a_draft_as_a_shape():
    state = given(*draft(ALICE, S, TRIANGLE))

    assert refused(state, MoveShape(S, 1.0, 1.0)).code == "shape_is_draft"


# relabel_shape


def test_relabel_shape_changes_the_label_class():
    state = given(*closed(ALICE, S))

    events, after = when(state, RelabelShape(S, DOG), BOB)

    assert events == [ShapeRelabeled(BOB, S, DOG)]
    assert shapes(after)[S] == {"label_class_id": DOG, "points": as_lists(SQUARE)}


def test_relabelling_to_the_same_label_changes_nothing():
    state = given(*closed(ALICE, S))

    assert decide(state, RelabelShape(S, CAT), ctx()) == []


def test_it_rejects_relabelling_to_an_unknown_label_class():
    state = given(*closed(ALICE, S))

    assert refused(state, RelabelShape(S, 42)).code == "unknown_label_class"


def test_it_rejects_relabelling_an_unknown_shape():
    assert refused(given(), RelabelShape(S, DOG)).code == "unknown_shape"


def test_it_rejects_relabelling_a_draft():
    state = given(*draft(ALICE, S, TRIANGLE))

    assert refused(state, RelabelShape(S, DOG)).code == "shape_is_draft"


# import_polygon: a labeled import's polygons, kept as the source drew them


def test_an_imported_polygon_may_cross_itself_but_a_drawn_one_may_not():
    assert refused(given(), AddPolygon(S, CAT, BOW_TIE)).code == "self_intersecting"

    events, after = when(given(), ImportPolygon(S, CAT, BOW_TIE, "g"))

    assert events == [PolygonAdded(ALICE, S, CAT, BOW_TIE, "g")]
    assert after.shapes[S].points == BOW_TIE


def test_an_imported_polygon_keeps_every_other_rule():
    assert refused(given(), ImportPolygon(S, CAT, COLLINEAR)).code == "zero_area"
    assert refused(given(), ImportPolygon(S, 42, SQUARE)).code == "unknown_label_class"
    assert refused(given(*closed(ALICE, S)), ImportPolygon(S, CAT, SQUARE)).code == "shape_exists"


def test_a_shape_that_crosses_itself_can_still_be_edited_and_fixed():
    _, state = when(given(), ImportPolygon(S, CAT, BOW_TIE))

    _, moved = when(state, MoveVertex(S, 0, 12.0, 10.0))  # still crossing: allowed
    _, fixed = when(moved, MoveVertex(S, 1, 20.0, 5.0))  # now a simple ring
    assert refused(fixed, MoveVertex(S, 1, 30.0, 30.0)).code == "self_intersecting"  # no way back


# group_shape: the parts of one object drawn in pieces


def test_add_polygon_and_close_polygon_can_start_a_shape_in_a_group():
    state = given(*draft(ALICE, S, TRIANGLE))

    events, after = when(state, ClosePolygon(S, DOG, "person-1"))
    assert events == [PolygonClosed(ALICE, S, DOG, "person-1")]
    events, after = when(after, AddPolygon(T, DOG, SQUARE, "person-1"))
    assert events == [PolygonAdded(ALICE, T, DOG, SQUARE, "person-1")]
    assert [v.get("group_id") for v in state_view(after)["shapes"]] == ["person-1", "person-1"]


def test_group_shape_joins_and_leaves_a_group_and_undo_puts_it_back():
    state = given(*closed(ALICE, S))

    events, grouped = when(state, GroupShape(S, "g"), BOB)
    assert events == [ShapeGrouped(BOB, S, "g")]
    assert state_view(grouped)["shapes"][0]["group_id"] == "g"
    assert decide(grouped, GroupShape(S, "g"), ctx(BOB)) == []
    _, ungrouped = when(grouped, GroupShape(S, None), BOB)
    assert "group_id" not in state_view(ungrouped)["shapes"][0]
    _, undone = when(ungrouped, Undo(), BOB)
    assert undone.shapes[S].group_id == "g"


def test_it_rejects_grouping_a_draft_or_an_unknown_shape():
    assert refused(given(*draft(ALICE, S, TRIANGLE)), GroupShape(S, "g")).code == "shape_is_draft"
    assert refused(given(), GroupShape(S, "g")).code == "unknown_shape"


# reset_shape


def test_reset_after_a_save_returns_to_the_geometry_at_the_save():
    state = given(
        *closed(ALICE, S),
        (ALICE, MoveShape(S, 5.0, 5.0)),
        (ALICE, Save()),
        (BOB, MoveShape(S, 10.0, 0.0)),
        (ALICE, MoveVertex(S, 0, 12.0, 12.0)),
    )

    events, after = when(state, ResetShape(S))

    assert events == [ShapeReset(ALICE, S)]
    assert shapes(after)[S]["points"] == as_lists(moved(SQUARE, 5.0, 5.0))


def test_reset_of_a_shape_drawn_after_the_save_returns_to_its_geometry_at_closing():
    state = given(
        *closed(ALICE, T, TRIANGLE),
        (ALICE, Save()),
        *closed(ALICE, S),
        (ALICE, MoveShape(S, 5.0, 5.0)),
        (BOB, InsertVertex(S, 1, 25.0, 10.0)),
    )

    events, after = when(state, ResetShape(S), BOB)

    assert events == [ShapeReset(BOB, S)]
    assert shapes(after)[S]["points"] == as_lists(SQUARE)


def test_reset_keeps_the_shapes_label():
    state = given(*closed(ALICE, S), (ALICE, MoveShape(S, 5.0, 5.0)), (ALICE, RelabelShape(S, DOG)))

    _, after = when(state, ResetShape(S))

    assert shapes(after)[S] == {"label_class_id": DOG, "points": as_lists(SQUARE)}


def test_reset_after_undoing_a_move_made_before_the_save_returns_to_the_save():
    state = given(*closed(ALICE, S), (ALICE, MoveShape(S, 5.0, 5.0)), (ALICE, Save()), (ALICE, Undo()))
    assert shapes(state)[S]["points"] == as_lists(SQUARE)

    _, after = when(state, ResetShape(S))

    assert shapes(after)[S]["points"] == as_lists(moved(SQUARE, 5.0, 5.0))


def test_resetting_a_shape_already_at_its_original_changes_nothing():
    state = given(*closed(ALICE, S), (ALICE, RelabelShape(S, DOG)))

    assert decide(state, ResetShape(S), ctx()) == []


def test_it_rejects_resetting_an_unknown_shape():
    assert refused(given(), ResetShape(S)).code == "unknown_shape"


def test_it_rejects_resetting_a_draft():
    state = given(*draft(ALICE, S, TRIANGLE))

    assert refused(state, ResetShape(S)).code == "shape_is_draft"


def test_reset_after_undoing_and_redoing_an_add_returns_to_the_last_save():
    state = given(
        (ALICE, AddPolygon(S, CAT, SQUARE)),
        (ALICE, MoveShape(S, 5.0, 5.0)),
        (ALICE, Save()),
        (ALICE, Undo()),
        (ALICE, Undo()),
        (ALICE, Redo()),
    )
    assert shapes(state)[S]["points"] == as_lists(SQUARE)

    _, after = when(state, ResetShape(S))

    assert shapes(after)[S]["points"] == as_lists(moved(SQUARE, 5.0, 5.0))


def test_reset_after_undoing_and_redoing_a_close_returns_to_the_last_save():
    state = given(
        *closed(ALICE, S),
        (ALICE, MoveShape(S, 5.0, 5.0)),
        (ALICE, Save()),
        (ALICE, Undo()),
        (ALICE, Undo()),
        (ALICE, Redo()),
    )
    assert shapes(state)[S]["points"] == as_lists(SQUARE)

    _, after = when(state, ResetShape(S))

    assert shapes(after)[S]["points"] == as_lists(moved(SQUARE, 5.0, 5.0))


# delete_shape


def test_delete_shape_removes_the_shape():
    state = given(*closed(ALICE, S), *closed(ALICE, T, TRIANGLE))

    events, after = when(state, DeleteShape(S), BOB)

    assert events == [ShapeDeleted(BOB, S)]
    assert list(shapes(after)) == [T]


def test_it_rejects_deleting_a_shape_twice():
    state = given(*closed(ALICE, S), (ALICE, DeleteShape(S)))

    assert refused(state, DeleteShape(S)).code == "unknown_shape"


def test_it_rejects_deleting_a_draft_as_a_shape():
    state = given(*draft(ALICE, S, TRIANGLE))

    assert refused(state, DeleteShape(S)).code == "shape_is_draft"


# delete_all_shapes


def test_delete_all_shapes_deletes_every_closed_shape_and_keeps_drafts():
    state = given(*closed(ALICE, S), (BOB, AddPolygon(T, DOG, TRIANGLE)), *draft(BOB, U, ((80.0, 10.0),)))

    events, after = when(state, DeleteAllShapes())

    assert events == [AllShapesDeleted(ALICE, (S, T))]
    assert shapes(after) == {}
    assert list(drafts(after)) == [U]


def test_delete_all_shapes_on_an_empty_image_changes_nothing():
    state = given(*draft(ALICE, U, ((80.0, 10.0),)))

    assert decide(state, DeleteAllShapes(), ctx()) == []


# delete_label_shapes


def test_delete_label_shapes_deletes_only_the_shapes_of_that_label():
    state = given(
        *closed(ALICE, S, label=DOG),
        *closed(ALICE, T, TRIANGLE, label=CAT),
        (BOB, AddPolygon(U, DOG, moved(TRIANGLE, 20.0, -40.0))),
    )

    events, after = when(state, DeleteLabelShapes(DOG))

    assert events == [LabelShapesDeleted(ALICE, DOG, (S, U))]
    assert shapes(after) == {T: {"label_class_id": CAT, "points": as_lists(TRIANGLE)}}


def test_delete_label_shapes_without_shapes_of_that_label_changes_nothing():
    state = given(*closed(ALICE, S, label=CAT))

    assert decide(state, DeleteLabelShapes(DOG), ctx()) == []


def test_it_rejects_deleting_shapes_of_an_unknown_label_class():
    assert refused(given(), DeleteLabelShapes(99)).code == "unknown_label_class"


def test_delete_label_shapes_still_clears_shapes_of_a_label_class_the_job_no_longer_has():
    state = given(*closed(ALICE, S, label=DOG))

    events, after = when(state, DeleteLabelShapes(DOG), labels=frozenset({CAT}))

    assert events == [LabelShapesDeleted(ALICE, DOG, (S,))]
    assert shapes(after) == {}


# undo


def test_undo_reverts_the_actors_latest_action():
    state = given(*closed(ALICE, S), (ALICE, MoveShape(S, 5.0, 5.0)))

    events, after = when(state, Undo())

    assert events == [Undone(ALICE, 6, (S,), ())]
    assert shapes(after) == {S: {"label_class_id": CAT, "points": as_lists(SQUARE)}}


def test_undo_twice_takes_back_the_move_then_the_whole_polygon():
    state = given(*closed(ALICE, S), (ALICE, MoveShape(S, 5.0, 5.0)), (ALICE, Undo()))

    events, after = when(state, Undo())

    assert events == [Undone(ALICE, 5, (S,), ())]
    assert shapes(after) == {}
    assert drafts(after) == {}


# undo by actions: a polygon drawn vertex by vertex and closed is one action


def test_undo_right_after_closing_a_polygon_removes_it_whole():
    state = given((BOB, AddPolygon(T, DOG, TRIANGLE)), *closed(ALICE, S))

    events, after = when(state, Undo())

    assert events == [Undone(ALICE, 6, (S,), ())]
    assert after.shapes.keys() == {T}
    assert refused(after, Undo()).code == "nothing_to_undo"


def test_redo_after_undoing_a_closed_polygon_brings_it_back_closed():
    state = given(*closed(ALICE, S), (ALICE, Undo()))

    events, after = when(state, Redo())

    assert events == [Redone(ALICE, 5, (S,), ())]
    assert shapes(after) == {S: {"label_class_id": CAT, "points": as_lists(SQUARE)}}
    assert drafts(after) == {}


def test_while_a_draft_is_open_each_vertex_is_one_undo():
    state = given(*draft(ALICE, S, SQUARE[:3]))

    _, after = when(state, Undo())

    assert drafts(after) == {S: {"actor": ALICE, "points": as_lists(SQUARE[:2])}}


def test_a_draft_edited_while_drawn_is_still_one_action_once_closed():
    state = given(
        *draft(ALICE, S, ((10.0, 10.0), (30.0, 10.0), (30.0, 30.0))),
        (ALICE, MoveVertex(S, 2, 31.0, 31.0)),
        (ALICE, InsertVertex(S, 3, 10.0, 30.0)),
        (ALICE, ClosePolygon(S, CAT)),
    )

    _, after = when(state, Undo())

    assert shapes(after) == {} and drafts(after) == {}
    assert refused(after, Undo()).code == "nothing_to_undo"


def test_closing_a_polygon_leaves_the_persons_other_actions_in_their_order_and_others_untouched():
    state = given(
        (ALICE, AddPolygon(T, DOG, TRIANGLE)),
        *draft(ALICE, S, SQUARE[:2]),
        (BOB, AddPolygon(U, CAT, ((60.0, 10.0), (80.0, 10.0), (70.0, 30.0)))),
        (ALICE, MoveShape(T, 1.0, 1.0)),
        *draft(ALICE, S, SQUARE[2:]),
        (ALICE, ClosePolygon(S, CAT)),
    )

    first, after_first = when(state, Undo())
    second, after_second = when(after_first, Undo())
    bobs, _ = when(after_second, Undo(), BOB)

    assert first == [Undone(ALICE, 8, (S,), ())]
    assert second == [Undone(ALICE, 5, (T,), ())]
    assert shapes(after_second)[T]["points"] == as_lists(TRIANGLE)
    assert bobs == [Undone(BOB, 4, (U,), ())]


def test_undoing_a_polygon_someone_else_changed_since_it_was_closed_leaves_it_and_names_it():
    state = given(*closed(ALICE, S), (BOB, MoveShape(S, 5.0, 5.0)))

    events, after = when(state, Undo())

    assert events == [Undone(ALICE, 5, (), (S,))]
    assert shapes(after)[S]["points"] == as_lists(moved(SQUARE, 5.0, 5.0))


def test_a_stored_polygon_closed_without_undo_unit_still_undoes_the_close_alone():
    # Stored before polygons were one action: "close; undo" reopened the draft, and replays so.
    state = stored(
        given(*draft(ALICE, S, SQUARE)),
        ("polygon_closed", {"shape_id": S, "label_class_id": CAT}, ALICE),
        ("undone", {"target_seq": 5, "shape_ids": [S], "skipped_shape_ids": []}, ALICE),
    )

    assert shapes(state) == {}
    assert drafts(state) == {S: {"actor": ALICE, "points": as_lists(SQUARE)}}
    assert decide(state, Undo(), ctx()) == [Undone(ALICE, 4, (S,), ())]


def test_undo_brings_back_every_shape_of_a_delete_all():
    state = given(*closed(ALICE, S), (BOB, AddPolygon(T, DOG, TRIANGLE)))
    before = shapes(state)
    state = given(*closed(ALICE, S), (BOB, AddPolygon(T, DOG, TRIANGLE)), (ALICE, DeleteAllShapes()))

    events, after = when(state, Undo())

    assert events == [Undone(ALICE, 7, (S, T), ())]
    assert shapes(after) == before


def test_undo_is_per_person():
    state = given(*closed(ALICE, S), (BOB, AddPolygon(T, DOG, TRIANGLE)))

    events, after = when(state, Undo(), BOB)

    assert events == [Undone(BOB, 6, (T,), ())]
    assert list(shapes(after)) == [S]


def test_it_rejects_undo_with_nothing_to_undo():
    assert refused(given(), Undo()).code == "nothing_to_undo"


def test_it_rejects_undo_when_only_someone_else_acted():
    state = given(*closed(ALICE, S))

    assert refused(state, Undo(), BOB).code == "nothing_to_undo"


def test_undo_leaves_a_shape_that_someone_else_changed_since_as_they_left_it():
    state = given(*closed(ALICE, S), (BOB, MoveShape(S, 5.0, 5.0)))

    events, after = when(state, Undo())

    assert events == [Undone(ALICE, 5, (), (S,))]
    assert shapes(after) == {S: {"label_class_id": CAT, "points": as_lists(moved(SQUARE, 5.0, 5.0))}}
    assert drafts(after) == {}


def test_undo_reverts_a_shape_nobody_else_touched_while_skipping_one_someone_else_changed():
    state = given(
        (ALICE, AddPolygon(S, CAT, SQUARE)),
        (ALICE, AddPolygon(T, DOG, TRIANGLE)),
        (ALICE, Save()),
        (ALICE, MoveShape(S, 5.0, 5.0)),
        (ALICE, MoveShape(T, 5.0, 5.0)),
        (ALICE, DiscardChanges()),
        (BOB, MoveShape(T, -5.0, -5.0)),
    )

    events, after = when(state, Undo())

    assert events == [Undone(ALICE, 6, (S,), (T,))]
    assert shapes(after) == {
        S: {"label_class_id": CAT, "points": as_lists(moved(SQUARE, 5.0, 5.0))},
        T: {"label_class_id": DOG, "points": as_lists(moved(TRIANGLE, -5.0, -5.0))},
    }


def test_undo_of_a_shape_nobody_else_touched_reverts_it_while_others_work_elsewhere():
    state = given(*closed(ALICE, S), (BOB, AddPolygon(T, DOG, TRIANGLE)), (BOB, MoveShape(T, 5.0, 5.0)))

    events, after = when(state, Undo())

    assert events == [Undone(ALICE, 5, (S,), ())]
    assert drafts(after) == {}
    assert shapes(after) == {T: {"label_class_id": DOG, "points": as_lists(moved(TRIANGLE, 5.0, 5.0))}}


def test_undo_skips_a_shape_whose_earlier_label_class_left_the_job():
    state = given(*closed(ALICE, S, label=CAT), (ALICE, RelabelShape(S, DOG)))

    events, after = when(state, Undo(), labels=frozenset({DOG}))

    assert events == [Undone(ALICE, 6, (), (S,))]
    assert shapes(after)[S]["label_class_id"] == DOG


def test_undo_skipping_every_shape_moves_on_to_the_actors_earlier_action():
    state = given(
        (ALICE, AddPolygon(T, DOG, TRIANGLE)),
        (ALICE, AddPolygon(S, CAT, SQUARE)),
        (BOB, MoveShape(S, 5.0, 5.0)),
        (ALICE, Undo()),
    )

    events, after = when(state, Undo())

    assert events == [Undone(ALICE, 1, (T,), ())]
    assert list(shapes(after)) == [S]
    # The skipped entry left nothing to redo: redo brings back only what the second undo reverted.
    assert decide(after, Redo(), ctx()) == [Redone(ALICE, 1, (T,), ())]


def test_undo_never_removes_a_shape_someone_else_drew_under_a_reused_id():
    state = given(
        (ALICE, AddVertex(S, 10.0, 10.0)),
        (ALICE, DiscardDraft(S)),
        (BOB, AddVertex(S, 10.0, 10.0)),
        (ALICE, Undo()),
    )
    assert drafts(state) == {S: {"actor": BOB, "points": [[10.0, 10.0]]}}

    # Bob's draft looks exactly like the one Alice started, but it is Bob's.
    events, after = when(state, Undo())

    assert events == [Undone(ALICE, 1, (), (S,))]
    assert drafts(after) == {S: {"actor": BOB, "points": [[10.0, 10.0]]}}


# redo


def test_redo_reapplies_the_latest_undone_action():
    state = given(*closed(ALICE, S), (ALICE, MoveShape(S, 5.0, 5.0)), (ALICE, Undo()))

    events, after = when(state, Redo())

    assert events == [Redone(ALICE, 6, (S,), ())]
    assert shapes(after)[S]["points"] == as_lists(moved(SQUARE, 5.0, 5.0))


def test_redo_after_two_undos_reapplies_the_earlier_one_first():
    state = given(*closed(ALICE, S), (ALICE, MoveShape(S, 5.0, 5.0)), (ALICE, Undo()), (ALICE, Undo()))

    events, after = when(state, Redo())

    assert events == [Redone(ALICE, 5, (S,), ())]
    assert shapes(after)[S]["points"] == as_lists(SQUARE)


def test_it_rejects_redo_with_nothing_to_redo():
    state = given(*closed(ALICE, S))

    assert refused(state, Redo()).code == "nothing_to_redo"


def test_a_new_action_clears_the_actors_redo():
    state = given(
        *closed(ALICE, S), (ALICE, MoveShape(S, 5.0, 5.0)), (ALICE, Undo()), (ALICE, RelabelShape(S, DOG))
    )

    assert refused(state, Redo()).code == "nothing_to_redo"


def test_someone_elses_action_keeps_the_actors_redo():
    state = given(
        *closed(ALICE, S),
        (ALICE, MoveShape(S, 5.0, 5.0)),
        (ALICE, Undo()),
        (BOB, AddPolygon(T, DOG, TRIANGLE)),
    )

    events, after = when(state, Redo())

    assert events == [Redone(ALICE, 6, (S,), ())]
    assert shapes(after)[S]["points"] == as_lists(moved(SQUARE, 5.0, 5.0))


def test_redo_leaves_a_shape_that_someone_else_changed_since_as_they_left_it():
    state = given(
        *closed(ALICE, S), (ALICE, MoveShape(S, 5.0, 5.0)), (ALICE, Undo()), (BOB, RelabelShape(S, DOG))
    )

    events, after = when(state, Redo())

    assert events == [Redone(ALICE, 6, (), (S,))]
    assert shapes(after)[S] == {"label_class_id": DOG, "points": as_lists(SQUARE)}


# save


def test_save_marks_a_checkpoint_at_the_current_seq():
    state = given(*closed(ALICE, S))

    events, after = when(state, Save(), BOB)

    assert events == [Saved(BOB)]
    view = state_view(after)
    assert view["saved_seq"] == view["seq"] == 6
    assert shapes(after) == shapes(state)


def test_save_is_not_undoable():
    state = given(*closed(ALICE, S), (ALICE, Save()))

    events, after = when(state, Undo())

    assert events == [Undone(ALICE, 5, (S,), ())]
    assert state_view(after)["saved_seq"] == 6


# discard_changes: the sender's own pending changes, by their undo rules


def test_discard_changes_reverts_only_the_senders_changes_since_the_save():
    state = given(
        *closed(ALICE, S),
        (ALICE, Save()),
        (ALICE, MoveShape(S, 5.0, 5.0)),
        *closed(ALICE, U, TRIANGLE),
        (BOB, AddPolygon(T, DOG, ((60.0, 10.0), (80.0, 10.0), (70.0, 30.0)))),
    )

    events, after = when(state, DiscardChanges(), BOB)

    assert events == [ChangesDiscarded(BOB, (), (T,))]
    assert after.shapes.keys() == {S, U}
    assert shapes(after)[S]["points"] == as_lists(moved(SQUARE, 5.0, 5.0))
    assert state_view(after)["pending"] == [ALICE]


def test_discard_changes_by_someone_with_no_changes_does_nothing_to_anothers_unsaved_polygon():
    state = given((ALICE, Save()), *closed(ALICE, S))

    assert decide(state, DiscardChanges(), ctx(BOB)) == []
    assert state_view(state)["pending"] == [ALICE]


def test_discard_changes_returns_the_senders_shapes_to_the_last_save():
    state = given(
        *closed(ALICE, S),
        (ALICE, AddPolygon(T, DOG, TRIANGLE)),
        (ALICE, Save()),
        (ALICE, MoveShape(S, 5.0, 5.0)),
        (ALICE, RelabelShape(S, DOG)),
        (ALICE, DeleteShape(T)),
        (ALICE, AddPolygon(U, CAT, ((60.0, 10.0), (80.0, 10.0), (70.0, 30.0)))),
    )

    events, after = when(state, DiscardChanges())

    assert events == [ChangesDiscarded(ALICE, (), (U, T, S))]
    assert shapes(after) == {
        S: {"label_class_id": CAT, "points": as_lists(SQUARE)},
        T: {"label_class_id": DOG, "points": as_lists(TRIANGLE)},
    }
    assert state_view(after)["pending"] == []


def test_discard_changes_leaves_a_shape_someone_else_changed_since_and_names_it():
    state = given(
        *closed(ALICE, S),
        (ALICE, Save()),
        (ALICE, MoveShape(S, 5.0, 5.0)),
        (BOB, RelabelShape(S, DOG)),
    )

    events, after = when(state, DiscardChanges())

    assert events == [ChangesDiscarded(ALICE, (S,), ())]
    assert shapes(after) == {S: {"label_class_id": DOG, "points": as_lists(moved(SQUARE, 5.0, 5.0))}}
    assert state_view(after)["pending"] == [BOB]


def test_discard_changes_reverts_a_shape_back_to_where_someone_elses_change_stands_in_the_way():
    state = given(
        *closed(ALICE, S),
        (ALICE, Save()),
        (ALICE, MoveShape(S, 5.0, 5.0)),
        (BOB, MoveShape(S, 1.0, 1.0)),
        (ALICE, RelabelShape(S, DOG)),
    )

    events, after = when(state, DiscardChanges())

    # The relabel is reverted; the move under Bob's is left, as undo would leave it.
    assert events == [ChangesDiscarded(ALICE, (S,), (S,))]
    assert shapes(after) == {S: {"label_class_id": CAT, "points": as_lists(moved(SQUARE, 6.0, 6.0))}}


def test_discard_changes_drops_the_senders_drafts_but_not_anyone_elses():
    state = given(
        *draft(ALICE, U, ((60.0, 10.0),)),
        (ALICE, Save()),
        *draft(ALICE, T, TRIANGLE[:2]),
        *draft(BOB, S, ((80.0, 10.0), (90.0, 10.0))),
    )

    events, after = when(state, DiscardChanges())

    assert events == [ChangesDiscarded(ALICE, (), (T, U))]
    assert drafts(after) == {S: {"actor": BOB, "points": [[80.0, 10.0], [90.0, 10.0]]}}


def test_discard_changes_removes_a_polygon_whose_drawing_began_before_the_save_whole():
    state = given(*draft(ALICE, S, SQUARE[:2]), (BOB, Save()), *draft(ALICE, S, SQUARE[2:]))
    state = given(
        *draft(ALICE, S, SQUARE[:2]),
        (BOB, Save()),
        *draft(ALICE, S, SQUARE[2:]),
        (ALICE, ClosePolygon(S, CAT)),
    )

    events, after = when(state, DiscardChanges())

    assert events == [ChangesDiscarded(ALICE, (), (S,))]
    assert shapes(after) == {} and drafts(after) == {}


def test_discard_changes_before_any_save_removes_only_the_senders_shapes():
    state = given(*closed(ALICE, S), (BOB, AddPolygon(T, DOG, TRIANGLE)))

    events, after = when(state, DiscardChanges(), BOB)

    assert events == [ChangesDiscarded(BOB, (), (T,))]
    assert after.shapes.keys() == {S}


def test_discard_changes_with_nothing_of_yours_since_the_save_changes_nothing():
    state = given(*closed(ALICE, S), (ALICE, Save()), *draft(BOB, U, ((80.0, 10.0),)))

    assert decide(state, DiscardChanges(), ctx()) == []


def test_discard_changes_leaves_a_shape_whose_label_class_to_go_back_to_left_the_job():
    state = given(
        *closed(ALICE, S, label=DOG),
        (ALICE, AddPolygon(T, CAT, TRIANGLE)),
        (ALICE, Save()),
        (ALICE, RelabelShape(S, CAT)),
        (ALICE, MoveShape(T, 5.0, 5.0)),
    )

    events, after = when(state, DiscardChanges(), labels=frozenset({CAT}))

    assert events == [ChangesDiscarded(ALICE, (S,), (T,))]
    assert shapes(after) == {
        S: {"label_class_id": CAT, "points": as_lists(SQUARE)},
        T: {"label_class_id": CAT, "points": as_lists(TRIANGLE)},
    }


def test_discard_changes_is_undone_whole_by_one_undo_and_redone_by_one_redo():
    state = given(
        *closed(ALICE, S),
        (ALICE, Save()),
        (ALICE, MoveShape(S, 5.0, 5.0)),
        *closed(ALICE, T, TRIANGLE),
        (ALICE, DiscardChanges()),
    )

    undo, undone = when(state, Undo())
    redo, redone = when(undone, Redo())

    assert undo == [Undone(ALICE, 12, (T, S), ())]
    assert shapes(undone)[S]["points"] == as_lists(moved(SQUARE, 5.0, 5.0))
    assert T in shapes(undone)
    assert state_view(undone)["pending"] == [ALICE]
    assert redo == [Redone(ALICE, 12, (T, S), ())]
    assert shapes(redone) == {S: {"label_class_id": CAT, "points": as_lists(SQUARE)}}
    assert state_view(redone)["pending"] == []


def test_after_undoing_a_discard_the_next_undo_goes_on_through_the_senders_actions():
    state = given(
        *closed(ALICE, S),
        (ALICE, Save()),
        (ALICE, MoveShape(S, 5.0, 5.0)),
        (ALICE, DiscardChanges()),
        (ALICE, Undo()),
    )

    events, after = when(state, Undo())

    assert events == [Undone(ALICE, 7, (S,), ())]
    assert shapes(after)[S]["points"] == as_lists(SQUARE)


def test_an_undone_discard_leaves_what_someone_else_changed_meanwhile():
    state = given(
        *closed(ALICE, S),
        (ALICE, Save()),
        (ALICE, MoveShape(S, 5.0, 5.0)),
        (ALICE, DiscardChanges()),
        (BOB, RelabelShape(S, DOG)),
    )

    events, after = when(state, Undo())

    assert events == [Undone(ALICE, 8, (), (S,))]
    assert shapes(after) == {S: {"label_class_id": DOG, "points": as_lists(SQUARE)}}


def test_the_state_names_who_has_changes_since_the_last_save():
    state = given(*closed(ALICE, S), (BOB, AddPolygon(T, DOG, TRIANGLE)))

    assert state_view(state)["pending"] == [ALICE, BOB]
    assert state_view(given(*closed(ALICE, S), (BOB, Save())))["pending"] == []
    assert state_view(given(*closed(ALICE, S), (ALICE, Undo())))["pending"] == []


def test_a_stored_changes_discarded_without_scope_replays_by_the_rule_it_was_decided_under():
    # Stored before discard was per person: Bob's discard put every closed shape back to the last save,
    # Alice's unsaved polygon included, and replays exactly so.
    state = stored(
        given(
            *closed(ALICE, T, TRIANGLE), (ALICE, Save()), (ALICE, MoveShape(T, 1.0, 1.0)), *closed(ALICE, S)
        ),
        ("changes_discarded", {"skipped_shape_ids": []}, BOB),
    )

    assert shapes(state) == {T: {"label_class_id": CAT, "points": as_lists(TRIANGLE)}}
    assert decide(state, Undo(), ctx(BOB)) == [Undone(BOB, 12, (S, T), ())]


# mark_hard_example / unmark_hard_example


def test_mark_hard_example_marks_the_item():
    events, after = when(given(), MarkHardExample())

    assert events == [HardExampleMarked(ALICE)]
    assert state_view(after)["hard_example"] is True


def test_marking_a_hard_example_twice_changes_nothing():
    state = given((ALICE, MarkHardExample()))

    assert decide(state, MarkHardExample(), ctx(BOB)) == []


def test_unmark_hard_example_unmarks_the_item():
    state = given((ALICE, MarkHardExample()))

    events, after = when(state, UnmarkHardExample(), BOB)

    assert events == [HardExampleUnmarked(BOB)]
    assert state_view(after)["hard_example"] is False


def test_unmarking_an_item_that_is_not_a_hard_example_changes_nothing():
    assert decide(given(), UnmarkHardExample(), ctx()) == []


def test_hard_example_marks_are_not_undoable():
    state = given((ALICE, MarkHardExample()))

    assert refused(state, Undo()).code == "nothing_to_undo"
