"""The Redis channel layer of settings: publish/subscribe channels are shared by all of a Redis server's
databases, so each REDIS_URL database gets its own prefix and two deployments on one Redis stay apart.

Needs Redis on its standard local port: skipped without it, except on CI (CI=true).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from django.utils.module_loading import import_string

from config.settings import redis_channel_layer
from tests.live_servers import Unavailable, redis_flushed


def layer_on(database: int) -> Any:
    try:
        url = redis_flushed(database)
    except Unavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{exc}; CI must provide Redis")
        pytest.skip(f"{exc}; this test needs Redis on its standard local port")
    spec = redis_channel_layer(url)
    return import_string(spec["BACKEND"])(**spec["CONFIG"])


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
    await asyncio.sleep(0.2)  # the subscriptions reach Redis

    await here.group_send("item.7", {"type": "item.events", "events": [{"seq": 1}]})

    assert [m["events"] for m in await received(here, mine, 1)] == [[{"seq": 1}]]
    assert [m["events"] for m in await received(same, twin, 1)] == [[{"seq": 1}]]
    assert await received(other, stranger, 0.5) == []
    for layer in (here, same, other):
        await layer.flush()
