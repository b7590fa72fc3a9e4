"""Helpers the websocket tests share: a socket client that sorts frames by type, and replay of received events.

It holds no tests. It is named test_ws_* only so that it sits next to the tests it serves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from apps.labeling.domain import SCHEMA_VERSION, event_from_record, evolve, initial_state, state_view
from config.asgi import application

# Generous: a frame that proves something arrives in milliseconds; this only bounds a failing test.
WAIT = 5.0
# How long a silence has to last to count as "nothing came" (receive_nothing's window).
QUIET = 0.2
# How long a closed consumer may take to finish; past it, it is cancelled (its disconnect handler has run).
STOP = 1.0


@database_sync_to_async
def token_for(user: Any) -> str:
    """A new API token for the user, as a login gives (each call makes another)."""
    from apps.accounts.tokens import token_create

    return token_create(user=user).token


@database_sync_to_async
def session_cookie_for(user: Any) -> bytes:
    """The Cookie header a browser logged in as `user` sends (a real session, as django.test.Client makes)."""
    from django.conf import settings
    from django.test import Client

    browser = Client()
    browser.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


class Peer:
    """One websocket connection as a client sees it.

    Presence and cursor frames interleave with replies in an order the server does not promise, so frames
    are read in arrival order and kept until a test asks for their type; `frames` is everything received.
    """

    def __init__(self, socket: WebsocketCommunicator, user: Any = None) -> None:
        self.socket = socket
        self.user = user
        self.frames: list[dict[str, Any]] = []
        self.unread: list[dict[str, Any]] = []
        self.closed = False
        self.crash_seen = False

    @contextmanager
    def _watching(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            task = self.socket.future
            self.crash_seen = task.done() and not task.cancelled() and task.exception() is not None
            raise

    async def _read(self, timeout: float = WAIT) -> dict[str, Any]:
        with self._watching():
            frame = await self.socket.receive_json_from(timeout=timeout)
        self.frames.append(frame)
        return frame

    async def next(self, *types: str, timeout: float = WAIT) -> dict[str, Any]:
        """The oldest frame not yet taken whose type is one of `types`, waiting for it if need be."""
        for index, frame in enumerate(self.unread):
            if frame["type"] in types:
                return self.unread.pop(index)
        while True:
            frame = await self._read(timeout)
            if frame["type"] in types:
                return frame
            self.unread.append(frame)

    async def take(self, count: int, *types: str) -> list[dict[str, Any]]:
        return [await self.next(*types) for _ in range(count)]

    async def drain(self, *types: str, quiet: float = QUIET) -> list[dict[str, Any]]:
        """Read until the socket is quiet for `quiet` seconds; return (and take) the frames of `types`."""
        while True:
            with self._watching():
                if await self.socket.receive_nothing(timeout=quiet):
                    break
            self.unread.append(await self._read())
        taken = [frame for frame in self.unread if frame["type"] in types]
        self.unread = [frame for frame in self.unread if frame["type"] not in types]
        return taken

    async def send(self, frame: dict[str, Any]) -> None:
        with self._watching():
            await self.socket.send_json_to(frame)

    async def send_text(self, text: str) -> None:
        with self._watching():
            await self.socket.send_to(text_data=text)

    async def send_bytes(self, data: bytes) -> None:
        with self._watching():
            await self.socket.send_to(bytes_data=data)

    async def hello(self, since_seq: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Say hello; return the caught-up events (their `event` part) and the seq caught_up names."""
        await self.send({"type": "hello", "since_seq": since_seq})
        events = []
        while (frame := await self.next("event", "caught_up"))["type"] == "event":
            events.append(frame["event"])
        return events, frame["seq"]

    async def command(
        self, command: dict[str, Any], command_id: str, *, expected_seq: int | None = None
    ) -> dict[str, Any]:
        """Send a command; return its answer (ack, rejected, or an error naming the command_id)."""
        frame: dict[str, Any] = {"type": "command", "command_id": command_id, "command": command}
        if expected_seq is not None:
            frame["expected_seq"] = expected_seq
        await self.send(frame)
        return await self.answer(command_id)

    async def answer(self, command_id: str) -> dict[str, Any]:
        for index, frame in enumerate(self.unread):
            if frame.get("command_id") == command_id:
                return self.unread.pop(index)
        while True:
            frame = await self._read()
            if frame.get("command_id") == command_id:
                return frame
            self.unread.append(frame)

    async def events(self, count: int) -> list[dict[str, Any]]:
        return [frame["event"] for frame in await self.take(count, "event")]

    async def close_code(self) -> int:
        """Read up to the server's close; keep the frames before it; return the close code."""
        while True:
            with self._watching():
                message = await self.socket.receive_output(WAIT)
            if message["type"] == "websocket.close":
                return message.get("code", 1000)
            frame = json.loads(message["text"])
            self.frames.append(frame)
            self.unread.append(frame)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        task = self.socket.future
        if task.done() and (task.cancelled() or self.crash_seen):
            return  # a timed-out read or a crash: the test has already failed on it
        await self.socket.disconnect(timeout=STOP)


