"""`EventDelivery`, alone: whatever order broadcasts come in, lost or repeated, a socket sends the stream's
events in seq order, each once, none missing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.labeling import delivery
from apps.labeling.delivery import EventDelivery


class Stream:
    """A stored stream of `length` events, and what a socket sent of it."""

    def __init__(self, length: int) -> None:
        self.events = [{"seq": seq, "type": "saved"} for seq in range(1, length + 1)]
        self.sent: list[int] = []
        self.reads: list[tuple[int, int | None]] = []

    async def send(self, event: dict[str, Any]) -> None:
        self.sent.append(event["seq"])

    async def read_after(self, after: int, upto: int | None) -> list[dict[str, Any]]:
        self.reads.append((after, upto))
        found = [e for e in self.events if e["seq"] > after and (upto is None or e["seq"] <= upto)]
        return found[: delivery.CATCH_UP_PAGE]


@pytest.fixture(autouse=True)
def quick_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "limits", lambda: {"WS_GAP_WAIT_SECONDS": 0.01})


@pytest.mark.asyncio
async def test_broadcasts_before_the_hello_are_not_sent_and_the_hello_catches_up_from_since() -> None:
    stream = Stream(3)
    sender = EventDelivery(stream.send, stream.read_after)
    await sender.broadcast(stream.events[:1])
    assert await sender.start(1) == 3
    assert stream.sent == [2, 3]


@pytest.mark.asyncio
async def test_an_event_ahead_of_a_gap_is_held_until_the_gap_is_filled_by_a_broadcast() -> None:
    stream = Stream(3)
    sender = EventDelivery(stream.send, stream.read_after)
    await sender.start(0)
    stream.events += [{"seq": 4}, {"seq": 5}]
    await sender.broadcast([stream.events[4]])
    assert stream.sent == [1, 2, 3]
    await sender.broadcast([stream.events[3]])
    assert stream.sent == [1, 2, 3, 4, 5]
    assert stream.reads == [(0, None)]  # the gap was filled without reading the store
    sender.close()


@pytest.mark.asyncio
async def test_a_gap_no_broadcast_fills_is_read_from_the_store_after_the_wait() -> None:
    stream = Stream(0)
    sender = EventDelivery(stream.send, stream.read_after)
    await sender.start(0)
    stream.events += [{"seq": n} for n in (1, 2, 3)]
    await sender.broadcast([stream.events[2]])
    async with asyncio.timeout(5):
        while stream.sent != [1, 2, 3]:
            await asyncio.sleep(0.005)
    assert stream.reads[-1] == (0, 3)


@pytest.mark.asyncio
async def test_a_catch_up_longer_than_a_page_reads_page_by_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "CATCH_UP_PAGE", 4)
    stream = Stream(10)
    sender = EventDelivery(stream.send, stream.read_after)
    assert await sender.start(0) == 10
    assert stream.sent == list(range(1, 11))
    assert [after for after, _ in stream.reads] == [0, 4, 8]


@settings(max_examples=60, deadline=None)
@given(
    length=st.integers(1, 12),
    data=st.data(),
)
def test_any_order_of_broadcasts_lost_or_repeated_sends_the_stream_once_in_order(
    length: int, data: st.DataObject
) -> None:
    stream = Stream(length)
    since = data.draw(st.integers(0, length), label="since")
    # Each event is broadcast zero to two times, in any order, some before the hello and some after.
    copies = [e for e in stream.events for _ in range(data.draw(st.integers(0, 2)))]
    order = data.draw(st.permutations(copies), label="broadcasts")
    cut = data.draw(st.integers(0, len(order)), label="hello after")

    async def run() -> None:
        sender = EventDelivery(stream.send, stream.read_after)
        for event in order[:cut]:
            await sender.broadcast([event])
        await sender.start(since)
        for event in order[cut:]:
            await sender.broadcast([event])
        await sender.catch_up(length)  # as the lag check does, when the item is active
        sender.close()

    asyncio.run(run())
    assert stream.sent == list(range(since + 1, length + 1))
