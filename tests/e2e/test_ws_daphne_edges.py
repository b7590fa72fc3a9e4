"""Websocket edges that only a real Daphne shows: its own message cap and how it closes above it, and many
sockets closing at once while presence frames are on their way to them.

The server runs on this test's own database (SQLite file or PostgreSQL), so it needs no other service.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from django.conf import settings

from tests.e2e.test_audit_session import database_url
from tests.live_servers import Daphne, daphne_start, server_env, wait_until_serving

pytestmark = pytest.mark.django_db(transaction=True)

CAP = settings.POLYLOG["WS_MAX_FRAME_BYTES"]


@pytest.fixture
def server(transactional_db: None, tmp_path: Path) -> Iterator[Daphne]:
    # The test's SECRET_KEY, so that the sessions it makes are the server's too.
    env = server_env(tmp_path / "var", DATABASE_URL=database_url(), SECRET_KEY=settings.SECRET_KEY)
    daphne = daphne_start(env, tmp_path / "logs", "edges")
    try:
        wait_until_serving([daphne], timeout=90)
        yield daphne
    finally:
        daphne.stop()


def session_cookie(user: Any) -> str:
    """A browser's session cookie for `user`, stored in the database the server reads."""
    from django.test import Client

    browser = Client()
    browser.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"


def ping_of(size: int) -> str:
    """A ping frame of exactly `size` bytes."""
    frame = '{"type":"ping","padding":"%s"}'
    return frame % ("x" * (size - len(frame % "")))


async def send_and_read(url: str, cookie: str, frames: list[str]) -> tuple[list[dict[str, Any]], int | None]:
    """Send each frame and read up to its answer (presence frames aside); then close. The frames
    received, and the close code (the server's, when it closed first)."""
    received: list[dict[str, Any]] = []
    async with websockets.connect(url, additional_headers={"Cookie": cookie}, max_size=None) as socket:
        try:
            for frame in frames:
                await socket.send(frame)
                while (answer := json.loads(await asyncio.wait_for(socket.recv(), 10)))["type"] == "presence":
                    pass
                received.append(answer)
        except websockets.ConnectionClosed:
            pass
    return received, socket.close_code


@pytest.mark.parametrize(
    "size", [CAP + 1, 2 * 1024 * 1024], ids=["just-over-the-cap", "over-daphnes-own-1MiB"]
)
def test_a_frame_over_the_cap_closes_with_1009_and_one_at_the_cap_is_handled(
    server: Daphne, item: Any, annotator: Any, size: int
) -> None:
    url = f"ws://127.0.0.1:{server.port}/ws/items/{item.pk}/"

    received, code = asyncio.run(send_and_read(url, session_cookie(annotator), [ping_of(CAP), ping_of(size)]))

    assert received == [{"type": "pong"}], "the frame at the cap was handled"
    assert code == 1009, "a message over the documented cap closes with 1009 (message too big), not a reset"


async def crowd_leaves(url: str, cookies: list[str]) -> None:
    """Everyone joins the item (each join sends presence to all), then all close at once."""
    sockets = [await websockets.connect(url, additional_headers={"Cookie": cookie}) for cookie in cookies]
    await asyncio.gather(*(socket.send('{"type":"ping"}') for socket in sockets))
    await asyncio.gather(*(socket.close() for socket in sockets))


def test_many_sockets_closing_at_once_log_no_tracebacks(
    server: Daphne, item: Any, annotator: Any, annotator2: Any, manager: Any, auditor: Any
) -> None:
    url = f"ws://127.0.0.1:{server.port}/ws/items/{item.pk}/"
    cookies = [session_cookie(user) for user in (annotator, annotator2, manager, auditor) for _ in range(8)]

    for _ in range(3):
        asyncio.run(crowd_leaves(url, cookies))
    asyncio.run(send_and_read(url, cookies[0], []))  # the server still serves, after the crowd's leave

    log = server.output_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
    assert "closed protocol" not in log
