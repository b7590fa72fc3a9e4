"""The embedded default's channel layer: Channels' in-memory layer, safe to send on from any thread.

The in-memory layer keeps each channel's messages in asyncio queues that the server's event loop reads.
A send from another thread (an import running in a worker thread of its own, a script) runs on a loop of
its own, and waking the server loop's readers from there is not thread-safe. This layer notes the loop
its readers wait in (the first `receive`) and runs every send made on any other loop there instead.
With Redis (several processes) the layer is channels_redis', which has no such limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from channels.layers import InMemoryChannelLayer


class EmbeddedChannelLayer(InMemoryChannelLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._readers_loop: asyncio.AbstractEventLoop | None = None

    @property
    def listening(self) -> bool:
        """Whether anyone can be reading: a consumer has received on a loop that still runs. Without
        one, a broadcast has nobody to reach, and its messages need not even be built."""
        loop = self._readers_loop
        return loop is not None and loop.is_running()

    async def receive(self, channel: str) -> dict[str, Any]:
        self._readers_loop = asyncio.get_running_loop()
        return await super().receive(channel)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        await self._on_readers_loop(super().send, channel, message)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        await self._on_readers_loop(super().group_send, group, message)

    async def _on_readers_loop(self, call: Callable[..., Awaitable[None]], *args: Any) -> None:
        loop = self._readers_loop
        if loop is None or not loop.is_running() or loop is asyncio.get_running_loop():
            await call(*args)
            return
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call(*args), loop))
