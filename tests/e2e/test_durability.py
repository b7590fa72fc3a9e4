"""Durability: an acked command is committed, whatever happens to the server after the ack.

Ten people label three items over websockets on a Daphne backed by PostgreSQL (and Redis for the channel
layer). Mid-run, with commands in flight, the server is killed with SIGKILL: no shutdown handler runs and
open transactions are cut off. A new Daphne starts on the same database and port. The test proves:

- every command that was acked is in the store exactly once, at the seq its ack named;
- no command_id is stored twice, each stream's seqs run 1..N without a gap, and the hash chains and read
  models agree with the log (verify_events, rebuild_projections --check);
- the commands that were sent but never answered, sent again with the same command_id, are acked and
  stored once, whether or not the dead server had committed them;
- every client reconnects with `hello {since_seq: <its last seq>}` (nothing it held is past the stream's
  end, so no acked event was lost), labels on, and ends with the server's state.

Needs PostgreSQL and Redis on their standard local ports: skipped without them, except on CI (CI=true).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from polylog_client import LabelingClient, http_json
from websockets.exceptions import ConnectionClosed

from tests.client_fold import DOMAIN_FOLD
from tests.conftest import service_missing
from tests.figures import figure as _figure
from tests.live_servers import (
    Daphne,
    Unavailable,
    daphne_start,
    manage,
    photos_write,
    postgres_fresh,
    redis_flushed,
    server_env,
    wait_until_serving,
)

pytestmark = pytest.mark.slow

DATABASE = "polylog_durability"
REDIS_DB = 7
WIDTH, HEIGHT = 640, 480  # photos_write's default size
ITEMS = 3
LABELERS = 10
KILL_AFTER_ACKS = 400  # acks in all before the kill: every labeler is well into its drawing by then
AFTER_RESTART = 25  # commands each labeler sends once reconnected
UNLIMITED = {"POLYLOG_WS_COMMANDS_PER_SECOND": "1000000", "POLYLOG_WS_COMMAND_BURST": "1000000"}
LABELERS_CREATE = f"""
from django.contrib.auth import get_user_model
from apps.accounts.tokens import token_create
from apps.labeling.models import LabelingJob, Role
from apps.labeling.services import job_member_set
job = LabelingJob.objects.get()
for n in range({LABELERS}):
    user = get_user_model().objects.create_user(f"labeler{{n}}", password="durability-labeler")
    job_member_set(job=job, user=user, role=Role.ANNOTATOR)
    print("labeler", job.pk, user.username, token_create(user=user).token)
