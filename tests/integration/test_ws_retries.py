"""Idempotent retries over the websocket: a command sent again with its command_id is applied once.

A client whose connection drops before the ack arrives cannot know whether its command was applied, so it
sends it again with the same command_id (docs/protocol.md). These tests prove that the resend, on a new
connection, on the same one, over REST, or after later commands, is answered with the original seq and
stores and broadcasts nothing more; that twins racing on two connections store one event; and that a
command_id is a person's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async

from tests.conftest import new_id, square
from tests.integration.test_ws_support import (
    Sockets,
    polygon,
    replay_received,
    state_over_rest,
    stored_events,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest_asyncio.fixture(autouse=True)
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


@database_sync_to_async
def stored_with(item_id: int, command_id: str) -> list[int]:
    """The seqs of the item's events that carry `command_id`."""
    from apps.labeling.models import StoredEvent

    return list(
        StoredEvent.objects.filter(item_id=item_id, command_id=command_id).values_list("seq", flat=True)
    )


@database_sync_to_async
def post_again(client: Any, item_id: int, command: dict[str, Any], command_id: str) -> tuple[int, Any]:
    response = client.post(
        f"/api/items/{item_id}/commands/", {"command_id": command_id, "command": command}, format="json"
    )
    return response.status_code, response.json()


def command_frame(command: dict[str, Any], command_id: str) -> dict[str, Any]:
    return {"type": "command", "command_id": command_id, "command": command}


async def test_a_command_resent_on_a_new_connection_after_its_ack_was_lost_is_applied_once(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any, annotator_api: Any
) -> None:
    watcher = await sockets.item(annotator2, item.pk)
    first = await sockets.item(annotator, item.pk)
    command = polygon(new_id(), labels["cat"].pk, square(10, 10, 20))
    await first.send(command_frame(command, "draw-1"))
    (applied,) = await watcher.events(1)  # committed and broadcast: only the ack is still unread
    await first.close()

    second = await sockets.item(annotator, item.pk, since_seq=None)
    caught_up, _ = await second.hello(0)
    answer = await second.command(command, "draw-1")

    assert answer == {"type": "ack", "command_id": "draw-1", "seq": applied["seq"]}
    assert await stored_with(item.pk, "draw-1") == [1]
    assert [event["seq"] for event in await stored_events(item.pk)] == [1]
    assert await watcher.drain("event") == [], "the resend was not broadcast again"
    assert await second.drain("event") == []
    assert caught_up == [applied]
    server = await state_over_rest(annotator_api, item.pk)
    assert len(server["shapes"]) == 1
    assert replay_received([applied], item) == server


async def test_a_command_resent_while_the_first_send_is_still_being_handled_is_applied_once(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any
) -> None:
    # The client gave up on a connection that looked dead and resent at once on a new one: the two
    # copies race, each in its own thread with its own database connection.
    watcher = await sockets.item(annotator2, item.pk)
    dying = await sockets.item(annotator, item.pk, since_seq=None)
    fresh = await sockets.item(annotator, item.pk, since_seq=None)
    command = polygon(new_id(), labels["cat"].pk, square(10, 10, 20))

    await asyncio.gather(
        dying.send(command_frame(command, "twin")), fresh.send(command_frame(command, "twin"))
    )
    answers = await asyncio.gather(dying.answer("twin"), fresh.answer("twin"))

    assert [answer["type"] for answer in answers] == ["ack", "ack"], answers
    assert answers[0]["seq"] == answers[1]["seq"] == 1
    assert await stored_with(item.pk, "twin") == [1]
    assert [event["seq"] for event in await watcher.events(1)] == [1]
    assert await watcher.drain("event") == [], "applied and broadcast once"


async def test_the_same_command_sent_twice_on_one_connection_is_acked_twice_with_one_seq(
    sockets: Sockets, item: Any, labels: Any, annotator: Any
) -> None:
    peer = await sockets.item(annotator, item.pk)
    command = polygon(new_id(), labels["cat"].pk, square(10, 10, 20))

    await peer.send(command_frame(command, "twice"))
    await peer.send(command_frame(command, "twice"))
    answers = [await peer.answer("twice"), await peer.answer("twice")]

    assert answers == [{"type": "ack", "command_id": "twice", "seq": 1}] * 2
    assert [event["seq"] for event in await peer.events(1)] == [1]
    assert await peer.drain("event") == []
    assert await stored_with(item.pk, "twice") == [1]


async def test_a_command_sent_over_the_websocket_and_resent_over_rest_gets_its_original_answer(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator_api: Any
) -> None:
    peer = await sockets.item(annotator, item.pk)
    command = polygon(new_id(), labels["cat"].pk, square(10, 10, 20))
    acked = await peer.command(command, "both-ways")
    (event,) = await peer.events(1)

    status, body = await post_again(annotator_api, item.pk, command, "both-ways")

    assert acked["type"] == "ack"
    assert status == 200, "a retried command_id answers 200, not 201"
    assert body == {"seq": acked["seq"], "events": [event]}
    assert await stored_with(item.pk, "both-ways") == [1]
    assert await peer.drain("event") == []


async def test_a_resend_after_later_commands_gets_its_original_seq_and_changes_nothing(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator_api: Any
) -> None:
    # Decided again now, each of these would be refused (the draft is closed, the shape is gone) or do
    # something else (a new draft): the resend must get the original answer instead.
    peer = await sockets.item(annotator, item.pk)
    shape_id = new_id()
    sent = [
        ({"type": "add_vertex", "shape_id": shape_id, "x": x, "y": y}, f"v{n}")
        for n, (x, y) in enumerate([(10, 10), (40, 10), (25, 40)])
    ]
    sent.append(
        ({"type": "close_polygon", "shape_id": shape_id, "label_class_id": labels["cat"].pk}, "close")
    )
    sent.append(({"type": "move_shape", "shape_id": shape_id, "dx": 5, "dy": 5}, "move"))
    sent.append(({"type": "delete_shape", "shape_id": shape_id}, "delete"))
    first = [await peer.command(command, command_id) for command, command_id in sent]
    events = await peer.events(len(sent))
    before = await state_over_rest(annotator_api, item.pk)

    again = [await peer.command(command, command_id) for command, command_id in sent[:5]]

    assert [answer["seq"] for answer in first] == [1, 2, 3, 4, 5, 6]
    assert again == first[:5], "each resend is acked with its original seq"
    assert await peer.drain("event") == []
    assert [event["seq"] for event in await stored_events(item.pk)] == [1, 2, 3, 4, 5, 6]
    after = await state_over_rest(annotator_api, item.pk)
    assert after == before
    assert after["shapes"] == [] and after["drafts"] == []
    assert replay_received(events, item) == after


async def test_a_command_id_resent_by_someone_else_is_rejected_and_not_applied(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any
) -> None:
    alice = await sockets.item(annotator, item.pk)
    bob = await sockets.item(annotator2, item.pk)
    await alice.command(polygon(new_id(), labels["cat"].pk, square(10, 10, 20)), "mine")

    answer = await bob.command(polygon(new_id(), labels["dog"].pk, square(50, 10, 20)), "mine")

    assert (answer["type"], answer["code"]) == ("rejected", "command_id_reused")
    assert [event["seq"] for event in await stored_events(item.pk)] == [1]
    assert [event["seq"] for event in await bob.events(1)] == [1]
    assert await bob.drain("event") == []
