"""Database-bound figures for one database (the one DATABASE_URL names, SQLite by default).

Prints one JSON line: the rows for the table of tests/bench/run.py.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterator

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from PIL import Image as PILImage  # noqa: E402

from apps.datasets.models import Dataset, Image  # noqa: E402
from apps.datasets.services import image_create  # noqa: E402
from apps.labeling import store  # noqa: E402
from apps.labeling.domain import Command, Context, decide, evolve, initial_state, state_to_dict  # noqa: E402
from apps.labeling.models import Item, Snapshot, StoredEvent  # noqa: E402
from apps.labeling.readmodels import item_columns_write, read_model  # noqa: E402
from apps.labeling.selectors import item_state_get  # noqa: E402
from apps.labeling.services import item_command_handle, job_create, job_sync  # noqa: E402
from tests.bench.workload import session  # noqa: E402


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: Callable[[], object], n: int, before: Callable[[], object] | None = None) -> list[float]:
    out = []
    for _ in range(n):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def fresh_database() -> None:
    if connection.vendor == "sqlite":
        connection.close()
        path = settings.DATABASES["default"]["NAME"]
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(f"{path}{suffix}"):
                os.remove(f"{path}{suffix}")
    else:
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)


class Stream:
    """An item plus the session that writes to it, so benchmarks can keep appending valid commands."""

    def __init__(self, item: Item, actor: int, labels: list[int], seed: int) -> None:
        self.item, self.actor, self.labels = item, actor, labels
        self.commands: Iterator[Command] = session(1000, 800, labels, seed=seed)

    def send(self) -> None:
        item_command_handle(item_id=self.item.pk, actor_id=self.actor, command=next(self.commands))

    def bulk_load(self, count: int) -> None:
        """Write `count` events straight through the store (as the service would, minus the per-command
        round trips), with snapshots every K, so a 100,000-event stream takes seconds to build."""
        every = store.snapshot_every()
        ctx = Context(actor=self.actor, label_class_ids=frozenset(self.labels))
        state, prev = initial_state(1000, 800), store.GENESIS_HASH
        rows, snapshots, now = [], [], django.utils.timezone.now()
        while state.seq < count:
            events = decide(state, next(self.commands), ctx)
            if not events:
                continue
            new_rows = store.rows_for(
                self.item.pk, state.seq + 1, events, prev_hash=prev, created_at=now, command_id=None
            )
            prev = new_rows[-1].hash
            rows += [row.model() for row in new_rows]
            for event in events:
                state = evolve(state, event)
                if state.seq % every == 0:
                    snapshots.append(
                        Snapshot(item_id=self.item.pk, seq=state.seq, state=state_to_dict(state))
                    )
            if len(rows) >= 5000:
                StoredEvent.objects.bulk_create(rows)
                Snapshot.objects.bulk_create(snapshots)
                rows, snapshots = [], []
        StoredEvent.objects.bulk_create(rows)
        Snapshot.objects.bulk_create(snapshots)
        item_columns_write(self.item, read_model(state, None, store.label_slots(self.item.job_id)), now)
        self.item.refresh_from_db()


def tiny_png(width: int, height: int) -> bytes:
    data = io.BytesIO()
    PILImage.new("RGB", (width, height), (200, 200, 200)).save(data, format="PNG")
    return data.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_commands = 400 if args.quick else 3000
    long_length = 10_000 if args.quick else 100_000
    n_samples = 100 if args.quick else 300

    fresh_database()
    user = get_user_model().objects.create_user("bench", password="bench-bench")
    dataset = Dataset.objects.create(name="bench")
    for n in range(3):
        image_create(dataset=dataset, path=f"bench_{n}.png", content=tiny_png(1000, 800))
    job = job_create(
        name="bench",
        dataset=dataset,
        created_by=user,
        label_classes=[{"name": f"class {n}", "color": "#336699"} for n in range(3)],
    )
    labels = list(job.label_classes.values_list("id", flat=True))
    first, _, long_item = list(Item.objects.filter(job=job).order_by("id"))
    db, rows = args.database, []

    def row(name: str, value: float, unit: str, target: str = "", ok: bool | None = None) -> None:
        rows.append({"name": name, "database": db, "value": value, "unit": unit, "target": target, "ok": ok})

    # 1. A command handled in process, warm (the usual case: the item's state is in the cache).
    live = Stream(first, user.pk, labels, seed=1)
    for _ in range(50):
        live.send()
    started = time.perf_counter()
    samples = timed(live.send, n_commands)
    total = time.perf_counter() - started
    p50_target = 1.0 if connection.vendor == "sqlite" else 2.0
    p50 = pct(samples, 0.5) * 1000
    row("command handled in process: p50", round(p50, 3), "ms", f"<= {p50_target:g}", p50 <= p50_target)
    row("command handled in process: p99", round(pct(samples, 0.99) * 1000, 3), "ms")
    row("commands per second (one writer)", round(n_commands / total), "cmd/s")

    # 2. The floor: a bare single-row INSERT + COMMIT on the same database.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, body TEXT)")
    counter = iter(range(1, 10**9))

    def floor_insert() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_floor (id, body) VALUES (%s, %s)", [next(counter), '{"x": 1}'])

    floor = pct(timed(floor_insert, n_commands), 0.5) * 1000
    row("floor: bare INSERT + COMMIT, p50", round(floor, 3), "ms")
    row("command p50 / floor p50", round(p50 / floor, 1), "x")

    # 3. Append latency at stream length 10 against a long stream. Each short sample is an append to
    #    its own 10-event stream, so every sample really is at length 10. Cold = the state is not cached
    #    (another process wrote last, or a restart), so the service loads the nearest snapshot and the
    #    tail: this is what shows snapshots work. Warm = the usual case, the state is cached.
    Image.objects.bulk_create(
        Image(
            dataset=dataset,
            file=f"bench/{n}.png",
            name=f"{n}.png",
            path=f"extra/{n}.png",
            width=1000,
            height=800,
            checksum="-",
        )
        for n in range(n_samples)
    )
    job_sync(job=job)
    shorts = [
        Stream(item, user.pk, labels, seed=10 + n)
        for n, item in enumerate(Item.objects.filter(job=job).order_by("id")[3:])
    ]
    for stream in shorts:
        stream.bulk_load(10)
    long = Stream(long_item, user.pk, labels, seed=3)
    long.bulk_load(long_length)
    middle = live  # the stream of part 1, a few thousand events long by now
    middle.item.refresh_from_db()
    middle_cold = timed(middle.send, n_samples, before=store.state_cache.clear)
    short_cold, short_warm = [], []
    for stream in shorts:
        short_cold += timed(stream.send, 1, before=store.state_cache.clear)
        short_warm += timed(stream.send, 1)
    long_cold = timed(long.send, n_samples, before=store.state_cache.clear)
    long_warm = timed(long.send, n_samples)
    figures = {}
    for name, samples in (
        ("10: p50 cold", short_cold),
        ("10: p50 warm", short_warm),
        (f"{long_length:,}: p50 cold", long_cold),
        (f"{long_length:,}: p50 warm", long_warm),
    ):
        figures[name] = pct(samples, 0.5) * 1000
        row(f"append at stream length {name}", round(figures[name], 3), "ms")
    cold_ratio = figures[f"{long_length:,}: p50 cold"] / figures["10: p50 cold"]
    warm_ratio = figures[f"{long_length:,}: p50 warm"] / figures["10: p50 warm"]
    row(
        f"append {long_length:,} vs 10 events, cold ratio",
        round(cold_ratio, 2),
        "x",
        "<= 1.5",
        cold_ratio <= 1.5,
    )
    # The cold cost follows the state's size (undo history, shapes), bounded by K, not the stream's length:
    middle_ratio = figures[f"{long_length:,}: p50 cold"] / (pct(middle_cold, 0.5) * 1000)
    row(f"append {long_length:,} vs {middle.item.last_seq:,} events, cold ratio", round(middle_ratio, 2), "x")
    row(
        f"append {long_length:,} vs 10 events, warm ratio",
        round(warm_ratio, 2),
        "x",
        "<= 1.5",
        warm_ratio <= 1.5,
    )

    # 4. State at an arbitrary seq of the long stream.
    long.item.refresh_from_db()
    rng = random.Random(5)
    seqs = [rng.randint(1, long.item.last_seq) for _ in range(n_samples)]
    seq_iter = iter(seqs)
    at = pct(timed(lambda: item_state_get(item=long.item, at_seq=next(seq_iter)), n_samples), 0.5) * 1000
    row(f"state at a random seq of {long_length:,} events: p50", round(at, 3), "ms", "<= 10", at <= 10)

    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
