"""Two people on one item's websocket: every event reaches every watcher in seq order, a reconnecting client
catches up on exactly what it missed, REST commands are broadcast too, and undo stays per person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from channels.layers import get_channel_layer

from apps.labeling import consumers
from apps.labeling.live import ITEM_EVENTS, item_group
from tests.conftest import new_id, square
from tests.integration.test_ws_support import (
    Sockets,
    handle_quietly,
    polygon,
    post_command,
    replay_received,
    state_over_rest,
    stored_events,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

# A 4-vertex outline inside the 100x80 cat image.
OUTLINE = [(10.0, 10.0), (60.0, 12.0), (58.0, 50.0), (12.0, 48.0)]
WIRE_FIELDS = ("seq", "type", "payload", "actor", "created_at")


@pytest_asyncio.fixture(autouse=True)
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


async def draw(
    peer: Any, shape_id: str, label_class_id: int, outline: list[tuple[float, float]]
) -> list[int]:
    """Draw a polygon vertex by vertex and close it, as the editor does; return the acked seqs."""
    answers = [
        await peer.command({"type": "add_vertex", "shape_id": shape_id, "x": x, "y": y}, new_id())
        for x, y in outline
    ]
    answers.append(
        await peer.command(
            {"type": "close_polygon", "shape_id": shape_id, "label_class_id": label_class_id}, new_id()
        )
    )
    assert [answer["type"] for answer in answers] == ["ack"] * len(answers), answers
    return [answer["seq"] for answer in answers]


def wire(event: dict[str, Any]) -> dict[str, Any]:
    return {name: event[name] for name in WIRE_FIELDS}


async def test_a_watcher_sees_each_vertex_of_a_drawing_in_order_and_ends_with_the_servers_state(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any, annotator_api: Any
) -> None:
    drawer = await sockets.item(annotator, item.pk)
    watcher = await sockets.item(annotator2, item.pk)
    shape_id = new_id()

    acked = await draw(drawer, shape_id, labels["cat"].pk, OUTLINE)

    seen = await watcher.events(len(acked))
    assert acked == [1, 2, 3, 4, 5]
    assert [event["seq"] for event in seen] == acked
    assert [event["type"] for event in seen] == ["vertex_added"] * 4 + ["polygon_closed"]
    assert {event["actor"] for event in seen} == {annotator.pk}
    assert [event["seq"] for event in await drawer.events(len(acked))] == acked
    server = await state_over_rest(annotator_api, item.pk)
    assert replay_received(seen, item) == server
    assert server["shapes"] == [
        {
            "id": shape_id,
            "number": 1,
            "label_class_id": labels["cat"].pk,
            "points": [[x, y] for x, y in OUTLINE],
        }
    ]
    assert await watcher.drain("event") == []  # and nothing twice


async def test_an_undo_takes_back_only_the_own_shape_and_leaves_the_others_alone(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any, annotator_api: Any
) -> None:
    alice = await sockets.item(annotator, item.pk)
    bob = await sockets.item(annotator2, item.pk)
    alices_shape, bobs_shape = new_id(), new_id()
    await draw(alice, alices_shape, labels["cat"].pk, OUTLINE)
    before = await state_over_rest(annotator_api, item.pk)

    nothing = await bob.command({"type": "undo"}, "bob-undo-1")
    bobs = await bob.command(polygon(bobs_shape, labels["dog"].pk, square(70, 55, 10)), "bob-draw")
    undone = await bob.command({"type": "undo"}, "bob-undo-2")

    assert nothing["type"] == "rejected"
    assert nothing["code"] == "nothing_to_undo"
    assert (bobs["type"], undone["type"]) == ("ack", "ack")
    seen_by_alice = await alice.events(7)
    assert [event["seq"] for event in seen_by_alice] == [1, 2, 3, 4, 5, 6, 7]
    assert seen_by_alice[-1]["type"] == "undone"
    assert seen_by_alice[-1]["actor"] == annotator2.pk
    after = await state_over_rest(annotator_api, item.pk)
    assert after["shapes"] == before["shapes"]
    assert [shape["id"] for shape in after["shapes"]] == [alices_shape]
    assert replay_received(seen_by_alice, item) == after


async def test_a_reconnecting_client_gets_exactly_the_events_it_missed_then_live_ones(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any, annotator_api: Any
) -> None:
    alice = await sockets.item(annotator, item.pk)
    bob = await sockets.item(annotator2, item.pk)
    await alice.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 10)), new_id())
    await alice.command(polygon(new_id(), labels["cat"].pk, square(25, 5, 10)), new_id())
    seen_before = await bob.events(2)
    await bob.close()

    missed = []
    for x in (45, 65, 85):
        answer = await alice.command(polygon(new_id(), labels["dog"].pk, square(x, 5, 10)), new_id())
        missed.append(answer["seq"])
    bob = await sockets.item(annotator2, item.pk, since_seq=None)
    caught_up, caught_up_seq = await bob.hello(seen_before[-1]["seq"])
    live = await alice.command({"type": "save"}, new_id())
    seen_live = await bob.events(1)

    assert [event["seq"] for event in seen_before] == [1, 2]
    assert [event["seq"] for event in caught_up] == missed == [3, 4, 5]
    assert caught_up_seq == 5
    assert [event["seq"] for event in seen_live] == [live["seq"]] == [6]
    assert seen_live[0]["type"] == "saved"
    assert await bob.drain("event") == []
    stored = await stored_events(item.pk)
    assert [wire(event) for event in caught_up] == stored[2:5]
    assert replay_received(seen_before + caught_up + seen_live, item) == await state_over_rest(
        annotator_api, item.pk
    )


async def test_a_caught_up_event_has_the_same_form_as_the_live_event(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any
) -> None:
    alice = await sockets.item(annotator, item.pk)
    await alice.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 10)), new_id())
    (live,) = await alice.events(1)

    late = await sockets.item(annotator2, item.pk, since_seq=None)
    (caught_up,), _ = await late.hello(0)

    assert caught_up == live


async def test_live_events_start_with_hello(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any
) -> None:
    alice = await sockets.item(annotator, item.pk)
    silent = await sockets.item(annotator2, item.pk, since_seq=None)
    await alice.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 10)), new_id())
    await alice.events(1)

    assert await silent.drain("event") == []
    events, seq = await silent.hello(0)
    assert [event["seq"] for event in events] == [1]
    assert seq == 1


async def test_a_command_sent_over_rest_reaches_websocket_watchers(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any, annotator_api: Any
) -> None:
    watcher = await sockets.item(annotator2, item.pk)

    body = await post_command(
        annotator_api, item.pk, polygon(new_id(), labels["cat"].pk, square(5, 5, 10)), "r1"
    )

    (seen,) = await watcher.events(1)
    assert seen["seq"] == body["seq"] == 1
    assert wire(seen) == wire(body["events"][0])
    assert seen["actor"] == annotator.pk


async def test_events_of_one_item_do_not_reach_the_watchers_of_another(
    sockets: Sockets, items: list[Any], labels: Any, annotator: Any, annotator2: Any
) -> None:
    here, there = items[0], items[1]
    drawer = await sockets.item(annotator, here.pk)
    elsewhere = await sockets.item(annotator2, there.pk)

    await drawer.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 10)), new_id())
    await drawer.events(1)

    assert await elsewhere.drain("event") == []


async def test_broadcasts_arriving_out_of_order_are_delivered_in_seq_order_without_gaps_or_duplicates(
    sockets: Sockets, settings: Any, item: Any, labels: Any, annotator: Any, annotator2: Any
) -> None:
    # The periodic comparison with the store must not fill the gap first: this is about the broadcasts.
    settings.POLYLOG = {**settings.POLYLOG, "WS_LAG_CHECK_SECONDS": 3600}
    watcher = await sockets.item(annotator2, item.pk)
    # Three commands are stored, but (as when another process publishes late) nothing is broadcast yet.
    for x in (5, 25, 45):
        await handle_quietly(item.pk, annotator.pk, polygon(new_id(), labels["cat"].pk, square(x, 5, 10)))
    first, second, third = await stored_events(item.pk)
    layer = get_channel_layer()

    # The third event's broadcast overtakes the others; then all three arrive, late and one repeated.
    for late in ([third], [first], [second], [second, third]):
        await layer.group_send(item_group(item.pk), {"type": ITEM_EVENTS, "events": late})
    delivered = await watcher.events(3)
    duplicates = await watcher.drain("event")

    assert [event["seq"] for event in delivered] == [1, 2, 3]
    assert [wire(event) for event in delivered] == [first, second, third]
    assert duplicates == []


async def test_an_event_ahead_of_a_gap_waits_for_the_missing_broadcast_without_reading_the_store(
    sockets: Sockets, settings: Any, monkeypatch: Any, item: Any, labels: Any, annotator: Any, annotator2: Any
) -> None:
    # Broadcasts of two processes pass each other all the time under load: the socket holds the early
    # event for a moment rather than reading the store for every such pass.
    settings.POLYLOG = {**settings.POLYLOG, "WS_LAG_CHECK_SECONDS": 3600, "WS_GAP_WAIT_SECONDS": 30}
    watcher = await sockets.item(annotator2, item.pk)
    for x in (5, 25):
        await handle_quietly(item.pk, annotator.pk, polygon(new_id(), labels["cat"].pk, square(x, 5, 10)))
    first, second = await stored_events(item.pk)
    reads: list[tuple[Any, ...]] = []
    read = consumers._events_after

    async def counted(*args: Any) -> Any:
        reads.append(args)
        return await read(*args)

    monkeypatch.setattr(consumers, "_events_after", counted)
    layer = get_channel_layer()

    await layer.group_send(item_group(item.pk), {"type": ITEM_EVENTS, "events": [second]})
    assert await watcher.drain("event") == []  # held, not sent ahead of seq 1
    await layer.group_send(item_group(item.pk), {"type": ITEM_EVENTS, "events": [first]})
    delivered = await watcher.events(2)

    assert [wire(event) for event in delivered] == [first, second]
    assert reads == []


async def test_a_gap_that_no_broadcast_fills_is_read_from_the_store_after_the_gap_wait(
    sockets: Sockets, settings: Any, item: Any, labels: Any, annotator: Any, annotator2: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "WS_LAG_CHECK_SECONDS": 3600, "WS_GAP_WAIT_SECONDS": 0.05}
    watcher = await sockets.item(annotator2, item.pk)
    for x in (5, 25, 45):
        await handle_quietly(item.pk, annotator.pk, polygon(new_id(), labels["cat"].pk, square(x, 5, 10)))
    stored = await stored_events(item.pk)

    # Only the last broadcast arrives: the first two were lost on the way.
    await get_channel_layer().group_send(item_group(item.pk), {"type": ITEM_EVENTS, "events": [stored[2]]})
    delivered = await watcher.events(3)

    assert [wire(event) for event in delivered] == stored
    assert await watcher.drain("event") == []


async def test_a_broadcast_that_never_arrives_is_read_from_the_store_while_the_item_is_active(
    sockets: Sockets, settings: Any, item: Any, labels: Any, annotator: Any, annotator2: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "WS_LAG_CHECK_SECONDS": 0.1}
    alice = await sockets.item(annotator, item.pk)
    watcher = await sockets.item(annotator2, item.pk)
    await alice.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 10)), new_id())
    assert [event["seq"] for event in await watcher.events(1)] == [1]

    # Stored, but its broadcast is lost (as when a channel layer drops a message for a full inbox).
    await handle_quietly(item.pk, annotator.pk, polygon(new_id(), labels["cat"].pk, square(25, 5, 10)))
    recovered = await watcher.events(1)

    assert [wire(event) for event in recovered] == (await stored_events(item.pk))[1:]
    assert await watcher.drain("event") == []


async def test_a_retried_command_id_gets_its_first_answer_and_is_applied_once(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any
) -> None:
    alice = await sockets.item(annotator, item.pk)
    watcher = await sockets.item(annotator2, item.pk)
    command = polygon(new_id(), labels["cat"].pk, square(5, 5, 10))

    first = await alice.command(command, "same-id")
    again = await alice.command(command, "same-id")

    assert first == again == {"type": "ack", "command_id": "same-id", "seq": 1}
    assert len(await watcher.events(1)) == 1
    assert await watcher.drain("event") == []
    assert len(await stored_events(item.pk)) == 1


async def test_a_command_that_changes_nothing_is_acked_with_the_current_seq_and_broadcasts_nothing(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any
) -> None:
    alice = await sockets.item(annotator, item.pk)
    watcher = await sockets.item(annotator2, item.pk)
    shape_id = new_id()
    await alice.command(polygon(shape_id, labels["cat"].pk, square(5, 5, 10)), new_id())
    await watcher.events(1)

    answer = await alice.command({"type": "move_shape", "shape_id": shape_id, "dx": 0, "dy": 0}, "still")

    assert answer == {"type": "ack", "command_id": "still", "seq": 1}
    assert await watcher.drain("event") == []
    assert len(await stored_events(item.pk)) == 1


async def test_a_command_with_a_stale_expected_seq_is_rejected_and_changes_nothing(
    sockets: Sockets, item: Any, labels: Any, annotator: Any
) -> None:
    alice = await sockets.item(annotator, item.pk)
    await alice.command(polygon(new_id(), labels["cat"].pk, square(5, 5, 10)), new_id())

    stale = await alice.command({"type": "save"}, "stale", expected_seq=0)
    fresh = await alice.command({"type": "save"}, "fresh", expected_seq=1)

    assert stale["type"] == "rejected"
    assert stale["code"] == "seq_conflict"
    assert fresh == {"type": "ack", "command_id": "fresh", "seq": 2}
    assert [event["type"] for event in await stored_events(item.pk)] == ["polygon_added", "saved"]
