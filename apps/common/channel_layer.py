"""channels_redis' publish/subscribe channel layer over a lean Redis connection.

channels_redis (`RedisPubSubChannelLayer`) keeps the groups, channels and message format; only the wire
under it changes. The stock layer talks to Redis through redis-py's asyncio client: every publish of a
process holds one lock until its reply is back, every command passes the client's connection pool, retry
wrapper and observability hooks, and the receiver asks for the next message in a loop with a 0.1 s
timeout. Here each layer holds two plain asyncio connections per Redis host, one that publishes without
waiting for the reply and one that subscribes, with hiredis parsing the replies as they arrive.

Measured against the stock layer under the websocket load of `make bench` (tests/bench/ab.py, alternating
rounds; docs/performance.md, "The Redis connection"): 20% less of the machine's CPU per command (the
Daphnes' 25% less), 1.25 times the events a second and 0.6 times the ack p99, on a quiet machine; 14% less
CPU as the median of 56 round pairs over six runs on a busy one. That is why this module exists: issue 18
keeps a replacement of a library part only for 10% or more.

What redis-py did for the stock layer and this module does itself, each covered by
tests/integration/test_channel_layer.py: rediss:// (TLS, the server's certificate and name checked;
`?ssl_ca_certs=<PEM file>` adds a certificate authority; other URL options are refused, not ignored),
a password (and a user name, for Redis' ACLs), and reconnecting. The URL's database number only names
the channels' prefix (config/settings.py): Redis' publish/subscribe channels ignore databases.

Delivery is what channels_redis' pub/sub layer gives: at most once. A connection that drops is opened
again (the subscriber re-subscribes to all its channels, trying again after 0.05 s up to every 2 s while
Redis does not answer; the publisher at the next publish); what was published meanwhile is lost, and the
websocket consumers read it from the store (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import hiredis
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer
from channels_redis.utils import _wrap_close, decode_hosts

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

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def write(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError("the Redis connection is closed")
        self.transport.write(data)


class RedisReplyError(Exception):
    """An error reply of Redis (`-ERR ...`)."""


# What a URL may say besides scheme, credentials, host, port and database: the certificate authorities a
# rediss:// server's certificate is checked against (a PEM file), beside the system's, as redis-py reads it.
URL_OPTIONS = frozenset({"ssl_ca_certs"})


def url_checked(url: str) -> str:
    """`url` if this layer can connect as it says; ValueError naming what it cannot do. A URL option that
    redis-py would read and this layer did not (a timeout, a client certificate) must not be dropped
    without a word."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"the channel layer connects to redis:// or rediss:// URLs, not {parts.scheme}://")
    unknown = sorted(set(parse_qs(parts.query)) - URL_OPTIONS)
    if unknown:
        raise ValueError(f"the channel layer does not read {', '.join(unknown)} in a Redis URL")
    return url


def tls_context(url: str) -> ssl.SSLContext | None:
    """For rediss://: the server's certificate checked, and its name, as redis-py does by default."""
    parts = urlsplit(url)
    if parts.scheme != "rediss":
        return None
    context = ssl.create_default_context()
    for authorities in parse_qs(parts.query).get("ssl_ca_certs", []):
        context.load_verify_locations(cafile=authorities)
    return context


async def open_connection(url: str, on_reply: Callable[[Any], None], on_lost: LostCallback) -> RespProtocol:
    """A connection to the Redis of `url` (redis://, or rediss:// over TLS), authenticated when the URL
    has a password (and a user name, for Redis' ACLs)."""
    parts = urlsplit(url)
    context = tls_context(url)
    loop = asyncio.get_running_loop()
    # Until the connection is handed over, the reply answers this function's own AUTH or PING.
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
    # The first command's reply says whether Redis serves this connection: commands that follow are
    # not answered one by one (a PUBLISH's reply is not awaited), so a refusal must show here.
    if parts.password is not None:
        user = [unquote(parts.username).encode()] if parts.username else []
        protocol.write(command_bytes(b"AUTH", *user, unquote(parts.password).encode()))
    else:
        protocol.write(command_bytes(b"PING"))  # refused (NOAUTH) by a Redis that wants a password
    try:
        reply = await asyncio.wait_for(greeting, 5)
    except BaseException:
        protocol.close()
        raise
    if isinstance(reply, Exception):
        protocol.close()
        raise reply
    protocol.on_reply = on_reply
    return protocol


class LeanShardConnection:
    """What channels_redis' RedisSingleShardConnection does (publish, subscribe, unsubscribe, flush for
    one Redis host), on two connections of our own."""

    def __init__(self, host: dict[str, Any], channel_layer: RedisPubSubLoopLayer) -> None:
        self.url: str = url_checked(host["address"])
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for host in decode_hosts(kwargs.get("hosts", args[0] if args else None)):
            if "address" not in host:
                raise ValueError(f"the channel layer's hosts are redis:// or rediss:// URLs, not {host}")
            url_checked(host["address"])  # at the layer's first use, not at its first broadcast

    def _get_layer(self) -> RedisPubSubLoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = LeanPubSubLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return layer
