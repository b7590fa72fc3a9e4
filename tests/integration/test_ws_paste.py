"""paste_shapes live: one person pastes over the item's websocket, another watching the image receives the
paste as one event and folds it to the server's state; the author's undo takes the whole paste back in
one event; a refused paste reaches only its author and adds nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import new_id, square
from tests.integration.test_ws_support import Sockets, polygon, replay_received, state_over_rest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest_asyncio.fixture(autouse=True)
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


def pasted(label: int, points: list[list[float]], group_id: str | None = None) -> dict[str, Any]:
    shape: dict[str, Any] = {"shape_id": new_id(), "label_class_id": label, "points": points}
    if group_id:
        shape["group_id"] = group_id
    return shape


async def test_a_watcher_receives_a_paste_as_one_event_and_its_undo_as_one_more(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any, annotator_api: Any
) -> None:
    cat, dog = labels["cat"].pk, labels["dog"].pk
    author = await sockets.item(annotator, item.pk)
    watcher = await sockets.item(annotator2, item.pk)
    assert (await author.command(polygon(new_id(), cat, square(10, 10, 20)), new_id()))["type"] == "ack"
    seen = await watcher.events(1)
    shapes = [pasted(cat, square(20, 20, 20), "copy"), pasted(dog, square(50, 40, 10), "copy")]

    for command, event_type in [
        ({"type": "paste_shapes", "shapes": shapes}, "shapes_pasted"),
        ({"type": "undo"}, "undone"),
        ({"type": "redo"}, "redone"),
    ]:
        answer = await author.command(command, new_id())
        assert answer["type"] == "ack", answer
        [event] = await watcher.events(1)
        assert (event["seq"], event["type"], event["actor"]) == (answer["seq"], event_type, annotator.pk)
        seen.append(event)
        assert replay_received(seen, item) == await state_over_rest(annotator_api, item.pk)

    assert seen[1]["payload"] == {"shapes": shapes}
    assert seen[2]["payload"]["shape_ids"] == [s["shape_id"] for s in shapes]  # one undo, every copy
    final = await state_over_rest(annotator_api, item.pk)
    assert [s["number"] for s in final["shapes"]] == [1, 2, 3]


async def test_a_refused_paste_reaches_only_its_author_and_adds_nothing(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any, annotator_api: Any
) -> None:
    author = await sockets.item(annotator, item.pk)
    watcher = await sockets.item(annotator2, item.pk)
    shapes = [pasted(labels["cat"].pk, square(10, 10, 10)), pasted(labels["cat"].pk, square(95, 10, 10))]

    answer = await author.command({"type": "paste_shapes", "shapes": shapes}, "p-1")

    assert (answer["type"], answer["code"]) == ("rejected", "polygon_outside_image")
    assert answer["message"].startswith("Pasted shape 2 of 2: ")
    assert await watcher.drain("event") == []
    assert (await state_over_rest(annotator_api, item.pk))["shapes"] == []