"""


figure = partial(_figure, database="pg+redis")  # the figures of this test are of PostgreSQL and Redis


@dataclass
class Labeler:
    """One person on one item, drawing in their own quarter of the image, and what happened to what they
    sent: `acked` maps each answered command_id to the seq its ack named."""

    username: str
    token: str
    item_id: int
    commands: Iterator[dict[str, Any]]
    acked: dict[str, int] = field(default_factory=dict)
    unanswered: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    resent: dict[str, int] = field(default_factory=dict)
    client: LabelingClient | None = None


@dataclass
class Run:
    server: Daphne
    labelers: list[Labeler]
    label_class_ids: list[int]
    acks: int = 0
    enough: asyncio.Event = field(default_factory=asyncio.Event)

    def acked(self) -> None:
        self.acks += 1
        if self.acks >= KILL_AFTER_ACKS:
            self.enough.set()


def drawing(quarter: int, label_class_ids: list[int]) -> Iterator[dict[str, Any]]:
    """Endless: hexagons in a grid of one quarter of the image, each drawn vertex by vertex, closed, a
    vertex moved, one inserted, the shape moved; every three shapes, those three deleted. Each command
    makes one event whoever else labels the item, since it touches only this person's shapes."""
    left, top = (quarter % 2) * WIDTH / 2, (quarter // 2) * HEIGHT / 2
    n = 0
    while True:
        shape_ids = []
        for _ in range(3):
            shape_id = str(uuid.uuid4())
            shape_ids.append(shape_id)
            cell = n % 12
            n += 1
            cx, cy = left + 40 + 80 * (cell % 4), top + 40 + 80 * (cell // 4)
            for v in range(6):
                angle = 2 * math.pi * v / 6
                yield {
                    "type": "add_vertex",
                    "shape_id": shape_id,
                    "x": cx + 25 * math.cos(angle),
                    "y": cy + 25 * math.sin(angle),
                }
            yield {
                "type": "close_polygon",
                "shape_id": shape_id,
                "label_class_id": label_class_ids[n % len(label_class_ids)],
            }
            yield {"type": "move_vertex", "shape_id": shape_id, "index": 0, "x": cx + 28, "y": cy}
            yield {"type": "insert_vertex", "shape_id": shape_id, "index": 1, "x": cx + 22, "y": cy + 12}
            yield {"type": "move_shape", "shape_id": shape_id, "dx": 1.0, "dy": 0.5}
        for shape_id in shape_ids:
            yield {"type": "delete_shape", "shape_id": shape_id}


def _services() -> tuple[str, str]:
    try:
        return postgres_fresh(DATABASE), redis_flushed(REDIS_DB)
    except Unavailable as exc:
        service_missing(exc, "PostgreSQL and Redis on their standard local ports")


def site_seed(env: dict[str, str], var_dir: Path) -> tuple[list[tuple[str, str]], int]:
    """The demo job on ITEMS photos with LABELERS annotators; [(username, token)] and the job id."""
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--photos", str(photos_write(var_dir / "photos", ITEMS)))
    output = manage(env, "shell", "-c", LABELERS_CREATE).splitlines()
    lines = [line.split()[1:] for line in output if line.startswith("labeler ")]
    return [(username, token) for _, username, token in lines], int(lines[0][0])


# Before the crash -----------------------------------------------------------------------------------


async def label_until_cut(labeler: Labeler, run: Run, start: asyncio.Barrier) -> None:
    """Label as fast as acks come back until the connection dies; the command then unanswered is kept."""
    client = labeler.client
    assert client is not None
    await client.hello(since_seq=0)
    await start.wait()
    for command in labeler.commands:
        command_id = str(uuid.uuid4())
        try:
            ack = await client.command(command, command_id=command_id)
        except (ConnectionError, ConnectionClosed):
            labeler.unanswered.append((command_id, command))
            return
        labeler.acked[command_id] = ack.seq
        run.acked()


async def label_and_crash(run: Run) -> None:
    start = asyncio.Barrier(LABELERS + 1)
    async with contextlib.AsyncExitStack() as stack:
        for labeler in run.labelers:
            labeler.client = await stack.enter_async_context(
                LabelingClient.connect(
                    run.server.base_url,
                    labeler.item_id,
                    labeler.token,
                    width=WIDTH,
                    height=HEIGHT,
                    fold=DOMAIN_FOLD,
                )
            )
        tasks = [asyncio.create_task(label_until_cut(labeler, run, start)) for labeler in run.labelers]
        await start.wait()
        await run.enough.wait()
        run.server.kill()
        await asyncio.gather(*tasks)


# After the restart ----------------------------------------------------------------------------------


async def reconnect_and_converge(
    labeler: Labeler, base_url: str, done: asyncio.Barrier
) -> tuple[LabelingClient, dict[str, Any], list[dict[str, Any]]]:
    """Reconnect, catch up since the last seq held, resend what went unanswered, label on; once everyone
    is done, wait for the stream's last event. (client, the server's state, the catch-up)."""
    earlier = labeler.client
    assert earlier is not None
    async with LabelingClient.connect(
        base_url, labeler.item_id, labeler.token, width=WIDTH, height=HEIGHT, fold=DOMAIN_FOLD
    ) as client:
        client.take_over(earlier)
        caught_up = await client.hello()
        for command_id, command in labeler.unanswered:
            labeler.resent[command_id] = (await client.command(command, command_id=command_id)).seq
        for _, command in zip(range(AFTER_RESTART), labeler.commands, strict=False):
            command_id = str(uuid.uuid4())
            labeler.acked[command_id] = (await client.command(command, command_id=command_id)).seq
        await done.wait()
        served = await asyncio.to_thread(
            http_json, f"{base_url}/api/items/{labeler.item_id}/state/", token=labeler.token
        )
        await client.wait_for_seq(served["seq"])
        return client, served, caught_up


async def recover(run: Run, base_url: str) -> list[tuple[LabelingClient, dict[str, Any], list[Any]]]:
    done = asyncio.Barrier(LABELERS)
    return await asyncio.gather(
        *(reconnect_and_converge(labeler, base_url, done) for labeler in run.labelers)
    )


def stored_rows(database_url: str, item_ids: list[int]) -> list[tuple[int, int, str | None]]:
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT item_id, seq, command_id FROM labeling_event WHERE item_id = ANY(%s) ORDER BY item_id, seq",
            [item_ids],
        )
        return list(rows)


def test_acked_commands_survive_a_sigkill_once_each_and_clients_converge_after_the_restart(
    tmp_path: Path,
) -> None:
    database_url, redis_url = _services()
    env = server_env(tmp_path / "var", DATABASE_URL=database_url, REDIS_URL=redis_url, **UNLIMITED)
    people, job_id = site_seed(env, tmp_path / "var")
    logs = tmp_path / "var" / "logs"
    first = daphne_start(env, logs, "daphne-killed")
    servers = [first]
    try:
        wait_until_serving([first])
        admin = people[0][1]
        items = http_json(f"{first.base_url}/api/jobs/{job_id}/items/", token=admin)
        items = items["results"] if isinstance(items, dict) else items
        item_ids = sorted(item["id"] for item in items)
        classes = http_json(f"{first.base_url}/api/jobs/{job_id}/label-classes/", token=admin)
        label_class_ids = [c["id"] for c in classes]
        labelers = [
            Labeler(username, token, item_ids[n % ITEMS], drawing(n // ITEMS, label_class_ids))
            for n, (username, token) in enumerate(people)
        ]
        run = Run(first, labelers, label_class_ids)

        asyncio.run(asyncio.wait_for(label_and_crash(run), timeout=30))
        assert first.process.returncode == -9, "the server died of the SIGKILL"

        second = daphne_start(env, logs, "daphne-restarted", port=first.port)
        servers.append(second)
        wait_until_serving([second])
        outcome = asyncio.run(asyncio.wait_for(recover(run, second.base_url), timeout=30))
    finally:
        for server in servers:
            server.stop()

    rows = stored_rows(database_url, item_ids)
    where = {(item_id, command_id): seq for item_id, seq, command_id in rows if command_id}
    unanswered = [command_id for labeler in labelers for command_id, _ in labeler.unanswered]
    assert unanswered, "the kill cut off commands in flight"

    # Every acked command is stored once, at the seq of its ack; so is every resent one.
    for labeler in labelers:
        for command_id, seq in {**labeler.acked, **labeler.resent}.items():
            assert where.get((labeler.item_id, command_id)) == seq, f"{labeler.username}: {command_id}"
    twice = [key for key, count in Counter((i, c) for i, _, c in rows if c).items() if count > 1]
    assert twice == [], "no command_id is stored twice"
    acked_in_all = sum(len(labeler.acked) + len(labeler.resent) for labeler in labelers)
    assert len(rows) == acked_in_all, "every stored event is an acked command (each makes one event)"

    # Each stream is whole: seqs 1..N, and the server's state stands at N.
    by_item: dict[int, list[int]] = {}
    for item_id, seq, _ in rows:
        by_item.setdefault(item_id, []).append(seq)
    for client, served, _ in outcome:
        seqs = by_item[client.item_id]
        assert seqs == list(range(1, len(seqs) + 1)), f"item {client.item_id} has a gap"
        assert served["seq"] == len(seqs)

    # Every client caught up since its own last seq and ends with the server's state.
    for labeler, (client, served, caught_up) in zip(labelers, outcome, strict=True):
        assert client.errors == [], f"{labeler.username} got errors: {client.errors}"
        assert caught_up == [] or caught_up[0]["seq"] == labeler.client.seq + 1
        assert [e["seq"] for e in client.events] == list(range(1, served["seq"] + 1))
        assert (client.duplicates, client.gaps) == (0, 0)
        assert client.state_view() == served, f"{labeler.username} diverged from the server"

    # The hash chains and the read models survived the crash too.
    assert "every hash chain intact" in manage(env, "verify_events")
    manage(env, "rebuild_projections", "--check")

    acked_before = sum(len(labeler.acked) for labeler in labelers)
    figure("crash: commands acked (before the SIGKILL and after the restart)", acked_before, "commands")
    figure("crash: commands in flight at the kill, resent with their command_id", len(unanswered), "commands")
    figure("crash: acked commands lost or stored twice", 0, "commands", "0", True)
