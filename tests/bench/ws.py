"""Websocket figures for `make bench`: real Daphne processes on loopback, driven with `websockets`.

- SQLite, one Daphne, in-memory channel layer: command -> ack of one client (LabelingClient), against the
  floor of a bare Channels echo on the same Daphne (tests/bench/asgi_echo.py); and fan-out, the time from a
  writer's command until five watchers of the item all have its event.
- PostgreSQL + Redis, two Daphne processes: 20 clients on 10 items (two per item, one on each process) for
  30 s (5 s with --quick); events stored per second, the p99 ack, and events lost, duplicated or missing
  counted from the store and from what each client received.

Every server runs with the per-connection command limit lifted (POLYLOG_WS_COMMANDS_PER_SECOND and
POLYLOG_WS_COMMAND_BURST, 50/s and 100 by default), so the figures are the server's and not the limit's;
and with DEBUG off, as deployed. Prints one JSON line: the rows for the table of tests/bench/run.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect as ws_connect

from apps.labeling.client import CommandRejected, LabelingClient, http_json, token_get
from apps.labeling.domain import command_to_dict
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
WIDTH, HEIGHT = 640, 480
ITEMS = 10
LOAD_CLIENTS = 20
WATCHERS = 5
PG_DATABASE = "polylog_bench_ws"
REDIS_DB = 6
UNLIMITED = {
    "POLYLOG_WS_COMMANDS_PER_SECOND": "1000000",
    "POLYLOG_WS_COMMAND_BURST": "1000000",
    "DEBUG": "false",
}
OCTAGON = ((-1, 0), (-0.7, -0.7), (0, -1), (0.7, -0.7), (1, 0), (0.7, 0.7), (0, 1), (-0.7, 0.7))
Row = dict[str, Any]


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def row(name: str, database: str, value: Any, unit: str, target: str = "", ok: bool | None = None) -> Row:
    return {"name": name, "database": database, "value": value, "unit": unit, "target": target, "ok": ok}


@dataclass
class Site:
    """Servers seeded with the demo job (ITEMS generated photos), and what clients need to label it."""

    servers: list[Daphne]
    token: str
    item_ids: list[int]
    label_class_ids: list[int]

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def site_start(var_dir: Path, processes: int, application: str, **settings: str) -> Site:
    shutil.rmtree(var_dir, ignore_errors=True)
    env = server_env(var_dir, **UNLIMITED, **settings)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--photos", str(photos_write(var_dir / "photos", ITEMS, size=(WIDTH, HEIGHT))))
    servers = [
        daphne_start(env, var_dir / "logs", f"daphne{n}", application=application) for n in range(processes)
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
    return Site(servers, token, sorted(i["id"] for i in items), [c["id"] for c in classes])


def commands_of(label_class_ids: list[int], seed: int) -> Iterator[dict[str, Any]]:
    """The shared benchmark session (draw, close, move, undo/redo, save, clear) as wire commands."""
    for command in session(WIDTH, HEIGHT, label_class_ids, seed=seed):
        yield command_to_dict(command)


def drawing(slot: int, label_class_ids: list[int]) -> Iterator[dict[str, Any]]:
    """Endless, for the load: 8-vertex polygons in a grid on one half of the image (`slot` 0 or 1), each
    closed and moved; every five, those five are deleted. Every command makes one event, whatever the
    other client on the item does, since each only touches its own shapes."""
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


# SQLite: one client's latency, the floor, fan-out -----------------------------------------------------


async def ack_latency(site: Site, item_id: int, samples: int) -> list[float]:
    base = site.servers[0].base_url
    async with LabelingClient.connect(base, item_id, site.token, width=WIDTH, height=HEIGHT) as client:
        await client.hello(since_seq=0)
        commands = commands_of(site.label_class_ids, seed=1)
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


def sqlite_rows(quick: bool) -> list[Row]:
    samples = 300 if quick else 2000
    site = site_start(VAR / "sqlite", 1, "tests.bench.asgi_echo:application")
    try:
        acks = asyncio.run(asyncio.wait_for(ack_latency(site, site.item_ids[0], samples), 300))
        echoes = asyncio.run(asyncio.wait_for(echo_latency(site, samples), 300))
        fans = asyncio.run(asyncio.wait_for(fan_out(site, site.item_ids[1], samples // 4), 300))
    finally:
        site.stop()
    p50, p99, floor = pct(acks, 0.5), pct(acks, 0.99), pct(echoes, 0.5)
    fan50 = pct(fans, 0.5)
    return [
        row("ws command -> ack, one client: p50", "sqlite", ms(p50), "ms", "<= 3", p50 <= 0.003),
        row("ws command -> ack, one client: p99", "sqlite", ms(p99), "ms", "<= 15", p99 <= 0.015),
        row("floor: bare Channels echo on the same Daphne, p50", "-", ms(floor), "ms"),
        row("ws ack p50 / echo p50", "sqlite", round(p50 / floor, 1), "x"),
        row(
            f"ws fan-out, 1 writer to {WATCHERS} watchers: p50",
            "sqlite",
            ms(fan50),
            "ms",
            "<= 10",
            fan50 <= 0.010,
        ),
        row(f"ws fan-out, 1 writer to {WATCHERS} watchers: p99", "sqlite", ms(pct(fans, 0.99)), "ms"),
    ]


# PostgreSQL + Redis: the load ---------------------------------------------------------------------------


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    acked: list[tuple[int, int]] = field(default_factory=list)  # (item_id, seq)
    rejected: int = 0
    last_refusal: str = ""


async def load_client(
    client: LabelingClient, slot: int, site: Site, start: asyncio.Barrier, seconds: float, out: Outcome
) -> None:
    commands = drawing(slot, site.label_class_ids)
    await client.hello(since_seq=0)
    await start.wait()
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


async def load(site: Site, seconds: float) -> tuple[Outcome, float, int]:
    """(outcome, elapsed seconds, events missing or repeated at the clients)."""
    out = Outcome()
    start = asyncio.Barrier(LOAD_CLIENTS + 1)
    async with contextlib.AsyncExitStack() as stack:
        clients: list[LabelingClient] = await asyncio.gather(
            *(
                stack.enter_async_context(
                    LabelingClient.connect(
                        site.servers[n % 2].base_url,  # the two clients of an item are on different processes
                        site.item_ids[(n // 2) % ITEMS],
                        site.token,
                        width=WIDTH,
                        height=HEIGHT,
                    )
                )
                for n in range(LOAD_CLIENTS)
            )
        )
        tasks = [
            asyncio.create_task(load_client(c, n % 2, site, start, seconds, out))
            for n, c in enumerate(clients)
        ]
        await asyncio.wait_for(start.wait(), 30)
        started = time.perf_counter()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        last: dict[int, int] = {}
        for item_id, seq in out.acked:
            last[item_id] = max(seq, last.get(item_id, 0))
        # A client still short of its item's last event after a few seconds (or whose socket closed) has
        # missed events; so has one that saw a repeated or missing event on the way.
        await asyncio.gather(
            *(c.wait_for_seq(last.get(c.item_id, 0), 3) for c in clients), return_exceptions=True
        )
        missed = sum(
            bool(c.duplicates or c.gaps)
            or [e["seq"] for e in c.events] != list(range(1, last.get(c.item_id, 0) + 1))
            for c in clients
        )
        return out, elapsed, missed


def stored(database_url: str, item_ids: list[int]) -> list[tuple[int, int]]:
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), connect_timeout=5) as conn:
        rows = conn.execute("SELECT item_id, seq FROM labeling_event WHERE item_id = ANY(%s)", [item_ids])
        return [(item_id, seq) for item_id, seq in rows]


def cpu_seconds(site: Site) -> dict[str, float]:
    """CPU time (user + system) so far of each part of the load, from /proc: this client process, the
    Daphnes, PostgreSQL (the bench database's backends and the server's own processes), Redis, and the
    whole machine (busy time of all cores, so that what no part names shows too). A backend that exits
    within the window drops out of the sum: the Daphnes keep their connections (CONN_MAX_AGE)."""
    import os

    tick = os.sysconf("SC_CLK_TCK")
    daphnes = {server.process.pid for server in site.servers}
    parts = dict.fromkeys(("clients", "Daphnes", "PostgreSQL", "Redis"), 0.0)
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
            parts["clients"] += seconds
        elif pid in daphnes:
            parts["Daphnes"] += seconds
        elif command.startswith("postgres: ") and ("main: " in command or PG_DATABASE in command):
            parts["PostgreSQL"] += seconds
        elif command.startswith("redis-server") or command.startswith("/usr/bin/redis-server"):
            parts["Redis"] += seconds
    busy = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    values = [int(v) for v in busy]
    parts["machine (all cores busy)"] = (sum(values[:8]) - values[3] - values[4]) / tick
    return parts


def load_rows(quick: bool) -> list[Row]:
    seconds = 5 if quick else 30
    name = f"ws load, {LOAD_CLIENTS} clients on {ITEMS} items, 2 Daphnes"
    try:
        database_url, redis_url = postgres_fresh(PG_DATABASE), redis_flushed(REDIS_DB)
    except Unavailable as exc:
        print(f"websocket load skipped: {exc}", file=sys.stderr)
        return [row(f"{name}: skipped", "pg+redis", "skipped", "", "", None)]
    site = site_start(
        VAR / "postgresql",
        2,
        "config.asgi:application",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
    )
    try:
        before = cpu_seconds(site)
        out, elapsed, missed = asyncio.run(asyncio.wait_for(load(site, seconds), seconds + 120))
        after = cpu_seconds(site)
    finally:
        site.stop()
    if not out.latencies:
        raise RuntimeError(f"no command was acked; {out.rejected} refused, the last: {out.last_refusal}")
    rows_in_store = stored(database_url, site.item_ids)
    distinct = set(rows_in_store)
    lost = len(set(out.acked) - distinct)
    duplicated = len(rows_in_store) - len(distinct)
    by_item: dict[int, list[int]] = {}
    for item_id, seq in distinct:
        by_item.setdefault(item_id, []).append(seq)
    gaps = sum(max(seqs) - len(seqs) for seqs in by_item.values())
    rate, p99 = len(rows_in_store) / elapsed, pct(out.latencies, 0.99)
    bad = lost + duplicated + gaps
    # Where the CPU goes: on a machine of few cores the load is bound by the sum of these per command.
    cpu = [
        row(
            f"ws load: CPU per command, {part}",
            "pg+redis",
            round(1e3 * (after[part] - before[part]) / max(1, len(rows_in_store)), 2),
            "ms",
        )
        for part in before
    ]
    return [
        row(f"{name}: events/s", "pg+redis", round(rate), "events/s", ">= 1000", rate >= 1000),
        row("ws load: ack p50", "pg+redis", ms(pct(out.latencies, 0.5)), "ms"),
        row("ws load: ack p99", "pg+redis", ms(p99), "ms", "<= 50", p99 <= 0.050),
        row("ws load: commands refused", "pg+redis", out.rejected, "commands"),
        row("ws load: events lost, duplicated or gaps (store)", "pg+redis", bad, "events", "0", bad == 0),
        row(
            "ws load: clients that missed or repeated events", "pg+redis", missed, "clients", "0", missed == 0
        ),
        *cpu,
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    rows = sqlite_rows(args.quick)
    if args.no_postgres:
        print("websocket load skipped: --no-postgres", file=sys.stderr)
    else:
        rows += load_rows(args.quick)
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
