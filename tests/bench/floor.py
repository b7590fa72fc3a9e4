"""The floors `make bench` sets polylog's figures against, served beside polylog by tests/bench/asgi.py.

A floor does the least a server can do for the same answer, on the same Daphne, Django, Channels, database
and channel layer, so that a ratio to it measures polylog's own code and not the machine (docs/performance.md,
"Performance guard"):

- `Echo`: a websocket frame sent straight back; the floor of one client's command -> ack.
- `FloorConsumer`: per command frame, one row with a unique (stream, seq) key in its own table, a
  `group_send` of it to the stream's group over the channel layer, and an ack; the floor of the load. It
  speaks polylog's `command`, `ack` and `event` frames, so the bench drives it with polylog's own client.
  Library parts only: `AsyncJsonWebsocketConsumer`, `database_sync_to_async`, a Django cursor.
- `FloorCommand`: a DRF view with the API's authentication and permission classes that answers 201; the
  floor of a command over REST.
"""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.db import IntegrityError, connection
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tests.bench.floor_table import insert_sql

# Two writers of a stream that read the same last seq collide on the key; the later one reads again.
INSERT_ATTEMPTS = 20


def stored_event(stream: int, command_id: str, body: str) -> int:
    """Store one event as the next seq of `stream` (committed on its own); its seq."""
    sql = insert_sql(connection.vendor)
    for _ in range(INSERT_ATTEMPTS):
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, [stream, command_id, body, stream])
                return int(cursor.fetchone()[0])
        except IntegrityError:
            continue  # another writer took that seq first
    raise RuntimeError(f"stream {stream}: no free seq after {INSERT_ATTEMPTS} attempts")


# On the loop's default executor, a few threads (thread_sensitive=False): with Channels' default, every
# database call of the process queues for one thread, and the floor made 30-40% fewer events a second than
# on these (3 alternating rounds each, on the same Daphnes); polylog runs its commands on 2 threads.
event_insert = database_sync_to_async(stored_event, thread_sensitive=False)


class Echo(AsyncWebsocketConsumer):
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data, bytes_data=bytes_data)


class FloorConsumer(AsyncJsonWebsocketConsumer):
    """`/ws/floor/items/<item_id>/`: the item's id is the stream. No hello, history, order or refusals:
    events go out as they are stored, so two writers of a stream may deliver them out of seq order."""

    async def connect(self) -> None:
        self.stream = int(self.scope["url_route"]["kwargs"]["item_id"])
        self.group = f"floor.{self.stream}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        if content.get("type") != "command":
            return
        command_id, command = content["command_id"], content["command"]
        seq = await event_insert(self.stream, command_id, json.dumps(command))
        event = {"seq": seq, "type": command.get("type"), "payload": command, "command_id": command_id}
        await self.channel_layer.group_send(self.group, {"type": "floor.event", "event": event})
        await self.send_json({"type": "ack", "command_id": command_id, "seq": seq})

    async def floor_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "event", "event": message["event"]})


class FloorCommand(APIView):
    """POST /api/floor/items/<item_id>/commands/ (tests/bench/urls.py): authenticated as the API is (the
    default classes of REST_FRAMEWORK), then 201 and nothing else; the body is not even read."""

    def post(self, request: Request, item_id: int) -> Response:
        return Response(status=status.HTTP_201_CREATED)
