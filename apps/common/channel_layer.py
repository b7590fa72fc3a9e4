"""channels_redis' publish/subscribe channel layer over a lean Redis connection.

channels_redis (`RedisPubSubChannelLayer`) keeps the groups, channels and message format; only the wire
under it changes. Its connection goes through redis-py's asyncio client, whose machinery around each
command (connection pool, retry wrapper, timeouts, observability hooks) cost a fifth of a server
process's CPU under the websocket load: every command publishes once, and every process reads the
message back. Here each layer holds two plain asyncio connections per Redis host, one that publishes
and one that subscribes, with hiredis parsing the replies (docs/performance.md has the figures).

Delivery is what channels_redis' pub/sub layer gives: at most once. A connection that drops is opened
again (the subscriber re-subscribes to all its channels); what was published meanwhile is lost, and
the websocket consumers read it from the store (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import hiredis
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer
from channels_redis.utils import _wrap_close

log = logging.getLogger(__name__)

RECONNECT_DELAYS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
LostCallback = Callable[["RespProtocol", Exception | None], None]


def command_bytes(*parts: bytes) -> bytes:
    """A Redis command in RESP: an array of bulk strings."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


class RespProtocol(asyncio.Protocol):
    """One Redis connection: commands are written as they come, and each reply or push message that
    hiredis parses from the stream is handed to `on_reply` in order."""

    def __init__(self, on_reply: Callable[[Any], None], on_lost: LostCallback) -> None:
        self.reader = hiredis.Reader(replyError=RedisReplyError)
        self.on_reply, self.on_lost = on_reply, on_lost
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport, though not always a subclass of asyncio.Transport (uvloop's are not).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            self.on_reply(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.on_lost(self, exc)

    def write(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError("the Redis connection is closed")
        self.transport.write(data)


class RedisReplyError(Exception):
    """An error reply of Redis (`-ERR ...`)."""


async def open_connection(url: str, on_reply: Callable[[Any], None], on_lost: LostCallback) -> RespProtocol:
    """A connection to the Redis of `url` (redis:// or rediss://), authenticated when the URL says so."""
    parts = urlsplit(url)
    context = ssl.create_default_context() if parts.scheme == "rediss" else None
    loop = asyncio.get_running_loop()
    # Until the connection is handed over, replies answer this function's own AUTH.
    greeting: asyncio.Future[Any] = loop.create_future()

    def first_reply(reply: Any) -> None:
        if not greeting.done():
            greeting.set_result(reply)
        else:
            on_reply(reply)

    _, protocol = await asyncio.wait_for(
        loop.create_connection(
            lambda: RespProtocol(first_reply, on_lost),
            parts.hostname or "localhost",
            parts.port or 6379,
            ssl=context,
        ),
        5,
    )
    if parts.password is not None:
        auth = [b"AUTH"] + ([unquote(parts.username).encode()] if parts.username else [])
        protocol.write(command_bytes(*auth, unquote(parts.password).encode()))
        reply = await asyncio.wait_for(greeting, 5)
        if isinstance(reply, Exception):
            assert protocol.transport is not None
            protocol.transport.close()
            raise reply
    else:
        greeting.set_result(None)
    protocol.on_reply = on_reply
    return protocol


class LeanShardConnection:
    """What channels_redis' RedisSingleShardConnection does (publish, subscribe, unsubscribe, flush for
    one Redis host), on two connections of our own."""

    def __init__(self, host: dict[str, Any], channel_layer: RedisPubSubLoopLayer) -> None:
        self.url: str = host["address"]
        self.channel_layer = channel_layer
        self._subscribed_to: set[str] = set()
        self._publisher: RespProtocol | None = None
        self._subscriber: RespProtocol | None = None
        self._lock = asyncio.Lock()
        self._resubscribe: asyncio.Task[None] | None = None

    # Publishing ----------------------------------------------------------------------------------------

    async def publish(self, channel: str, message: bytes) -> None:
        if self._publisher is None or self._publisher.transport is None:
            async with self._lock:
                if self._publisher is None or self._publisher.transport is None:
                    self._publisher = await open_connection(self.url, self._published, self._publisher_lost)
        self._publisher.write(command_bytes(b"PUBLISH", channel.encode(), message))

    def _published(self, reply: Any) -> None:
        if isinstance(reply, Exception):  # the count of receivers otherwise, which nobody needs
            log.error("Redis refused a PUBLISH: %s", reply)

    def _publisher_lost(self, connection: RespProtocol, exc: Exception | None) -> None:
        if connection is not self._publisher:
            return  # closed by flush, or already replaced
        self._publisher = None  # opened again by the next publish
        if exc is not None:
            log.warning("Redis publishing connection lost: %s", exc)

    # Subscribing ---------------------------------------------------------------------------------------

    async def subscribe(self, channel: str) -> None:
        if channel in self._subscribed_to:
            return
        self._subscribed_to.add(channel)
        subscriber = await self._subscriber_ready()
        if subscriber is not None:
            self._write(subscriber, command_bytes(b"SUBSCRIBE", channel.encode()))

    async def unsubscribe(self, channel: str) -> None:
        if channel not in self._subscribed_to:
            return
        self._subscribed_to.discard(channel)
        if self._subscriber is not None:
            self._write(self._subscriber, command_bytes(b"UNSUBSCRIBE", channel.encode()))

    @staticmethod
    def _write(subscriber: RespProtocol, command: bytes) -> None:
        # Closing: the reconnection subscribes to every channel still wanted.
        with contextlib.suppress(ConnectionError):
            subscriber.write(command)

    async def _subscriber_ready(self) -> RespProtocol | None:
        """The subscribing connection, opened if need be; None while it is being opened again (the
        reconnection subscribes to every channel, this one included)."""
        if self._subscriber is not None and self._subscriber.transport is not None:
            return self._subscriber
        if self._resubscribe is not None and not self._resubscribe.done():
            return None
        async with self._lock:
            if self._subscriber is None or self._subscriber.transport is None:
                self._subscriber = await open_connection(self.url, self._received, self._subscriber_lost)
        return self._subscriber

    def _received(self, reply: Any) -> None:
        if isinstance(reply, Exception):
            log.error("Redis refused a subscription command: %s", reply)
            return
        if isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message":
            self._deliver(reply[1].decode(), reply[2])

    def _deliver(self, name: str, data: bytes) -> None:
        """Hand a message to the queues of its channel, or of every channel of its group (as
        channels_redis' own receiver does)."""
        layer = self.channel_layer
        if name in layer.channels:
            layer.channels[name].put_nowait(data)
        elif name in layer.groups:
            for channel in layer.groups[name]:
                if channel in layer.channels:
                    layer.channels[channel].put_nowait(data)

    def _subscriber_lost(self, connection: RespProtocol, exc: Exception | None) -> None:
        if connection is not self._subscriber:
            return  # closed by flush, or already replaced
        self._subscriber = None
        if not self._subscribed_to:
            return
        log.warning("Redis subscribing connection lost (%s); opening it again", exc)
        self._resubscribe = asyncio.ensure_future(self._reconnect())

    async def _reconnect(self) -> None:
        attempt = 0
        while True:
            try:
                subscriber = await open_connection(self.url, self._received, self._subscriber_lost)
            except (OSError, TimeoutError, RedisReplyError) as exc:
                delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
                log.warning("Redis is not answering (%s); trying again in %g s", exc, delay)
                attempt += 1
                await asyncio.sleep(delay)
                continue
            self._subscriber = subscriber
            if self._subscribed_to:
                subscriber.write(command_bytes(b"SUBSCRIBE", *(c.encode() for c in self._subscribed_to)))
            return

    # Flush ---------------------------------------------------------------------------------------------

    async def flush(self) -> None:
        if self._resubscribe is not None:
            self._resubscribe.cancel()
        connections = (self._publisher, self._subscriber)
        self._publisher = self._subscriber = None
        self._subscribed_to = set()
        for connection in connections:
            if connection is not None and connection.transport is not None:
                connection.transport.close()
        await asyncio.sleep(0)  # let the transports close


class LeanPubSubLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shards = [LeanShardConnection(shard.host, self) for shard in self._shards]


class LeanPubSubChannelLayer(RedisPubSubChannelLayer):
    """`RedisPubSubChannelLayer` (same settings: hosts as redis:// or rediss:// URLs, prefix, serializer)
    on `LeanShardConnection`s."""

    def _get_layer(self) -> RedisPubSubLoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = LeanPubSubLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return layer
