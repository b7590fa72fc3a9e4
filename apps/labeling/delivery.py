"""The events an item socket sends, in seq order, each once, none missing (DESIGN section 8, docs/protocol.md).

Events reach a socket two ways: read from the store (the catch-up after the client's hello, and a gap
that no broadcast filled) and broadcast by whoever wrote them. Broadcasts of one item may pass each other
(several threads and processes write it) or be lost (an overloaded process's inbox is bounded), and a
catch-up may read events whose broadcasts are still on their way. `EventDelivery` keeps the order: it
sends an event only when it follows the last one sent, holds events that come ahead of a gap, and reads
the gap from the store when no broadcast fills it within `WS_GAP_WAIT_SECONDS`.

`LastSent` is the job socket's counterpart: the last seq (or assignment change) it sent of each recent
image, to drop a frame older than one already sent.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from apps.common.websocket import limits

CATCH_UP_PAGE = 500

Send = Callable[[dict[str, Any]], Awaitable[None]]
# (after, upto) -> the stored events with after < seq <= upto (no bound with None), at most CATCH_UP_PAGE
ReadAfter = Callable[[int, int | None], Awaitable[list[dict[str, Any]]]]


class EventDelivery:
    """One socket's event stream: `start(since)` at the client's hello, then `broadcast(events)` as they
    come; `catch_up(upto)` reads from the store what the socket lacks. One sender at a time."""

    def __init__(self, send: Send, read_after: ReadAfter) -> None:
        self.send, self.read_after = send, read_after
        self.sent_seq: int | None = None  # the last seq sent; None until the client said hello
        self.ahead: dict[int, dict[str, Any]] = {}  # broadcast events past a gap, by seq
        self.turn = asyncio.Lock()
        self.gap_timer: asyncio.TimerHandle | None = None
        self.gap_task: asyncio.Future[None] | None = None

    @property
    def started(self) -> bool:
        return self.sent_seq is not None

    async def start(self, since: int) -> int:
        """Send every stored event after `since`; returns the last seq sent."""
        async with self.turn:
            self.sent_seq = since
            await self._catch_up(None)
            return self.sent_seq

    async def broadcast(self, events: list[dict[str, Any]]) -> None:
        """Events broadcast by their writer: sent now if they follow the last one sent, else held."""
        if self.sent_seq is None:
            return  # live events start with the client's hello
        async with self.turn:
            for event in events:
                if event["seq"] > self.sent_seq:  # else already sent (by a catch-up)
                    self.ahead[event["seq"]] = event
            await self._send_ready()
            if not self.ahead and self.gap_timer is not None:
                self.gap_timer.cancel()  # the gap was filled by the broadcast it waited for
                self.gap_timer = None
            elif self.ahead and self.gap_timer is None:
                # The missing event usually follows within milliseconds; if not (it was lost), read it.
                wait = limits()["WS_GAP_WAIT_SECONDS"]
                self.gap_timer = asyncio.get_running_loop().call_later(wait, self._gap_fill_start)

    async def catch_up(self, upto: int) -> None:
        """Read from the store what the socket lacks up to `upto` (a lag seen by comparing with the store)."""
        async with self.turn:
            if self.sent_seq is not None and upto > self.sent_seq:
                await self._catch_up(upto)

    def close(self) -> None:
        for pending in (self.gap_timer, self.gap_task):
            if pending is not None:
                pending.cancel()

    def _gap_fill_start(self) -> None:
        self.gap_timer = None
        self.gap_task = asyncio.ensure_future(self._fill_gap())

    async def _fill_gap(self) -> None:
        async with self.turn:
            if self.ahead and self.sent_seq is not None:
                await self._catch_up(max(self.ahead))

    async def _catch_up(self, upto: int | None) -> None:
        """Send the stored events after the last one sent (up to `upto`), page by page; then the held
        events that the read closed the gap to."""
        while True:
            assert self.sent_seq is not None
            events = await self.read_after(self.sent_seq, upto)
            for event in events:
                await self.send(event)
                self.sent_seq = event["seq"]
            if len(events) < CATCH_UP_PAGE:
                break
        await self._send_ready()

    async def _send_ready(self) -> None:
        """Send the held events that follow the last one sent, in seq order; drop those already sent."""
        assert self.sent_seq is not None
        while self.sent_seq + 1 in self.ahead:
            event = self.ahead.pop(self.sent_seq + 1)
            await self.send(event)
            self.sent_seq = event["seq"]
        for seq in [seq for seq in self.ahead if seq <= self.sent_seq]:
            del self.ahead[seq]


class LastSent:
    """The last value (a seq, a change id) a socket sent of each of the `size` images it sent something
    of most recently; the image whose last send is oldest is forgotten first, and reads as 0."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.values: OrderedDict[int, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self.values)

    def get(self, item_id: int) -> int:
        return self.values.get(item_id, 0)

    def set(self, item_id: int, value: int) -> None:
        self.values[item_id] = value
        self.values.move_to_end(item_id)
        while len(self.values) > self.size:
            self.values.popitem(last=False)
