"""The websocket consumers under Channels: its dispatch loop as the consumers rely on it, and the command threads."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer

from apps.labeling import consumers
from apps.labeling.consumers import LiveConsumer

pytestmark = pytest.mark.asyncio


class Recorder(LiveConsumer):
    """Records what it is handed, in the order handled; `stop` raises StopConsumer, `boom` a bug."""

    def __init__(self) -> None:
        super().__init__()
        self.handled: list[str] = []
        self.inside = 0
        self.overlapped = False

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        await self.note(message["text"])

    async def test_note(self, message: dict[str, Any]) -> None:
        await self.note(message["text"])

    async def note(self, text: str) -> None:
        self.inside += 1
        self.overlapped |= self.inside > 1
        await asyncio.sleep(0.001)  # a handler that awaits: another message must not start meanwhile
        self.inside -= 1
        if text == "stop":
            raise StopConsumer
        if text == "boom":
            raise RuntimeError("a bug in a handler")
        self.handled.append(text)


async def run_consumer(
    socket_frames: list[str], layer_texts: list[str]
) -> tuple[Recorder, asyncio.Task[None]]:
    consumer = Recorder()
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for text in socket_frames:
        inbox.put_nowait({"type": "websocket.receive", "text": text})
    task = asyncio.ensure_future(consumer({"type": "websocket"}, inbox.get, lambda message: asyncio.sleep(0)))
    while not hasattr(consumer, "channel_name"):
        await asyncio.sleep(0)
    for text in layer_texts:
        await get_channel_layer().send(consumer.channel_name, {"type": "test.note", "text": text})
    return consumer, task


async def test_messages_of_both_sources_are_handled_one_at_a_time_and_each_source_in_order() -> None:
    consumer, task = await run_consumer(["s1", "s2", "s3"], ["l1", "l2", "l3"])
    async with asyncio.timeout(5):
        while len(consumer.handled) < 6:
            await asyncio.sleep(0.005)
    assert not consumer.overlapped
    assert [t for t in consumer.handled if t[0] == "s"] == ["s1", "s2", "s3"]
    assert [t for t in consumer.handled if t[0] == "l"] == ["l1", "l2", "l3"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_stop_consumer_from_a_handler_ends_the_consumer_and_what_follows_is_not_handled() -> None:
    consumer, task = await run_consumer(["s1", "stop", "s2"], [])
    async with asyncio.timeout(5):
        await task  # ends without an error
    assert consumer.handled == ["s1"]


async def test_a_handler_bug_ends_the_consumer_with_that_error_as_channels_does() -> None:
    consumer, task = await run_consumer([], ["boom"])
    with pytest.raises(RuntimeError, match="a bug in a handler"):
        async with asyncio.timeout(5):
            await task


@pytest.mark.django_db(transaction=True)
async def test_commands_run_on_the_command_threads_not_on_the_one_thread_of_channels_database_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran_on: list[str] = []

    def handle(**command: Any) -> Any:
        ran_on.append(threading.current_thread().name)
        return SimpleNamespace(seq=1, broadcasts=[])

    monkeypatch.setattr(consumers, "item_command_handle", handle)
    monkeypatch.setattr(consumers.live, "messages", lambda broadcasts: [])
    results = await asyncio.gather(*(consumers._command_handle(item_id=n) for n in range(4)))

    assert results == [(1, [])] * 4
    assert ran_on and all(name.startswith("command") for name in ran_on)


async def test_a_sockets_messages_are_handled_while_channels_shared_sync_thread_is_busy() -> None:
    # Channels' own dispatch would wait for that thread before every message (close_old_connections()).
    release = threading.Event()
    busy = asyncio.ensure_future(sync_to_async(release.wait)(10))
    try:
        consumer, task = await run_consumer(["s1"], ["l1"])
        async with asyncio.timeout(5):
            while len(consumer.handled) < 2:
                await asyncio.sleep(0.005)
        assert not busy.done()
    finally:
        release.set()
        await busy
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
