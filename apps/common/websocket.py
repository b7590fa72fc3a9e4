"""What every websocket of the site shares: JSON frames read and checked one way, error frames with a stable
code, a frame-size cap, an idle timeout, and per-connection rate budgets.

A consumer names its frame handlers (`frame_handlers`) and, when a frame may name a target, refuses one
that names another (`wrong_target`); everything else about a frame (its size, its JSON, its `type`) is
checked here, and every malformed frame is answered with an `error` frame while the connection stays usable.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from . import metrics
from .logs import log_context

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_IDLE = 4408
CLOSE_MESSAGE_TOO_BIG = 1009
# The user's access shrank while the socket was open (removed, a lower role, deactivated, no longer staff):
# the socket closes at once; a client may connect again with what is left.
CLOSE_ACCESS_REVOKED = 4403

FrameHandler = Callable[[dict[str, Any]], Awaitable[None]]

# The sockets open on this process: the open-sockets gauge counts them, and a graceful stop
# (apps/common/stopping.py) closes each once the frame it is handling is answered.
open_sockets: set[JsonFrameConsumer] = set()
metrics.open_sockets_from(lambda: len(open_sockets))


def limits() -> dict[str, Any]:
    return settings.POLYLOG


class TokenBucket:
    """`rate` tokens a second up to `burst`; `take()` says whether one was available."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


async def send_unless_gone(
    send: Callable[[dict[str, Any]], Awaitable[None]], message: dict[str, Any]
) -> None:
    """Send, unless the peer is already gone: a frame that was on its way (a presence change, an event)
    when the client closed or a close of ours began is not an error. Daphne's autobahn refuses such a
    send with Disconnected (many sockets closing at once logged its tracebacks)."""
    try:
        await send(message)
    except Disconnected:
        log.debug("websocket already closed; %s not sent", message.get("type"))


class JsonFrameConsumer(AsyncWebsocketConsumer):
    """JSON frames in and out, error replies, the frame cap and the idle timeout.

    `revoked` set, the socket sends and takes nothing more (its user's access fell while it was open)."""

    revoked = False
    stopping = False
    watchdog: asyncio.Future[None] | None = None

    def frame_handlers(self) -> dict[str, FrameHandler]:
        return {"ping": self.on_ping}

    def wrong_target(self, frame: dict[str, Any]) -> tuple[str, str] | None:
        """(code, message) when the frame names another target than this socket's."""
        return None

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        await super().accept(subprotocol, headers)
        self.last_frame = time.monotonic()
        self.watchdog = asyncio.ensure_future(self.watch_idle())
        open_sockets.add(self)
        user = self.scope.get("user")
        log_context.set({"socket": self.scope.get("path"), "user_id": getattr(user, "pk", None)})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.turn = asyncio.Lock()  # held while a message is handled; a graceful stop waits for it
        try:
            await super().__call__(scope, receive, functools.partial(send_unless_gone, send))
        finally:  # however the consumer ends, a disconnect or a cancellation
            open_sockets.discard(self)

    async def server_stopping(self, code: int) -> None:
        """The process is stopping: the message in hand is handled to its end (a command is acked and
        broadcast), no frame after it is taken, and the socket closes with `code`."""
        self.stopping = True
        async with self.turn:
            await self.close(code=code)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' AsyncConsumer.dispatch without its hop to the shared sync thread: that one runs
        close_old_connections() before every message (every frame and every group message), which makes
        all sockets of the process wait in turn for that one thread. Every database call of a consumer
        closes old connections in its own thread around the call (database_sync_to_async, or
        consumers._with_connections), so the hop buys nothing; it cost about a third more CPU per
        command under the load (docs/performance.md, A/B of issue 18)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        if self.stopping and message["type"] == "websocket.receive":
            return  # came after the stop began: unanswered, so the client sends it again where it reconnects
        async with self.turn:
            await handler(message)

    async def send_json(self, content: dict[str, Any]) -> None:
        if not self.revoked:
            await self.send(text_data=json.dumps(content, separators=(",", ":")))

    async def error(self, code: str, message: str, **extra: Any) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, **extra})

    async def disconnect(self, code: int) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()

    async def watch_idle(self) -> None:
        idle = limits()["WS_IDLE_SECONDS"]
        while True:
            await asyncio.sleep(max(0.05, idle - (time.monotonic() - self.last_frame)))
            if time.monotonic() - self.last_frame >= idle:
                await self.error("idle_timeout", f"No frame for {idle:g} s; closing.")
                await self.close(code=CLOSE_IDLE)
                return

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.revoked:
            return
        self.last_frame = time.monotonic()
        frame = await self.frame_read(text_data)
        if frame is None:
            return
        wrong = self.wrong_target(frame)
        if wrong is not None:
            await self.refuse(frame, *wrong)
            return
        handlers = self.frame_handlers()
        handler = handlers.get(frame["type"])
        if handler is None:
            known = ", ".join(handlers)
            await self.error("unknown_type", f"Unknown frame type {frame['type'][:40]!r}; known: {known}.")
            return
        try:
            await handler(frame)
        except Exception:  # a bug must cost one frame, not the connection
            log.exception(
                "websocket frame %r failed",
                frame.get("type"),
                extra={"frame": frame.get("type"), "command_id": frame.get("command_id")},
            )
            # A command is answered by its id, so the client stops waiting for its ack and can send it again.
            command_id = frame.get("command_id") if frame["type"] == "command" else None
            await self.error(
                "internal_error",
                "The server failed to handle this frame; it has been logged.",
                **({"command_id": command_id} if isinstance(command_id, str) else {}),
            )

    async def frame_read(self, text_data: str | None) -> dict[str, Any] | None:
        """The frame as a JSON object with a `type` string, or None once the client was told what is wrong."""
        if text_data is None:
            await self.error("invalid_frame", "Frames are JSON text, not binary.")
            return None
        cap = limits()["WS_MAX_FRAME_BYTES"]
        # A character is at most 4 bytes in UTF-8: encode only when the count of characters can't tell.
        size = len(text_data) if 4 * len(text_data) <= cap else len(text_data.encode())
        if size > cap:
            # As Daphne does above the same cap (apps/common/websocket_server.py): 1009, message too big.
            await self.error("frame_too_large", f"A frame is at most {cap} bytes; this one has {size}.")
            await self.close(code=CLOSE_MESSAGE_TOO_BIG)
            return None
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
            await self.error("invalid_json", f"The frame is not JSON: {str(exc)[:200]}.")
            return None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.error("invalid_frame", "A frame is a JSON object with a 'type' string.")
            return None
        return frame

    async def refuse(self, frame: dict[str, Any], code: str, message: str) -> None:
        """Refuse a frame: an error frame, which a consumer may answer otherwise (a command, by its id)."""
        await self.error(code, message)

    async def on_ping(self, frame: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})
