"""Websocket and REST figures for `make bench`: real Daphne processes on loopback, driven with `websockets`.

Each figure has a floor served by the same Daphne processes (tests/bench/asgi.py, tests/bench/floor.py),
measured in alternating rounds (floor, polylog, floor, polylog, ...) so that the machine's drift touches
both alike; a figure is the median of its rounds, and a ratio the median of each round's ratio to the floor
round just before it (docs/performance.md, "Performance guard").

- SQLite, one Daphne, in-memory channel layer: command -> ack of one client (LabelingClient), against a
  bare Channels echo on the same Daphne; fan-out, the time from a writer's command until five watchers
  of the item all have its event (one run, no floor); and a merge of two 500-vertex shapes against a
  move_shape of one of them, command -> ack, in alternating rounds on one item (issue 19).
- PostgreSQL + Redis, two Daphne processes: 20 clients on 10 items (two per item, one on each process) for
  30 s a round (5 s with --quick); events stored per second, the acks, CPU per command, and events lost,
  duplicated or missing, counted from the store and from what each client received; against the same
  load on the floor consumer, which stores, broadcasts and acks each command and nothing more.
- The same servers: a command over REST (POST /api/items/<id>/commands/, one client, keep-alive) against
  the floor route, a DRF view that authenticates the token and answers 201.

Every server runs with the per-connection command limit lifted (POLYLOG_WS_COMMANDS_PER_SECOND and
POLYLOG_WS_COMMAND_BURST, 50/s and 100 by default), so the figures are the server's and not the limit's;
and with DEBUG off, as deployed. Prints one JSON line: the rows for the table of tests/bench/run.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import math
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polylog_client import CommandRejected, LabelingClient, http_json, token_get
from websockets.asyncio.client import connect as ws_connect

from apps.labeling.domain import command_to_dict
from tests.bench import floor_table
from tests.bench.workload import session
from tests.live_servers import (
    ROOT,
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

VAR = ROOT / "var" / "bench" / "ws"
APPLICATION = "tests.bench.asgi:application"  # polylog's, plus the floors on the same processes
ROUNDS = 3  # of each, alternating: floor, polylog, floor, polylog, ...
WIDTH, HEIGHT = 640, 480
ITEMS = 10
LOAD_CLIENTS = 20
WATCHERS = 5
PG_DATABASE = "polylog_bench_ws"
REDIS_DB = 6
# How long a client may get nothing before the events it lacks count as missed.
DELIVERY_SECONDS = 3.0
# What the load's CPU is read for (cpu_seconds): its processes by part, and the busy time of all cores.
PARTS = ("clients", "Daphnes", "PostgreSQL", "Redis")
PROCESSES = "its processes"  # the sum of the parts: what other work on the machine leaves out
MACHINE = "machine"
UNLIMITED = {
    "POLYLOG_WS_COMMANDS_PER_SECOND": "1000000",
    "POLYLOG_WS_COMMAND_BURST": "1000000",
    "DEBUG": "false",
}
MERGED_VERTICES = 500  # each of the two shapes the merge figure merges (issue 19)
OCTAGON = ((-1, 0), (-0.7, -0.7), (0, -1), (0.7, -0.7), (1, 0), (0.7, 0.7), (0, 1), (-0.7, 0.7))
Row = dict[str, Any]


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def row(name: str, database: str, value: Any, unit: str, target: str = "", ok: bool | None = None) -> Row:
    return {"name": name, "database": database, "value": value, "unit": unit, "target": target, "ok": ok}


def median(values: list[float]) -> float:
    return statistics.median(values)


def paired_ratio(ours: list[float], floors: list[float]) -> float:
    """The median of each round's figure over its floor round's (the one just before it)."""
    return median([a / b for a, b in zip(ours, floors, strict=True)])


@dataclass
class Site:
    """Servers seeded with the demo job (generated photos), and what clients need to label it."""

    servers: list[Daphne]
    token: str
    item_ids: list[int]
    label_class_ids: list[int]
    pg_database: str = PG_DATABASE  # whose backends count as the load's PostgreSQL (cpu_seconds)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def site_start(
    var_dir: Path,
    processes: int,
    application: str = APPLICATION,
    *,
    photos: int = ITEMS,
    root: Path = ROOT,
    **settings: str,
) -> Site:
    """`processes` Daphnes serving the source tree `root` (the project by default) with `settings` as
    environment over this process's, on a database migrated and seeded with the demo job."""
    shutil.rmtree(var_dir, ignore_errors=True)
    env = server_env(var_dir, **UNLIMITED, **settings)
    photo_dir = photos_write(var_dir / "photos", photos, size=(WIDTH, HEIGHT))
    manage(env, "migrate", "--noinput", "-v0", root=root)
    manage(env, "seed_demo", "--photos", str(photo_dir), root=root)
    servers = [
        daphne_start(env, var_dir / "logs", f"daphne{n}", application=application, root=root)
        for n in range(processes)
    ]
    try:
        wait_until_serving(servers)
        base = servers[0].base_url
        token = token_get(base, "demo", "demo-polylog")
        job = next(j for j in http_json(f"{base}/api/jobs/", token=token) if j["name"].startswith("Demo"))
        items = http_json(f"{base}/api/jobs/{job['id']}/items/", token=token)
        items = items["results"] if isinstance(items, dict) else items
        classes = http_json(f"{base}/api/jobs/{job['id']}/label-classes/", token=token)
    except BaseException:
        for server in servers:
            server.stop()
        raise
    database = settings.get("DATABASE_URL", "").rsplit("/", 1)[-1] or PG_DATABASE
    return Site(servers, token, sorted(i["id"] for i in items), [c["id"] for c in classes], database)


