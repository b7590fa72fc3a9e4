"""The Redis channel layer of settings: publish/subscribe channels are shared by all of a Redis server's
databases, so each REDIS_URL database gets its own prefix and two deployments on one Redis stay apart.

Needs Redis on its standard local port: skipped without it, except on CI (CI=true).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio
from django.utils.module_loading import import_string

from config.settings import redis_channel_layer
from tests.conftest import service_missing
from tests.live_servers import REDIS_BASE_URL, Unavailable, redis_flushed

# How long a condition the tests wait for may take before the test fails: a deadline, not a measurement.
DEADLINE_SECONDS = 5.0


def layer_on(database: int) -> Any:
    try:
        url = redis_flushed(database)
    except Unavailable as exc:
        service_missing(exc, "Redis on its standard local port")
    spec = redis_channel_layer(url)
    return import_string(spec["BACKEND"])(**spec["CONFIG"])


def group_channel(database: int, group: str) -> str:
    """The Redis publish/subscribe channel that carries `group`'s messages (as channels_redis names it)."""
    prefix = redis_channel_layer(f"{REDIS_BASE_URL}/{database}")["CONFIG"]["prefix"]
    return f"{prefix}__group__{group}"


async def until_subscribed(expected: dict[str, int]) -> None:
    """Wait until Redis counts `expected` subscribers on each channel (subscribing is asynchronous: a
    layer sends SUBSCRIBE and goes on), or fail once the deadline passes."""
    client = redis.asyncio.Redis.from_url(REDIS_BASE_URL)
    counts: dict[str, int] = {}
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            while True:
                counts = {name.decode(): n for name, n in await client.pubsub_numsub(*expected)}
                if counts == expected:
                    return
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"Redis has {counts} subscribers, not {expected}, after {DEADLINE_SECONDS} s")
    finally:
        await client.aclose()


async def received(layer: Any, channel: str, wait: float) -> list[dict[str, Any]]:
    out = []
    try:
        while True:
            out.append(await asyncio.wait_for(layer.receive(channel), wait))
    except TimeoutError:
        return out


def test_the_prefix_names_the_database_of_the_url(monkeypatch: Any) -> None:
    monkeypatch.delenv("POLYLOG_CHANNEL_PREFIX", raising=False)
    assert redis_channel_layer("redis://127.0.0.1:6379/3")["CONFIG"]["prefix"] == "polylog.db3."
    assert redis_channel_layer("redis://127.0.0.1:6379")["CONFIG"]["prefix"] == "polylog.db0."
    monkeypatch.setenv("POLYLOG_CHANNEL_PREFIX", "site-a.")
    assert redis_channel_layer("redis://127.0.0.1:6379/3")["CONFIG"]["prefix"] == "site-a."


@pytest.mark.asyncio
async def test_group_sends_reach_the_layers_on_the_same_database_and_not_those_on_another() -> None:
    here, same, other = layer_on(11), layer_on(11), layer_on(12)
    mine, twin, stranger = [await layer.new_channel() for layer in (here, same, other)]
    for layer, channel in ((here, mine), (same, twin), (other, stranger)):
        await layer.group_add("item.7", channel)
    await until_subscribed({group_channel(11, "item.7"): 2, group_channel(12, "item.7"): 1})

    await here.group_send("item.7", {"type": "item.events", "events": [{"seq": 1}]})

    assert [m["events"] for m in await received(here, mine, 1)] == [[{"seq": 1}]]
    assert [m["events"] for m in await received(same, twin, 1)] == [[{"seq": 1}]]
    assert await received(other, stranger, 0.5) == []
    for layer in (here, same, other):
        await layer.flush()


async def two_processes_on_a_group(database: int, group: str) -> tuple[Any, Any, str]:
    """Two layers on one Redis database, as two server processes hold them, and a channel of the second
    in `group`."""
    here, there = layer_on(database), layer_on(database)
    channel = await there.new_channel()
    await there.group_add(group, channel)
    await until_subscribed({group_channel(database, group): 1, channel: 1})
    return here, there, channel


