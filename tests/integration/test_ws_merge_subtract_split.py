"""merge_shapes, subtract_shape and split_shape live: one person merges, cuts and splits over the item's
websocket, another watching the image receives each as one event, and the state they fold to is the
server's at every step; the author's undo takes each back in one event, which the watcher folds too."""

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


async def test_a_watcher_receives_a_merge_a_cut_and_a_split_and_folds_them_to_the_servers_state(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any, annotator_api: Any
) -> None:
    cat, dog = labels["cat"].pk, labels["dog"].pk
    author = await sockets.item(annotator, item.pk)
    watcher = await sockets.item(annotator2, item.pk)
    a, b, bar = new_id(), new_id(), new_id()
    setup = [
        polygon(a, cat, square(10, 10, 20)),
        polygon(b, cat, square(20, 20, 20)),
        polygon(bar, dog, [[0, 18], [60, 18], [60, 22], [0, 22]]),
    ]
    for command in setup:
        assert (await author.command(command, new_id()))["type"] == "ack"
    seen = await watcher.events(len(setup))

    steps = [
        ({"type": "merge_shapes", "shape_ids": [a, b], "into": a}, "shapes_merged"),
        ({"type": "subtract_shape", "shape_id": a, "by": bar}, "shape_subtracted"),
        ({"type": "split_shape", "shape_id": bar, "line": [[50, 0], [50, 40]]}, "shape_split"),
        ({"type": "undo"}, "undone"),
        ({"type": "redo"}, "redone"),
    ]
    for command, event_type in steps:
        answer = await author.command(command, new_id())
        assert answer["type"] == "ack", answer
        [event] = await watcher.events(1)
        assert (event["seq"], event["type"], event["actor"]) == (answer["seq"], event_type, annotator.pk)
        seen.append(event)
        # After every step the watcher's fold is the server's state.
        assert replay_received(seen, item) == await state_over_rest(annotator_api, item.pk)

    final = await state_over_rest(annotator_api, item.pk)
    assert len(final["shapes"]) == 4  # a's two pieces, and the bar's two parts
    assert {s["id"] for s in final["shapes"]} >= {a, bar}
    assert final["next_number"] == 6


async def test_a_refused_merge_reaches_only_its_author(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any
) -> None:
    author = await sockets.item(annotator, item.pk)
    watcher = await sockets.item(annotator2, item.pk)
    a, far = new_id(), new_id()
    for command in (
        polygon(a, labels["cat"].pk, square(10, 10, 10)),
        polygon(far, labels["cat"].pk, square(60, 50, 10)),
    ):
        await author.command(command, new_id())
    await watcher.events(2)

    answer = await author.command({"type": "merge_shapes", "shape_ids": [a, far], "into": a}, "m-1")

    assert answer == {
        "type": "rejected",
        "command_id": "m-1",
        "code": "shapes_not_touching",
        "message": "Shape #2 neither overlaps nor shares a border with shape #1, so they cannot become one polygon.",
    }
    assert await watcher.drain("event") == []
