"""The idle timeout: a socket that sends nothing for WS_IDLE_SECONDS is told so and closed with 4408; any
frame, a ping included, keeps it open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.integration.test_ws_support import Sockets

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

IDLE = 0.3


@pytest_asyncio.fixture(autouse=True)
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


@pytest.fixture
def short_idle(settings: Any) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "WS_IDLE_SECONDS": IDLE}


async def test_a_silent_item_socket_gets_idle_timeout_and_is_closed_with_4408(
    short_idle: None, sockets: Sockets, item: Any, annotator: Any
) -> None:
    peer = await sockets.item(annotator, item.pk)

    code = await peer.close_code()

    assert code == 4408
    errors = await peer.drain("error")
    assert [error["code"] for error in errors] == ["idle_timeout"]


async def test_a_silent_job_socket_gets_idle_timeout_and_is_closed_with_4408(
    short_idle: None, sockets: Sockets, job: Any, annotator: Any
) -> None:
    peer = await sockets.job(annotator, job.pk)

    code = await peer.close_code()

    assert code == 4408
    assert [frame["type"] for frame in peer.frames] == ["error"]
    assert peer.frames[0]["code"] == "idle_timeout"


async def test_a_client_that_keeps_pinging_is_not_closed_and_is_closed_once_it_stops(
    short_idle: None, sockets: Sockets, item: Any, annotator: Any
) -> None:
    peer = await sockets.item(annotator, item.pk)

    # Ten pings a third of the idle time apart keep it open for three idle periods: each quiet stretch is
    # receive_nothing's wait, which also proves no idle_timeout came in between.
    for _ in range(10):
        assert await peer.socket.receive_nothing(timeout=IDLE / 3)
        await peer.send({"type": "ping"})
        assert await peer.next("pong", "error") == {"type": "pong"}
    code = await peer.close_code()

    assert code == 4408
    assert [frame["code"] for frame in peer.frames if frame["type"] == "error"] == ["idle_timeout"]


async def test_a_busy_connection_outlives_the_channel_layers_read_timeout(
    sockets: Sockets, item: Any, annotator: Any
) -> None:
    peer = await sockets.item(annotator, item.pk)

    # Twelve pings half a second apart: six seconds, past the Redis layer's 5 s blocking read.
    for _ in range(12):
        assert await peer.socket.receive_nothing(timeout=0.5)
        await peer.send({"type": "ping"})
        assert await peer.next("pong", "error") == {"type": "pong"}