def commands_of(label_class_ids: list[int], seed: int) -> Iterator[dict[str, Any]]:
    """The shared benchmark session (draw, close, move, undo/redo, save, clear) as wire commands."""
    for command in session(WIDTH, HEIGHT, label_class_ids, seed=seed):
        yield command_to_dict(command)


def drawing(slot: int, label_class_ids: list[int]) -> Iterator[dict[str, Any]]:
    """Endless, for the load: 8-vertex polygons in a grid on one half of the image (`slot` 0 or 1), each
    closed and moved; every five, those five are deleted. Every command makes one event, whatever the
    other client on the item does, since each only touches its own shapes. One generator serves all the
    rounds of its item and slot, so that a round goes on where the one before stopped."""
    n = 0
    while True:
        shape_ids = []
        for _ in range(5):
            n += 1
            shape_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"polylog-bench/{slot}/{n}"))
            shape_ids.append(shape_id)
            cell = n % 40
            cx, cy = slot * WIDTH / 2 + 40 + 60 * (cell % 5), 40 + 55 * (cell // 5)
            for x, y in OCTAGON:
                yield {"type": "add_vertex", "shape_id": shape_id, "x": cx + 20 * x, "y": cy + 20 * y}
            yield {
                "type": "close_polygon",
                "shape_id": shape_id,
                "label_class_id": label_class_ids[n % len(label_class_ids)],
            }
            yield {"type": "move_shape", "shape_id": shape_id, "dx": 1.0, "dy": 0.5}
        for shape_id in shape_ids:
            yield {"type": "delete_shape", "shape_id": shape_id}


# SQLite: one client's latency against the echo, fan-out -------------------------------------------------


async def ack_latency(
    site: Site, item_id: int, commands: Iterator[dict[str, Any]], samples: int
) -> list[float]:
    base = site.servers[0].base_url
    async with LabelingClient.connect(base, item_id, site.token, width=WIDTH, height=HEIGHT) as client:
        await client.hello()
        for _ in range(50):  # warm up: connections, caches
            await client.command(next(commands))
        out = []
        for _ in range(samples):
            command = next(commands)
            started = time.perf_counter()
            await client.command(command)
            out.append(time.perf_counter() - started)
        return out


async def echo_latency(site: Site, samples: int) -> list[float]:
    frame = json.dumps(
        {"type": "command", "command_id": "0" * 36, "command": {"type": "add_vertex", "shape_id": "0" * 36}}
    )
    url = f"ws://127.0.0.1:{site.servers[0].port}/ws/echo/"
    async with ws_connect(url, proxy=None, compression=None, open_timeout=10) as ws:
        out = []
        for n in range(50 + samples):
            started = time.perf_counter()
            await ws.send(frame)
            await asyncio.wait_for(ws.recv(), 10)
            if n >= 50:
                out.append(time.perf_counter() - started)
        return out


@dataclass
class FanOut:
    """What the watchers of an item have seen: when each event reached each of them."""

    arrivals: dict[int, list[float]] = field(default_factory=dict)
    complete: dict[int, asyncio.Event] = field(default_factory=dict)
    caught_up: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def everyone_has(self, seq: int) -> asyncio.Event:
        return self.complete.setdefault(seq, asyncio.Event())


async def watch(url: str, fan: FanOut) -> None:
    """A bare websocket on the item, noting when each event arrives."""
    async with ws_connect(url, proxy=None, compression=None, open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "hello", "since_seq": 0}))
        async for message in ws:
            frame = json.loads(message)
            if frame["type"] == "caught_up":
                fan.caught_up += 1
                if fan.caught_up == WATCHERS:
                    fan.ready.set()
            elif frame["type"] == "event":
                seq = frame["event"]["seq"]
                times = fan.arrivals.setdefault(seq, [])
                times.append(time.perf_counter())
                if len(times) == WATCHERS:
                    fan.everyone_has(seq).set()


