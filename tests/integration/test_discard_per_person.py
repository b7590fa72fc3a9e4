"""Two people on one item: a person's discard reverts only their own changes since the last save, the
state says who has such changes, and undo takes a drawn polygon back whole (issue 17, points 1 and 2)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import new_id, square
from tests.integration.test_ws_support import (
    Sockets,
    polygon,
    post_command,
    replay_received,
    state_over_rest,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

OUTLINE = [(10.0, 10.0), (60.0, 12.0), (58.0, 50.0), (12.0, 48.0)]


@pytest_asyncio.fixture(autouse=True)
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


async def draw(peer: Any, shape_id: str, label_class_id: int) -> None:
    """Vertex by vertex and closed, as the editor draws."""
    for x, y in OUTLINE:
        answer = await peer.command({"type": "add_vertex", "shape_id": shape_id, "x": x, "y": y}, new_id())
        assert answer["type"] == "ack", answer
    closed = {"type": "close_polygon", "shape_id": shape_id, "label_class_id": label_class_id}
    assert (await peer.command(closed, new_id()))["type"] == "ack"


def ids(state: dict[str, Any]) -> list[str]:
    return [shape["id"] for shape in state["shapes"]]


async def test_bobs_discard_leaves_alices_unsaved_polygon_and_reverts_bobs_own_change(
    sockets: Sockets,
    item: Any,
    labels: Any,
    annotator: Any,
    annotator2: Any,
    annotator_api: Any,
    client_for: Callable[[Any], Any],
) -> None:
    alice = await sockets.item(annotator, item.pk)
    bob = await sockets.item(annotator2, item.pk)
    alices, bobs = new_id(), new_id()
    await draw(alice, alices, labels["cat"].pk)
    assert (await bob.command(polygon(bobs, labels["dog"].pk, square(70, 55, 10)), new_id()))["type"] == "ack"
    before = await state_over_rest(annotator_api, item.pk)

    answer = await post_command(client_for(annotator2), item.pk, {"type": "discard_changes"}, new_id())

    assert sorted(before["pending"]) == before["pending"] == sorted([annotator.pk, annotator2.pk])
    assert [event["type"] for event in answer["events"]] == ["changes_discarded"]
    payload = answer["events"][0]["payload"]
    assert payload == {"scope": "mine", "shape_ids": [bobs], "skipped_shape_ids": []}
    after = await state_over_rest(annotator_api, item.pk)
    assert ids(after) == [alices]
    assert after["shapes"][0] == before["shapes"][0]
    assert after["pending"] == [annotator.pk]
    # Alice saw it live, and what she folds from the events is the server's state.
    seen = await alice.events(after["seq"])
    assert seen[-1]["type"] == "changes_discarded" and seen[-1]["actor"] == annotator2.pk
    assert replay_received(seen, item) == after


async def test_a_discard_by_someone_with_no_changes_of_their_own_changes_nothing(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any, annotator_api: Any
) -> None:
    alice = await sockets.item(annotator, item.pk)
    bob = await sockets.item(annotator2, item.pk)
    alices = new_id()
    await draw(alice, alices, labels["cat"].pk)
    head = (await state_over_rest(annotator_api, item.pk))["seq"]

    answer = await bob.command({"type": "discard_changes"}, "bobs-no")

    assert answer == {"type": "ack", "command_id": "bobs-no", "seq": head}
    after = await state_over_rest(annotator_api, item.pk)
    assert (ids(after), after["seq"], after["pending"]) == ([alices], head, [annotator.pk])


async def test_a_discard_names_a_shape_someone_else_changed_since_and_leaves_it(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any, annotator_api: Any
) -> None:
    alice = await sockets.item(annotator, item.pk)
    bob = await sockets.item(annotator2, item.pk)
    shape = new_id()
    await alice.command(polygon(shape, labels["cat"].pk, square(5, 5, 10)), new_id())
    await alice.command({"type": "save"}, new_id())
    await alice.command({"type": "move_shape", "shape_id": shape, "dx": 2, "dy": 2}, new_id())
    await bob.command(
        {"type": "relabel_shape", "shape_id": shape, "label_class_id": labels["dog"].pk}, new_id()
    )
    before = await state_over_rest(annotator_api, item.pk)

    answer = await alice.command({"type": "discard_changes"}, "alices-no")
    event = (await bob.events(before["seq"] + 1))[-1]

    assert answer["type"] == "ack"
    assert event["type"] == "changes_discarded"
    assert event["payload"] == {"scope": "mine", "shape_ids": [], "skipped_shape_ids": [shape]}
    after = await state_over_rest(annotator_api, item.pk)
    assert after["shapes"] == before["shapes"]
    assert after["pending"] == [annotator2.pk]


async def test_one_undo_takes_back_a_polygon_drawn_vertex_by_vertex_and_one_redo_brings_it_back(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator_api: Any
) -> None:
    alice = await sockets.item(annotator, item.pk)
    shape = new_id()
    await draw(alice, shape, labels["cat"].pk)
    drawn = await state_over_rest(annotator_api, item.pk)

    assert (await alice.command({"type": "undo"}, new_id()))["type"] == "ack"
    undone = await state_over_rest(annotator_api, item.pk)
    assert (await alice.command({"type": "redo"}, new_id()))["type"] == "ack"
    redone = await state_over_rest(annotator_api, item.pk)

    assert (undone["shapes"], undone["drafts"], undone["pending"]) == ([], [], [])
    assert redone["shapes"] == drawn["shapes"] and redone["drafts"] == []
    assert (await alice.command({"type": "undo"}, new_id()))["type"] == "ack"
    assert (await alice.command({"type": "undo"}, new_id()))["code"] == "nothing_to_undo"