async def kill_connection(connection: Any) -> None:
    """Make Redis close one connection of ours, as a restart or a network fault would; when this returns,
    Redis lists it no more (with I/O threads it may close it a little after answering the KILL)."""
    host, port = connection.transport.get_extra_info("sockname")[:2]
    address = f"{host}:{port}"
    client = redis.asyncio.Redis.from_url(REDIS_BASE_URL)
    try:
        await client.execute_command("CLIENT", "KILL", "ADDR", address)
        async with asyncio.timeout(DEADLINE_SECONDS):
            while any(listed["addr"] == address for listed in await client.client_list()):
                await asyncio.sleep(0.01)
    finally:
        await client.aclose()


@pytest.mark.asyncio
async def test_a_message_sent_to_a_channel_reaches_that_channel_in_another_process() -> None:
    here, there = layer_on(13), layer_on(13)
    channel = await there.new_channel()
    await until_subscribed({channel: 1})

    await here.send(channel, {"type": "presence.here", "user": {"id": 3}})

    assert await received(there, channel, 1) == [{"type": "presence.here", "user": {"id": 3}}]
    for layer in (here, there):
        await layer.flush()


@pytest.mark.asyncio
async def test_a_channel_that_left_its_group_hears_no_more_of_it() -> None:
    layer = layer_on(13)
    leaving, staying = await layer.new_channel(), await layer.new_channel()
    for channel in (leaving, staying):
        await layer.group_add("item.9", channel)
    await layer.group_discard("item.9", leaving)
    await until_subscribed({group_channel(13, "item.9"): 1})

    await layer.group_send("item.9", {"type": "item.events", "events": []})

    assert len(await received(layer, staying, 1)) == 1
    assert await received(layer, leaving, 0.3) == []
    await layer.flush()


@pytest.mark.asyncio
async def test_a_dropped_subscriber_connection_is_opened_again_with_all_its_subscriptions() -> None:
    here, there, channel = await two_processes_on_a_group(14, "item.5")
    shard = there._get_layer()._shards[0]
    dropped = shard._subscriber

    await kill_connection(dropped)  # and with it its subscriptions: those counted next are the new ones
    await until_subscribed({group_channel(14, "item.5"): 1, channel: 1})
    await here.group_send("item.5", {"type": "item.events", "events": [{"seq": 2}]})
    await here.send(channel, {"type": "presence.here"})

    assert shard._subscriber is not dropped
    assert [m["type"] for m in await received(there, channel, 1)] == ["item.events", "presence.here"]
    for layer in (here, there):
        await layer.flush()


@pytest.mark.asyncio
async def test_a_dropped_publisher_connection_is_opened_again_by_the_next_publish() -> None:
    here, there, channel = await two_processes_on_a_group(14, "item.6")
    await here.group_send("item.6", {"type": "item.events", "events": [{"seq": 1}]})
    assert len(await received(there, channel, 1)) == 1
    shard = here._get_layer()._shards[0]

    dropped = shard._publisher
    await kill_connection(dropped)
    # Once the layer has seen the connection close: a publish into a connection closing unnoticed is lost,
    # as pub/sub delivery (at most once) allows, and is not what this test is about.
    async with asyncio.timeout(DEADLINE_SECONDS):
        while shard._publisher is dropped:
            await asyncio.sleep(0.01)
    await here.group_send("item.6", {"type": "item.events", "events": [{"seq": 2}]})

    assert [m["events"] for m in await received(there, channel, 1)] == [[{"seq": 2}]]
    for layer in (here, there):
        await layer.flush()


@pytest.mark.asyncio
async def test_a_password_that_redis_refuses_is_an_error_not_a_silent_layer() -> None:
    from apps.common.channel_layer import RedisReplyError, open_connection

    layer_on(15)  # skips (or fails on CI) without Redis

    with pytest.raises(RedisReplyError):
        await open_connection("redis://:not-the-password@127.0.0.1:6379/15", print, lambda *_: None)


def test_commands_are_written_as_resp_arrays_of_bulk_strings() -> None:
    from apps.common.channel_layer import command_bytes

    assert command_bytes(b"PUBLISH", b"polylog.db0.__group__item.7", b"\x81\xa1a\x01") == (
        b"*3\r\n$7\r\nPUBLISH\r\n$27\r\npolylog.db0.__group__item.7\r\n$4\r\n\x81\xa1a\x01\r\n"
    )
