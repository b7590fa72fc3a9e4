"""The websocket consumers' own machinery under Channels: the dispatch loop and the command threads."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer

from apps.labeling.consumers import CommandThreads, LiveConsumer

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


async def test_command_threads_return_results_and_raise_errors_in_the_awaiting_coroutine() -> None:
    threads = CommandThreads(2, "test-command")
    assert await threads.run(lambda: threading.current_thread().name) in {"test-command_0", "test-command_1"}
    with pytest.raises(ZeroDivisionError):
        await threads.run(lambda: 1 / 0)
    assert await asyncio.gather(*(threads.run(lambda n=n: n * n) for n in range(20))) == [
        n * n for n in range(20)
    ]


async def test_a_call_whose_waiter_is_cancelled_still_runs_and_the_threads_go_on() -> None:
    threads = CommandThreads(1, "test-cancel")
    release, ran = threading.Event(), threading.Event()

    def slow() -> str:
        release.wait(5)
        ran.set()
        return "late"

    waiter = threads.run(slow)
    waiter.cancel()  # the socket that waited went away
    release.set()
    assert await threads.run(lambda: "next") == "next"  # after `slow`: one thread, in order
    assert ran.is_set()
