"""The websocket half of the client: one connection to one item (the frames of docs/protocol.md).

It speaks the wire protocol with the `websockets` package, keeps the events it receives in seq order, and
folds them into the item's state with a `Fold` it is given (polylog's own domain, in the server's tests), so
it depends on nothing of the server. Usage: polylog_client/__init__.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from .http import http_base, http_json, ws_base


class Fold(Protocol):
    """How events make an item's state: the server's rules, handed to the client by whoever has them."""

    def initial(self, width: float, height: float) -> Any: ...

    def evolve(self, state: Any, event: dict[str, Any]) -> Any:
        """`state` with `event` (`{"seq", "type", "payload", "actor", "created_at"}`) applied."""
        ...

    def view(self, state: Any, item_id: int) -> dict[str, Any]:
        """`state` in the form GET /api/items/<id>/state/ returns."""
        ...


class CommandRejected(Exception):
    """The server answered a command with `rejected` (or an `error` naming it, such as rate_limited)."""

    def __init__(self, command_id: str, code: str, message: str) -> None:
        super().__init__(code, message)
        self.command_id, self.code, self.message = command_id, code, message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True, slots=True)
class Ack:
    command_id: str
    seq: int


class LabelingClient:
    """One websocket on one item. A reader task sorts the server's frames into the attributes below.

    - `events`: the events received, in seq order without gaps (a gap is filled by asking again with
      `hello`); `seq` is the last one held.
    - `users`: who is on the item (user id -> {"id", "username"}), from `presence` frames.
    - `cursors`: other people's last cursor (user id -> (x, y)).
    - `errors`: `error` frames that answered no pending command.
    - `duplicates` / `gaps`: events the server sent twice or out of order (both should stay 0).
    """

    def __init__(
        self,
        connection: ClientConnection,
        item_id: int,
        *,
        width: float = 0.0,
        height: float = 0.0,
        fold: Fold | None = None,
    ) -> None:
        self.connection = connection
        self.item_id = item_id
        self.events: list[dict[str, Any]] = []
        self.users: dict[int, dict[str, Any]] = {}
        self.cursors: dict[int, tuple[float, float]] = {}
        self.errors: list[dict[str, Any]] = []
        self.duplicates = 0
        self.gaps = 0
        self._catching_up = False  # a hello is being answered, so repeats are expected, not anomalies
        self._first_after: int | None = None  # the since_seq of the first hello
        self._fold = fold
        self._state = fold.initial(width, height) if fold is not None else None
        self._folded = 0  # events[:_folded] are in _state; the rest are folded when state() is asked for
        self._pending: dict[str, asyncio.Future[Ack]] = {}
        self._pongs: list[asyncio.Future[None]] = []
        self._caught_up: asyncio.Future[int] | None = None
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls,
        base_url: str,
        item_id: int,
        token: str,
        *,
        width: float | None = None,
        height: float | None = None,
        fold: Fold | None = None,
        open_timeout: float = 10.0,
    ) -> AsyncIterator[LabelingClient]:
        """Open `/ws/items/<item_id>/?token=...` on `base_url` (http(s):// or ws(s)://).

        With a `fold` the client can rebuild the state; then without `width` and `height` the image size
        comes from GET /api/items/<id>/state/.
        """
        if fold is not None and (width is None or height is None):
            view = await asyncio.to_thread(
                http_json, f"{http_base(base_url)}/api/items/{item_id}/state/", token=token
            )
            width, height = view["image"]["width"], view["image"]["height"]
        query = urllib.parse.urlencode({"token": token})
        url = f"{ws_base(base_url)}/ws/items/{item_id}/?{query}"
        connection = await ws_connect(url, open_timeout=open_timeout, proxy=None, compression=None)
        client = cls(connection, item_id, width=width or 0.0, height=height or 0.0, fold=fold)
        try:
            yield client
        finally:
            await client.close()

    def take_over(self, earlier: LabelingClient) -> None:
        """Carry on from `earlier`, a connection to the same item that dropped: what it held becomes this
        one's, so that `hello()` asks only for the events missed meanwhile. Call it before any hello."""
        if earlier.item_id != self.item_id:
            raise ValueError(f"item {earlier.item_id} is not item {self.item_id}")
        if self.events or self._first_after is not None:
            raise RuntimeError("take over before the first hello")
        self.events = list(earlier.events)
        self._state, self._folded = earlier._state, earlier._folded
        self._first_after = earlier._first_after

    # Requests ----------------------------------------------------------------------------------------

    async def hello(self, since_seq: int | None = None, *, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Ask for every event after `since_seq` (default: the last one held) and wait for `caught_up`.

        Returns the events that arrived meanwhile, that is the catch-up.
        """
        since = self.seq if since_seq is None else since_seq
        if self._first_after is None:
            self._first_after = since
        held = len(self.events)
        self._caught_up = asyncio.get_running_loop().create_future()
        self._catching_up = True
        await self._send({"type": "hello", "item_id": self.item_id, "since_seq": since})
        await asyncio.wait_for(asyncio.shield(self._caught_up), timeout)
        return self.events[held:]

    async def command(
        self,
        command: dict[str, Any],
        *,
        command_id: str | None = None,
        expected_seq: int | None = None,
        timeout: float = 30.0,
    ) -> Ack:
        """Send a command (a dict of DESIGN section 8) and wait for its answer."""
        command_id = command_id or str(uuid.uuid4())
        if not 0 < len(command_id) <= 64:
            raise ValueError("a command_id has 1 to 64 characters")
        frame: dict[str, Any] = {"type": "command", "command_id": command_id, "command": command}
        if expected_seq is not None:
            frame["expected_seq"] = expected_seq
        if self._reader.done():  # nothing would ever answer
            raise ConnectionError(f"websocket closed ({self.connection.close_code})")
        answer = self._pending[command_id] = asyncio.get_running_loop().create_future()
        try:
            await self._send(frame)
            return await asyncio.wait_for(answer, timeout)
        finally:
            self._pending.pop(command_id, None)

    async def cursor(self, x: float, y: float) -> None:
        await self._send({"type": "cursor", "x": x, "y": y})

    async def ping(self, *, timeout: float = 10.0) -> None:
        """Send `ping` and wait for `pong`."""
        pong = asyncio.get_running_loop().create_future()
        self._pongs.append(pong)
        await self._send({"type": "ping"})
        await asyncio.wait_for(pong, timeout)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float | None = 10.0) -> None:
        """Wait until `predicate()` holds, checked after every frame; TimeoutError after `timeout` s
        (None: no limit)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate() or self._reader.done())
        if not predicate():
            raise ConnectionError(f"websocket closed ({self.connection.close_code})")

    async def wait_for_seq(self, seq: int, timeout: float = 10.0) -> None:
        """Wait until the event `seq` (and every one before it) is held."""
        await self.wait_until(lambda: self.seq >= seq, timeout)

    async def follow(self) -> AsyncIterator[dict[str, Any]]:
        """Every event held, then each as it arrives, in seq order, for as long as the connection lasts;
        ConnectionError when it closes."""
        sent = 0
        while True:
            while sent < len(self.events):
                sent += 1
                yield self.events[sent - 1]
            await self.wait_until(lambda held=sent: len(self.events) > held, timeout=None)

    async def close(self) -> None:
        await self.connection.close()
        with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
            await self._reader

    # State -------------------------------------------------------------------------------------------

    @property
    def seq(self) -> int:
        return self.events[-1]["seq"] if self.events else (self._first_after or 0)

    def state(self) -> Any:
        """The item's state at `seq`, folded from the events received with the client's `fold`."""
        if self._fold is None:
            raise RuntimeError("this client has no fold: connect with fold=... to rebuild the state")
        if self._first_after:
            raise RuntimeError(f"events start after seq {self._first_after}; hello(since_seq=0) for state")
        # Folded on demand: a script or a load that never asks for the state never pays for it.
        for event in self.events[self._folded :]:
            self._state = self._fold.evolve(self._state, event)
            self._folded += 1
        return self._state

    def state_view(self) -> dict[str, Any]:
        """The state in the form GET /api/items/<id>/state/ returns."""
        state = self.state()
        assert self._fold is not None  # state() said so
        return self._fold.view(state, self.item_id)

    # The reader --------------------------------------------------------------------------------------

    async def _send(self, frame: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(frame, separators=(",", ":")))

    async def _read(self) -> None:
        try:
            async for message in self.connection:
                await self._on_frame(json.loads(message))
                async with self._changed:
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            closed = ConnectionError(f"websocket closed ({self.connection.close_code})")
            for future in [*self._pending.values(), *self._pongs, self._caught_up]:
                if future is not None and not future.done():
                    future.set_exception(closed)
            async with self._changed:
                self._changed.notify_all()

    async def _on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "event":
            await self._on_event(frame["event"])
        elif kind == "caught_up":
            self._catching_up = False
            if self._caught_up is not None and not self._caught_up.done():
                self._caught_up.set_result(frame["seq"])
        elif kind == "ack":
            self._answer(frame["command_id"], Ack(frame["command_id"], frame["seq"]))
        elif kind == "rejected":
            self._answer(
                frame["command_id"], CommandRejected(frame["command_id"], frame["code"], frame["message"])
            )
        elif kind == "error":
            command_id = frame.get("command_id")
            if command_id in self._pending:
                self._answer(command_id, CommandRejected(command_id, frame["code"], frame["message"]))
            else:
                self.errors.append(frame)
        elif kind == "presence":
            self.users = {user["id"]: user for user in frame["users"]}
        elif kind == "cursor":
            self.cursors[frame["user"]["id"]] = (frame["x"], frame["y"])
        elif kind == "pong":
            while self._pongs:
                pong = self._pongs.pop(0)
                if not pong.done():
                    pong.set_result(None)
                    break

    def _answer(self, command_id: str, answer: Ack | CommandRejected) -> None:
        future = self._pending.get(command_id)
        if future is None or future.done():
            return
        if isinstance(answer, Ack):
            future.set_result(answer)
        else:
            future.set_exception(answer)

    async def _on_event(self, event: dict[str, Any]) -> None:
        if event["seq"] <= self.seq:
            if not self._catching_up:
                self.duplicates += 1
            return
        if event["seq"] > self.seq + 1:
            # The server sends in seq order; a gap means frames were lost, so ask again from what we hold.
            if not self._catching_up:
                self.gaps += 1
                self._catching_up = True
                await self._send({"type": "hello", "item_id": self.item_id, "since_seq": self.seq})
            return
        self.events.append(event)