class Sockets:
    """Opens websockets for a test and closes every one of them at its end."""

    def __init__(self) -> None:
        self.opened: list[Peer] = []

    async def open(
        self, path: str, *, user: Any = None, headers: list[tuple[bytes, bytes]] | None = None
    ) -> Peer:
        """Connect to `path`, authenticating with `user`'s token when given; insist it was accepted."""
        if user is not None:
            path = f"{path}?token={await token_for(user)}"
        socket = WebsocketCommunicator(application, path, headers=headers)
        connected, code = await socket.connect(timeout=WAIT)
        assert connected, f"{path} was refused with {code}"
        peer = Peer(socket, user)
        self.opened.append(peer)
        return peer

    async def item(self, user: Any, item_id: int, *, since_seq: int | None = 0) -> Peer:
        """`user` on the item's socket, its own presence frame checked, caught up unless since_seq is None."""
        peer = await self.open(f"/ws/items/{item_id}/", user=user)
        here = await peer.next("presence")
        assert here["event"] == "here"
        assert here["user"] == {"id": user.pk, "username": user.username}
        if since_seq is not None:
            await peer.hello(since_seq)
        return peer

    async def job(self, user: Any, job_id: int) -> Peer:
        return await self.open(f"/ws/jobs/{job_id}/", user=user)

    async def close_all(self) -> None:
        for peer in self.opened:
            await peer.close()
        # The thread that runs database_sync_to_async keeps its connection; close it so that the test
        # database can be flushed and, at the end of the session, dropped.
        await database_sync_to_async(connections.close_all)()


async def refused(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> int:
    """The close code of a handshake that must be refused (closed before accept)."""
    socket = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await socket.connect(timeout=WAIT)
    await socket.disconnect(timeout=STOP)
    assert not connected, f"{path} was accepted"
    return code


def replay_received(events: list[dict[str, Any]], item: Any) -> dict[str, Any]:
    """The item's state (its public form) as a client rebuilds it from the events it received."""
    state = initial_state(item.image.width, item.image.height)
    for event in events:
        record = event_from_record(event["type"], SCHEMA_VERSION, event["payload"], event["actor"])
        state = evolve(state, record)
        assert state.seq == event["seq"], "an event was applied out of order"
    return state_view(state, item.pk)


def raw_command(command_id: str, command_json: str) -> str:
    """A command frame around command JSON written by hand (to carry what json.dumps would not write)."""
    return f'{{"type":"command","command_id":{json.dumps(command_id)},"command":{command_json}}}'


@database_sync_to_async
def state_over_rest(client: Any, item_id: int) -> dict[str, Any]:
    response = client.get(f"/api/items/{item_id}/state/")
    assert response.status_code == 200, response.content
    return response.json()


@database_sync_to_async
def post_command(client: Any, item_id: int, command: dict[str, Any], command_id: str) -> dict[str, Any]:
    response = client.post(
        f"/api/items/{item_id}/commands/", {"command_id": command_id, "command": command}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


@database_sync_to_async
def stored_events(item_id: int) -> list[dict[str, Any]]:
    """The item's stored events in the form the service broadcasts them."""
    from apps.labeling import store
    from apps.labeling.models import StoredEvent

    return [store.event_dict(row) for row in StoredEvent.objects.filter(item_id=item_id).order_by("seq")]


@database_sync_to_async
def handle_quietly(item_id: int, actor_id: int, command: dict[str, Any]) -> int:
    """Apply a command through the service (as another process would) and leave its broadcast unsent: the
    service returns it and sends nothing itself, so this is a process slow to publish."""
    from apps.labeling.domain import parse_command
    from apps.labeling.services import item_command_handle

    return item_command_handle(item_id=item_id, actor_id=actor_id, command=parse_command(command)).seq


def polygon(shape_id: str, label_class_id: int, points: list[list[float]]) -> dict[str, Any]:
    return {"type": "add_polygon", "shape_id": shape_id, "label_class_id": label_class_id, "points": points}


@database_sync_to_async
def membership_delete_quietly(job_id: int, user: Any) -> None:
    """Delete a membership row without Django's delete, so no signal tells the user's open sockets: only
    the checks made at each frame can notice (as when the broadcast of the change is late or lost)."""
    from apps.labeling.models import JobMember

    with connections["default"].cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {JobMember._meta.db_table} WHERE job_id = %s AND user_id = %s", [job_id, user.pk]
        )
