"""The bench's floor servers do what docs/performance.md says they do (that they work, not how fast)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connection, connections
from django.urls import path
from rest_framework.test import APIClient

from tests.bench import floor
from tests.bench.floor import FloorConsumer
from tests.bench.floor_table import TABLE, table_sql

WAIT = 5.0

floor_application = URLRouter([path("ws/floor/items/<int:item_id>/", FloorConsumer.as_asgi())])


@pytest.fixture
def floor_table(transactional_db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(table_sql(connection.vendor))
    # The servers insert on the loop's executor threads, whose connections a test cannot reach to close;
    # here on Channels' one database thread, whose connection the test closes (a test database with a
    # connection still open cannot be dropped).
    monkeypatch.setattr(floor, "event_insert", database_sync_to_async(floor.stored_event))
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {TABLE}")


@database_sync_to_async
def stored() -> list[tuple[int, int, str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT stream, seq, command_id, body FROM {TABLE} ORDER BY stream, seq")
        return [
            (stream, seq, command_id, body if isinstance(body, dict) else json.loads(body))
            for stream, seq, command_id, body in cursor.fetchall()
        ]


async def connected(item_id: int) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(floor_application, f"/ws/floor/items/{item_id}/")
    connected, _ = await socket.connect(timeout=WAIT)
    assert connected
    return socket


def command_frame(command_id: str, x: float) -> dict[str, Any]:
    command = {"type": "add_vertex", "shape_id": "s1", "x": x, "y": 2.0}
    return {"type": "command", "command_id": command_id, "command": command}


@pytest.mark.asyncio
async def test_floor_stores_each_command_as_the_next_seq_broadcasts_it_and_acks(floor_table: None) -> None:
    writer, watcher, elsewhere = await connected(7), await connected(7), await connected(8)
    try:
        await writer.send_json_to(command_frame("c1", 1.0))
        writer_got = [await writer.receive_json_from(WAIT) for _ in range(2)]
        watcher_got = [await watcher.receive_json_from(WAIT)]
        await watcher.send_json_to(command_frame("c2", 3.0))
        watcher_got += [await watcher.receive_json_from(WAIT) for _ in range(2)]
        writer_got += [await writer.receive_json_from(WAIT)]

        # Every socket on the stream gets each event (the sender too, through the group); each sender its ack.
        events = [
            {
                "type": "event",
                "event": {"seq": seq, "type": "add_vertex", "payload": command, "command_id": cid},
            }
            for seq, cid, command in (
                (1, "c1", command_frame("c1", 1.0)["command"]),
                (2, "c2", command_frame("c2", 3.0)["command"]),
            )
        ]
        assert sorted(writer_got, key=json.dumps) == sorted(
            [*events, {"type": "ack", "command_id": "c1", "seq": 1}], key=json.dumps
        )
        assert sorted(watcher_got, key=json.dumps) == sorted(
            [*events, {"type": "ack", "command_id": "c2", "seq": 2}], key=json.dumps
        )
        # A socket on another stream gets none.
        assert await elsewhere.receive_nothing()
        assert await stored() == [
            (7, 1, "c1", command_frame("c1", 1.0)["command"]),
            (7, 2, "c2", command_frame("c2", 3.0)["command"]),
        ]
    finally:
        for socket in (writer, watcher, elsewhere):
            await socket.disconnect()
        await database_sync_to_async(connections.close_all)()


@pytest.mark.urls("tests.bench.urls")
def test_rest_floor_answers_201_to_a_token_and_401_without(db: Any, make_user: Any) -> None:
    from apps.accounts.tokens import token_create

    token = token_create(user=make_user("floor")).token
    body = {"command_id": "c1", "command": {"type": "save"}}
    client = APIClient()
    assert client.post("/api/floor/items/1/commands/", body, format="json").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.post("/api/floor/items/1/commands/", body, format="json").status_code == 201
