"""Who is on an item, and where their pointers are: what an item socket sends and hears besides events.

Presence needs no shared store, across processes too: a socket that joins says so to the item's group,
and each socket there answers the newcomer directly. Cursor positions past the rate are coalesced.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

from channels.db import database_sync_to_async

from apps.common.websocket import JsonFrameConsumer, TokenBucket, limits

from . import live
from .signals import item_presence

log = logging.getLogger(__name__)

# How often an open socket tells item_presence's receivers it is still there (its pings come more often).
PRESENCE_ALIVE_SECONDS = 30.0


@database_sync_to_async
def _presence_signal(item_id: int, user_id: int, channel: str, what: str) -> None:
    """Tell the receivers (apps/review records open images); a receiver's failure is logged, and the
    socket goes on: presence rows only steer "Start labeling"."""
    for receiver, result in item_presence.send_robust(
        None, item_id=item_id, user_id=user_id, channel=channel, what=what
    ):
        if isinstance(result, Exception):
            log.error("item_presence receiver %r failed", receiver, exc_info=result)


def user_info(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "username": user.get_username()}


class PresenceMixin(JsonFrameConsumer):
    """For ItemConsumer, which sets `user`, `group`, `present` (channel -> user, this socket's own among
    them) and the `cursors` budget at connect."""

    user: Any
    group: str | None
    present: dict[str, dict[str, Any]]
    cursors: TokenBucket
    cursor_pending: tuple[float, float] | None = None
    cursor_flush: asyncio.Future[None] | None = None
    item_id: int
    presence_told_at: float = 0.0  # when item_presence last heard from this socket (0: never)

    async def presence_tell(self, what: str) -> None:
        if what == "alive" and (
            not self.presence_told_at or time.monotonic() - self.presence_told_at < PRESENCE_ALIVE_SECONDS
        ):
            return
        self.presence_told_at = time.monotonic() if what != "left" else 0.0
        await _presence_signal(self.item_id, self.user.pk, self.channel_name, what)

    async def disconnect(self, code: int) -> None:
        if self.presence_told_at:
            await self.presence_tell("left")
        await super().disconnect(code)

    async def on_ping(self, frame: dict[str, Any]) -> None:
        await self.presence_tell("alive")
        await super().on_ping(frame)

    async def on_cursor(self, frame: dict[str, Any]) -> None:
        await self.presence_tell("alive")
        x, y = frame.get("x"), frame.get("y")
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (x, y)
        ):
            await self.error("invalid_frame", "cursor needs finite numbers x and y.")
            return
        # Past the rate, positions are coalesced: the latest one goes out as soon as the rate allows,
        # so the others never keep a stale cursor when a quick movement stops.
        self.cursor_pending = (x, y)
        if self.cursor_flush is None:
            if self.cursors.take():
                await self.flush_cursor()
            else:
                self.cursor_flush = asyncio.ensure_future(self.flush_cursor_later())

    async def flush_cursor(self) -> None:
        if self.cursor_pending is None:
            return
        x, y = self.cursor_pending
        self.cursor_pending = None
        await self.channel_layer.group_send(
            self.group,
            {
                "type": live.CURSOR_MOVED,
                "channel": self.channel_name,
                "user": user_info(self.user),
                "x": x,
                "y": y,
            },
        )

    async def flush_cursor_later(self) -> None:
        try:
            while not self.cursors.take():
                await asyncio.sleep(1 / limits()["WS_CURSORS_PER_SECOND"])
            await self.flush_cursor()
        finally:
            self.cursor_flush = None

    def _users(self) -> list[dict[str, Any]]:
        return list({u["id"]: u for u in self.present.values()}.values())

    async def _presence(self, event: str, user: dict[str, Any]) -> None:
        await self.send_json({"type": "presence", "event": event, "user": user, "users": self._users()})

    async def presence_join(self, message: dict[str, Any]) -> None:
        if message["channel"] == self.channel_name:
            # Recorded before the socket hears its own "here": a page that shows itself present is known
            # to be on the image (apps/review's "Start labeling" passes over it).
            await self.presence_tell("joined")
            await self._presence("here", message["user"])
            return
        self.present[message["channel"]] = message["user"]
        await self._presence("join", message["user"])
        # Tell the newcomer we are here: presence needs no shared store, across processes too.
        await self.channel_layer.send(
            message["channel"],
            {"type": live.PRESENCE_HERE, "channel": self.channel_name, "user": user_info(self.user)},
        )

    async def presence_here(self, message: dict[str, Any]) -> None:
        if message["channel"] not in self.present:
            self.present[message["channel"]] = message["user"]
            await self._presence("here", message["user"])

    async def presence_leave(self, message: dict[str, Any]) -> None:
        if self.present.pop(message["channel"], None) is not None and message["channel"] != self.channel_name:
            await self._presence("leave", message["user"])

    async def cursor_moved(self, message: dict[str, Any]) -> None:
        if message["channel"] != self.channel_name:
            await self.send_json(
                {"type": "cursor", "user": message["user"], "x": message["x"], "y": message["y"]}
            )