async def fan_out(site: Site, item_id: int, samples: int) -> list[float]:
    server = site.servers[0]
    url = f"ws://127.0.0.1:{server.port}/ws/items/{item_id}/?token={site.token}"
    fan = FanOut()
    watchers = [asyncio.create_task(watch(url, fan)) for _ in range(WATCHERS)]
    try:
        await asyncio.wait_for(fan.ready.wait(), 20)
        async with LabelingClient.connect(
            server.base_url, item_id, site.token, width=WIDTH, height=HEIGHT
        ) as writer:
            commands = commands_of(site.label_class_ids, seed=2)
            out = []
            for n in range(20 + samples):
                started = time.perf_counter()
                ack = await writer.command(next(commands))
                await asyncio.wait_for(fan.everyone_has(ack.seq).wait(), 10)
                if n >= 20:
                    out.append(max(fan.arrivals[ack.seq]) - started)
            return out
    finally:
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)


def ring(cx: float, cy: float, radius: float, vertices: int) -> list[list[float]]:
    """A regular polygon of `vertices` around (cx, cy)."""
    turn = 2 * math.pi / vertices
    return [[cx + radius * math.cos(k * turn), cy + radius * math.sin(k * turn)] for k in range(vertices)]


async def merge_against_move(
    site: Site, item_id: int, samples: int
) -> tuple[list[list[float]], list[list[float]]]:
    """One client on one item with two overlapping 500-vertex shapes, in alternating rounds: `samples`
    move_shape commands of one of them (to and fro), then `samples` merges of the two, each undone
    (untimed) before the next; command -> ack each. Returns the rounds' moves and merges."""
    base = site.servers[0].base_url
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    label = site.label_class_ids[0]
    async with LabelingClient.connect(base, item_id, site.token, width=WIDTH, height=HEIGHT) as client:
        await client.hello()
        for shape_id, cx in ((a, 250.0), (b, 390.0)):
            polygon = ring(cx, 240.0, 100.0, MERGED_VERTICES)
            await client.command(
                {"type": "add_polygon", "shape_id": shape_id, "label_class_id": label, "points": polygon}
            )
        merge = {"type": "merge_shapes", "shape_ids": [a, b], "into": a}
        moves, merges = [], []
        for n in range(ROUNDS + 1):  # the first round warms up: connections, caches
            moved, merged = [], []
            for k in range(samples):
                started = time.perf_counter()
                await client.command(
                    {"type": "move_shape", "shape_id": a, "dx": 1.0 - 2 * (k % 2), "dy": 0.0}
                )
                moved.append(time.perf_counter() - started)
            for _ in range(samples):
                started = time.perf_counter()
                await client.command(merge)
                merged.append(time.perf_counter() - started)
                await client.command({"type": "undo"})
            if n:
                moves.append(moved)
                merges.append(merged)
        return moves, merges


