"""The embedded default's channel layer takes sends from any thread: a message sent from a thread with an
event loop of its own (an import's worker) is put in the queues by the server's loop, where their reader
waits (asyncio queues are not thread-safe), and reaches the reader."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer

from apps.common.embedded_layer import EmbeddedChannelLayer


def test_a_group_send_from_another_thread_is_made_on_the_servers_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made_in: list[int] = []
    plain_group_send = InMemoryChannelLayer.group_send

    async def spied(self: Any, group: str, message: dict[str, Any]) -> None:
        made_in.append(threading.get_ident())
        await plain_group_send(self, group, message)

    monkeypatch.setattr(InMemoryChannelLayer, "group_send", spied)
    layer = EmbeddedChannelLayer()
    assert not layer.listening  # nobody has received yet: nothing to reach

    async def serve() -> dict[str, Any]:
        channel = await layer.new_channel()
        await layer.group_add("item.1", channel)
        reading = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0)  # the reader waits on this loop now
        assert layer.listening
        worker = threading.Thread(
            target=async_to_sync(layer.group_send), args=("item.1", {"type": "item.events", "n": 1})
        )
        worker.start()
        message = await asyncio.wait_for(reading, timeout=10)
        await asyncio.get_running_loop().run_in_executor(None, worker.join)
        return message

    assert asyncio.run(serve()) == {"type": "item.events", "n": 1}
    assert made_in == [threading.get_ident()]  # this thread ran the server's loop
