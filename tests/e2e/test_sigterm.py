"""A Daphne server stopped with SIGTERM mid-burst (apps/common/stopping.py): every command it stored was acked,
its websocket closes with 1012, and the client, reconnected to a second server over the same database, sends
again what got no answer, so the stream holds every command exactly once.

Two real Daphne processes on one SQLite file (the channel layer does not matter here: one client, whose own
events come back from the server it is on). Nothing but this machine's loopback is needed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from polylog_client import LabelingClient, http_json, token_get
from polylog_client.websocket import Ack

from tests.client_fold import DOMAIN_FOLD
from tests.live_servers import Daphne, daphne_start, manage, photos_write, server_env, wait_until_serving

COMMANDS = 300
SIGTERM_AFTER_ACKS = 40  # the burst is well under way, and most of it still to come
CLOSE_SERVICE_RESTART = 1012

pytestmark = pytest.mark.slow


@dataclass
class Site:
    servers: list[Daphne]
    database: Path
    token: str
    item: dict[str, Any]
    label_class_id: int


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    env = server_env(
        tmp_path,
        # The burst is one client's: no rate limit in its way.
        POLYLOG_WS_COMMANDS_PER_SECOND="100000",
        POLYLOG_WS_COMMAND_BURST="100000",
        POLYLOG_STOP_GRACE_SECONDS="20",
    )
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--photos", str(photos_write(tmp_path / "photos", 1)))
    servers = [daphne_start(env, tmp_path / "logs", f"daphne{n}") for n in (1, 2)]
    try:
        wait_until_serving(servers)
        base = servers[0].base_url
        token = token_get(base, "demo", "demo-polylog")
        job = next(j for j in http_json(f"{base}/api/jobs/", token=token) if j["name"].startswith("Demo"))
        items = http_json(f"{base}/api/jobs/{job['id']}/items/", token=token)
        item = (items["results"] if isinstance(items, dict) else items)[0]
        label_class = http_json(f"{base}/api/jobs/{job['id']}/label-classes/", token=token)[0]
        yield Site(servers, tmp_path / "polylog.sqlite3", token, item, label_class["id"])
    finally:
        for server in servers:
            server.stop()


def square_command(n: int, label_class_id: int) -> dict[str, Any]:
    x, y = 10 + (n % 20) * 25, 10 + (n // 20) * 25
    points = [[x, y], [x + 20, y], [x + 20, y + 20], [x, y + 20]]
    return {
        "type": "add_polygon",
        "shape_id": str(uuid.uuid4()),
        "label_class_id": label_class_id,
        "points": points,
    }


def stored_command_ids(database: Path, item_id: int) -> list[str]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT command_id FROM labeling_event WHERE item_id = ? ORDER BY seq", (item_id,))
        return [command_id for (command_id,) in rows if command_id is not None]


def sigterm_and_wait(server: Daphne) -> int:
    os.kill(server.process.pid, signal.SIGTERM)
    try:
        return server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"Daphne did not stop within 30 s of SIGTERM:\n{server.log_tail()}")


async def burst(
    client: LabelingClient, commands: dict[str, dict[str, Any]]
) -> dict[str, Ack | BaseException]:
    """Send every command at once (each waits for its own answer); their answers, or why none came."""
    answers = await asyncio.gather(
        *(client.command(command, command_id=command_id) for command_id, command in commands.items()),
        return_exceptions=True,
    )
    return dict(zip(commands, answers, strict=True))


@pytest.mark.asyncio
async def test_a_sigterm_mid_burst_loses_no_acked_command_and_the_client_resumes_on_another_server(
    site: Site,
) -> None:
    first, second = site.servers
    item_id = site.item["id"]
    width, height = site.item["image"]["width"], site.item["image"]["height"]
    commands = {str(uuid.uuid4()): square_command(n, site.label_class_id) for n in range(COMMANDS)}

    async with LabelingClient.connect(
        first.base_url, item_id, site.token, width=width, height=height, fold=DOMAIN_FOLD
    ) as client:
        await client.hello(0)
        sending = asyncio.ensure_future(burst(client, commands))
        await client.wait_until(lambda: client.seq >= SIGTERM_AFTER_ACKS, timeout=30)
        exit_code = await asyncio.to_thread(sigterm_and_wait, first)
        answers = await asyncio.wait_for(sending, 30)
        close_code = client.connection.close_code
        stored_by_first = stored_command_ids(site.database, item_id)

        acked = {command_id for command_id, answer in answers.items() if isinstance(answer, Ack)}
        unanswered = [command_id for command_id, answer in answers.items() if not isinstance(answer, Ack)]
        assert close_code == CLOSE_SERVICE_RESTART, first.log_tail()
        assert exit_code == 0, first.log_tail()
        assert SIGTERM_AFTER_ACKS <= len(acked) < COMMANDS, "SIGTERM came mid-burst"
        assert all(isinstance(answers[command_id], ConnectionError) for command_id in unanswered)
        # What the first server stored is exactly what it acked: it finished the command in hand, acked it,
        # and took no other.
        assert sorted(stored_by_first) == sorted(acked)
        assert "SIGTERM: closed 1 listening ports; closing 1 websockets with 1012" in first.log_tail()

        async with LabelingClient.connect(
            second.base_url, item_id, site.token, width=width, height=height, fold=DOMAIN_FOLD
        ) as resumed:
            resumed.take_over(client)
            await resumed.hello()
            again = await asyncio.gather(
                *(resumed.command(commands[command_id], command_id=command_id) for command_id in unanswered)
            )
            await resumed.wait_for_seq(COMMANDS)
            state = resumed.state()

    assert all(isinstance(answer, Ack) for answer in again)
    stored = stored_command_ids(site.database, item_id)
    assert sorted(stored) == sorted(commands), "every command stored exactly once"
    assert set(state.shapes) == {command["shape_id"] for command in commands.values()}