def merge_rows(site: Site, quick: bool) -> list[Row]:
    """Merging two 500-vertex shapes against moving one, on the same server (issue 19: <= 3x)."""
    samples = 20 if quick else 100
    moves, merges = asyncio.run(asyncio.wait_for(merge_against_move(site, site.item_ids[2], samples), 600))
    move_p50s, merge_p50s = [pct(m, 0.5) for m in moves], [pct(m, 0.5) for m in merges]
    ratio = paired_ratio(merge_p50s, move_p50s)
    print(
        f"merge / move_shape, round ratios: {[round(a / b, 2) for a, b in zip(merge_p50s, move_p50s, strict=True)]}",
        file=sys.stderr,
    )
    return [
        row(
            f"ws merge of two {MERGED_VERTICES}-vertex shapes -> ack: p50",
            "sqlite",
            ms(median(merge_p50s)),
            "ms",
        ),
        row(
            f"ws move_shape of a {MERGED_VERTICES}-vertex shape -> ack: p50",
            "sqlite",
            ms(median(move_p50s)),
            "ms",
        ),
        row("ws merge p50 / move_shape p50", "sqlite", round(ratio, 2), "x", "<= 3", ratio <= 3),
    ]


def sqlite_rows(quick: bool) -> list[Row]:
    samples = 100 if quick else 700  # a round
    site = site_start(VAR / "sqlite", 1)
    commands = commands_of(site.label_class_ids, seed=1)
    echoes: list[list[float]] = []
    acks: list[list[float]] = []
    try:
        for _ in range(ROUNDS):
            echoes.append(asyncio.run(asyncio.wait_for(echo_latency(site, samples), 300)))
            acks.append(
                asyncio.run(asyncio.wait_for(ack_latency(site, site.item_ids[0], commands, samples), 300))
            )
        fans = asyncio.run(asyncio.wait_for(fan_out(site, site.item_ids[1], samples * ROUNDS // 4), 300))
        merged = merge_rows(site, quick)
    finally:
        site.stop()
    ack_p50s, echo_p50s = [pct(a, 0.5) for a in acks], [pct(e, 0.5) for e in echoes]
    p50, p99 = median(ack_p50s), pct([s for a in acks for s in a], 0.99)
    ratio = paired_ratio(ack_p50s, echo_p50s)
    fan50 = pct(fans, 0.5)
    return [
        row("ws command -> ack, one client: p50", "sqlite", ms(p50), "ms", "<= 3", p50 <= 0.003),
        row("ws command -> ack, one client: p99", "sqlite", ms(p99), "ms", "<= 15", p99 <= 0.015),
        row("floor: bare Channels echo on the same Daphne, p50", "-", ms(median(echo_p50s)), "ms"),
        row("ws ack p50 / echo p50", "sqlite", round(ratio, 2), "x", "<= 3", ratio <= 3),
        row(
            f"ws fan-out, 1 writer to {WATCHERS} watchers: p50",
            "sqlite",
            ms(fan50),
            "ms",
            "<= 10",
            fan50 <= 0.010,
        ),
        row(f"ws fan-out, 1 writer to {WATCHERS} watchers: p99", "sqlite", ms(pct(fans, 0.99)), "ms"),
        *merged,
    ]


# PostgreSQL + Redis: the load, polylog's and the floor's -----------------------------------------------


class FloorClient(LabelingClient):
    """Polylog's client on the floor's socket: the same frames, the same reader and the same work per frame,
    so the clients' share of the machine is alike. The floor promises no order (two writers of an item
    broadcast as they commit), so its events are kept as they come and checked as a set afterwards."""

    async def _on_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)


@contextlib.asynccontextmanager
async def floor_connect(server: Daphne, item_id: int) -> AsyncIterator[LabelingClient]:
    url = f"ws://127.0.0.1:{server.port}/ws/floor/items/{item_id}/"
    connection = await ws_connect(url, open_timeout=10, proxy=None, compression=None)
    client = FloorClient(connection, item_id, width=WIDTH, height=HEIGHT)
    try:
        yield client
    finally:
        await client.close()


@dataclass(frozen=True)
class Target:
    """What a round of the load drives: polylog (ordered events, after a hello) or the floor."""

    name: str
    events_sql: str  # every stored (item, seq) of the items %s
    ordered: bool

    def connect(self, site: Site, server: Daphne, item_id: int) -> contextlib.AbstractAsyncContextManager:
        if self.ordered:
            return LabelingClient.connect(server.base_url, item_id, site.token, width=WIDTH, height=HEIGHT)
        return floor_connect(server, item_id)


POLYLOG = Target("polylog", "SELECT item_id, seq FROM labeling_event WHERE item_id = ANY(%s)", ordered=True)
FLOOR = Target("floor", f"SELECT stream, seq FROM {floor_table.TABLE} WHERE stream = ANY(%s)", ordered=False)


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    acked: list[tuple[int, int]] = field(default_factory=list)  # (item_id, seq)
    rejected: int = 0
    last_refusal: str = ""


@dataclass
class Round:
    """One round of the load against one target, as the store and the clients saw it."""

    rate: float  # events stored per second
    latencies: list[float]
    rejected: int
    bad: int  # events acked but not stored, stored twice, or gaps in the seqs
    missed: int  # clients that missed or repeated an event
    cpu: dict[str, float]  # ms per command, by part (cpu_seconds)


async def load_client(
    client: LabelingClient,
    commands: Iterator[dict[str, Any]],
    ready: asyncio.Barrier,
    go: asyncio.Event,
    seconds: float,
    out: Outcome,
) -> None:
    await ready.wait()
    await go.wait()
    deadline = time.monotonic() + seconds
    for _ in range(1_000_000):  # bounded in count as well as in time
        if time.monotonic() >= deadline:
            break
        started = time.perf_counter()
        try:
            ack = await client.command(next(commands))
        except CommandRejected as refusal:
            out.rejected += 1
            out.last_refusal = f"{refusal.code}: {refusal.message}"
            continue
        out.latencies.append(time.perf_counter() - started)
        out.acked.append((client.item_id, ack.seq))


async def delivered(client: LabelingClient, count: int) -> None:
    """Wait until the client holds `count` events, for as long as they keep coming: one that gets nothing
    for DELIVERY_SECONDS (or whose socket closed) has missed the rest."""
    while len(client.events) < count:
        held = len(client.events)
        with contextlib.suppress(TimeoutError):
            await client.wait_until(lambda: len(client.events) >= count, DELIVERY_SECONDS)
        if len(client.events) == held:
            return


def received_all(client: LabelingClient, since: int, last: int, ordered: bool) -> bool:
    """Whether the client holds each event of its item after `since` up to `last` once (in seq order, and
    without asking again, for polylog)."""
    seqs = [event["seq"] for event in client.events]
    if ordered:
        return not (client.duplicates or client.gaps) and seqs == list(range(since + 1, last + 1))
    return sorted(seqs) == list(range(since + 1, last + 1))


async def load(
    site: Site,
    target: Target,
    commands: dict[tuple[int, int], Iterator[dict[str, Any]]],
    since: dict[int, int],
    seconds: float,
) -> tuple[Outcome, float, int, dict[str, float]]:
    """(outcome, elapsed seconds, clients that missed or repeated events, CPU seconds used by part)."""
    out = Outcome()
    ready, go = asyncio.Barrier(LOAD_CLIENTS + 1), asyncio.Event()
    # The two clients of an item are on different processes.
    places = [(site.servers[n % 2], site.item_ids[(n // 2) % ITEMS], n % 2) for n in range(LOAD_CLIENTS)]
    async with contextlib.AsyncExitStack() as stack:
        clients: list[LabelingClient] = await asyncio.gather(
            *(
                stack.enter_async_context(target.connect(site, server, item_id))
                for server, item_id, _ in places
            )
        )
        if target.ordered:
            await asyncio.gather(*(c.hello(since_seq=since[c.item_id]) for c in clients))
        tasks = [
            asyncio.create_task(load_client(c, commands[(item_id, slot)], ready, go, seconds, out))
            for c, (_, item_id, slot) in zip(clients, places, strict=True)
        ]
        await asyncio.wait_for(ready.wait(), 30)
        before = cpu_seconds(site)
        started = time.perf_counter()
        go.set()
        await asyncio.gather(*tasks)
        last = dict(since)
        for item_id, seq in out.acked:
            last[item_id] = max(seq, last[item_id])
        # The round ends when every client holds every event of its item: the floor's consumers fall
        # behind in sending events under this load (Channels' dispatch loop takes one channel message per
        # websocket frame, and a socket gets two events for each command it sends), and what they send
        # after the last ack is part of the round's work.
        await asyncio.gather(
            *(delivered(c, last[c.item_id] - since[c.item_id]) for c in clients), return_exceptions=True
        )
        elapsed = time.perf_counter() - started
        after = cpu_seconds(site)
        missed = sum(not received_all(c, since[c.item_id], last[c.item_id], target.ordered) for c in clients)
        return out, elapsed, missed, cpu_used(before, after)


def stored(database_url: str, target: Target, item_ids: list[int]) -> list[tuple[int, int]]:
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), connect_timeout=5) as conn:
        return [(item_id, seq) for item_id, seq in conn.execute(target.events_sql, [item_ids])]


def last_seqs(database_url: str, target: Target, item_ids: list[int]) -> dict[int, int]:
    last = dict.fromkeys(item_ids, 0)
    for item_id, seq in stored(database_url, target, item_ids):
        last[item_id] = max(seq, last[item_id])
    return last


def postgres_of(command: str, database: str) -> bool:
    """Whether a process's command line is PostgreSQL's working for `database`: one of its backends
    ("postgres: 15/main: <user> <database> <host>(<port>) <state>"), or one of the server's own processes
    ("postgres: 15/main: checkpointer", walwriter, ...), which have no client address. Other databases'
    backends (other test runs on the machine) are not the load's."""
    if not command.startswith("postgres: "):
        return False
    words = command.split(": ", 2)[-1].split()
    is_backend = any((w.endswith(")") and "(" in w) or w == "[local]" for w in words)
    return database in words[1:2] if is_backend else True


def cpu_seconds(site: Site) -> dict[tuple[str, int], float]:
    """CPU time (user + system) so far of each process of each part of the load, from /proc: this client
    process, the Daphnes, PostgreSQL (the bench database's backends and the server's own processes), Redis;
    and the whole machine (busy time of all cores, so that what no part names shows too), as pid 0."""
    import os

    tick = os.sysconf("SC_CLK_TCK")
    daphnes = {server.process.pid for server in site.servers}
    out: dict[tuple[str, int], float] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / tick
        pid = int(proc.name)
        if pid == os.getpid():
            out["clients", pid] = seconds
        elif pid in daphnes:
            out["Daphnes", pid] = seconds
        elif postgres_of(command, site.pg_database):
            out["PostgreSQL", pid] = seconds
        elif command.startswith(("redis-server", "/usr/bin/redis-server")) and ":6379" in command:
            out["Redis", pid] = seconds
    busy = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    values = [int(v) for v in busy]
    out[MACHINE, 0] = (sum(values[:8]) - values[3] - values[4]) / tick
    return out


def cpu_used(before: dict[tuple[str, int], float], after: dict[tuple[str, int], float]) -> dict[str, float]:
    """CPU seconds used between two readings, by part. A process counts from its first reading or its
    start; one that exits in between takes its time with it (the bench servers keep their database
    connections, tests/bench/asgi.py, so that PostgreSQL's backends stay)."""
    used = dict.fromkeys((*PARTS, MACHINE), 0.0)
    for (part, pid), seconds in after.items():
        used[part] += seconds - before.get((part, pid), 0.0)
    used[PROCESSES] = sum(used[part] for part in PARTS)
    return used


def load_round(
    site: Site,
    database_url: str,
    target: Target,
    commands: dict[tuple[int, int], Iterator[dict[str, Any]]],
    seconds: float,
) -> Round:
    items = site.item_ids[:ITEMS]
    since = last_seqs(database_url, target, items)
    out, elapsed, missed, cpu = asyncio.run(
        asyncio.wait_for(load(site, target, commands, since, seconds), seconds + 120)
    )
    if not out.latencies:
        raise RuntimeError(
            f"{target.name}: no command was acked; {out.rejected} refused, the last: {out.last_refusal}"
        )
    rows = [(item_id, seq) for item_id, seq in stored(database_url, target, items) if seq > since[item_id]]
    distinct = set(rows)
    lost = len(set(out.acked) - distinct)
    duplicated = len(rows) - len(distinct)
    by_item: dict[int, list[int]] = {}
    for item_id, seq in distinct:
        by_item.setdefault(item_id, []).append(seq)
    gaps = sum(max(seqs) - since[item_id] - len(seqs) for item_id, seqs in by_item.items())
    return Round(
        rate=len(rows) / elapsed,
        latencies=out.latencies,
        rejected=out.rejected,
        bad=lost + duplicated + gaps,
        missed=missed,
        cpu={part: 1e3 * used / max(1, len(rows)) for part, used in cpu.items()},
    )


def load_rows(site: Site, database_url: str, seconds: float) -> list[Row]:
    """The load, in alternating rounds: floor, polylog, floor, polylog, ..."""

    def generators() -> dict[tuple[int, int], Iterator[dict[str, Any]]]:
        return {
            (i, slot): drawing(slot, site.label_class_ids) for i in site.item_ids[:ITEMS] for slot in (0, 1)
        }

    ours_commands, floor_commands = generators(), generators()
    ours: list[Round] = []
    floors: list[Round] = []
    for _ in range(ROUNDS):
        floors.append(load_round(site, database_url, FLOOR, floor_commands, seconds))
        ours.append(load_round(site, database_url, POLYLOG, ours_commands, seconds))
    name = f"ws load, {LOAD_CLIENTS} clients on {ITEMS} items, 2 Daphnes"
    rate, floor_rate = median([r.rate for r in ours]), median([r.rate for r in floors])
    ratio = paired_ratio([r.rate for r in ours], [r.rate for r in floors])
    cpu = {part: median([r.cpu[part] for r in ours]) for part in ours[0].cpu}
    floor_cpu = {part: median([r.cpu[part] for r in floors]) for part in floors[0].cpu}

    def cpu_rows(whole: str) -> list[Row]:
        cpu_ratio = paired_ratio([r.cpu[whole] for r in ours], [r.cpu[whole] for r in floors])
        return [
            row(f"ws load: CPU per command, {whole}", "pg+redis", round(cpu[whole], 2), "ms"),
            row(f"ws load floor: CPU per command, {whole}", "pg+redis", round(floor_cpu[whole], 2), "ms"),
            row(f"ws load CPU/command ({whole}), polylog / floor", "pg+redis", round(cpu_ratio, 2), "x"),
        ]

    p99 = median([pct(r.latencies, 0.99) for r in ours])
    bad, floor_bad = sum(r.bad for r in ours), sum(r.bad for r in floors)
    missed, floor_missed = sum(r.missed for r in ours), sum(r.missed for r in floors)
    return [
        row(f"{name}: events/s", "pg+redis", round(rate), "events/s"),
        row("ws load floor (bare consumer): events/s", "pg+redis", round(floor_rate), "events/s"),
        row("ws load events/s, polylog / floor", "pg+redis", round(ratio, 2), "x", ">= 0.5", ratio >= 0.5),
        *cpu_rows(MACHINE),
        *cpu_rows(PROCESSES),
        row("ws load: ack p50", "pg+redis", ms(median([pct(r.latencies, 0.5) for r in ours])), "ms"),
        row("ws load: ack p99", "pg+redis", ms(p99), "ms", "<= 50", p99 <= 0.050),
        row("ws load floor: ack p50", "pg+redis", ms(median([pct(r.latencies, 0.5) for r in floors])), "ms"),
        row("ws load: commands refused", "pg+redis", sum(r.rejected for r in ours), "commands"),
        row("ws load: events lost, duplicated or gaps (store)", "pg+redis", bad, "events", "0", bad == 0),
        row(
            "ws load: clients that missed or repeated events", "pg+redis", missed, "clients", "0", missed == 0
        ),
        row(
            "ws load floor: lost, duplicated or gaps (store)",
            "pg+redis",
            floor_bad,
            "events",
            "0",
            floor_bad == 0,
        ),
        row(
            "ws load floor: clients that missed/repeated events",
            "pg+redis",
            floor_missed,
            "clients",
            "0",
            floor_missed == 0,
        ),
        # Where the CPU goes: on a machine of few cores the load is bound by the sum of these per command.
        *(
            row(f"ws load: CPU per command, {part}", "pg+redis", round(value, 2), "ms")
            for part, value in cpu.items()
            if part in PARTS
        ),
        *(
            row(f"ws load floor: CPU per command, {part}", "pg+redis", round(value, 2), "ms")
            for part, value in floor_cpu.items()
            if part in PARTS
        ),
    ]


# REST: a command against the floor route -----------------------------------------------------------------


def rest_latencies(site: Site, path: str, commands: Iterator[dict[str, Any]], samples: int) -> list[float]:
    """POST `samples` commands one after another on one keep-alive connection, as a script would."""
    server = site.servers[0]
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {
        "Authorization": f"Token {site.token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    out = []
    try:
        for n in range(20 + samples):  # the first 20 warm up
            body = json.dumps({"command_id": str(uuid.uuid4()), "command": next(commands)})
            started = time.perf_counter()
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            answer = response.read()
            elapsed = time.perf_counter() - started
            if response.status != 201:
                raise RuntimeError(f"POST {path}: {response.status} {answer[:300]!r}")
            if n >= 20:
                out.append(elapsed)
    finally:
        connection.close()
    return out


def rest_rows(site: Site, samples: int) -> list[Row]:
    item_id = site.item_ids[ITEMS]  # an item of its own: the load's are written by their clients
    ours_commands, floor_commands = drawing(0, site.label_class_ids), drawing(0, site.label_class_ids)
    ours: list[float] = []
    floors: list[float] = []
    for _ in range(ROUNDS):
        floors.append(
            pct(rest_latencies(site, f"/api/floor/items/{item_id}/commands/", floor_commands, samples), 0.5)
        )
        ours.append(pct(rest_latencies(site, f"/api/items/{item_id}/commands/", ours_commands, samples), 0.5))
    ratio = paired_ratio(ours, floors)
    return [
        row("REST command (POST items/<id>/commands/): p50", "pg+redis", ms(median(ours)), "ms"),
        row("REST floor (DRF, token auth, 201): p50", "pg+redis", ms(median(floors)), "ms"),
        row("REST command p50 / floor p50", "pg+redis", round(ratio, 2), "x", "<= 2", ratio <= 2),
    ]


def postgres_rows(quick: bool) -> list[Row]:
    try:
        database_url, redis_url = postgres_fresh(PG_DATABASE), redis_flushed(REDIS_DB)
    except Unavailable as exc:
        print(f"websocket load skipped: {exc}", file=sys.stderr)
        return [row("ws load: skipped", "pg+redis", "skipped", "", "", None)]
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(floor_table.table_sql("postgresql"))
    site = site_start(VAR / "postgresql", 2, photos=ITEMS + 1, DATABASE_URL=database_url, REDIS_URL=redis_url)
    try:
        return load_rows(site, database_url, 5 if quick else 30) + rest_rows(site, 100 if quick else 500)
    finally:
        site.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    rows = sqlite_rows(args.quick)
    if args.no_postgres:
        print("websocket load skipped: --no-postgres", file=sys.stderr)
    else:
        rows += postgres_rows(args.quick)
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
