"""`make bench`: the core's figures on SQLite and PostgreSQL, as a table and var/bench/results.json.

Each database runs in its own process (tests/bench/db.py) so that settings stay per process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/polylog_bench")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def pure_replay(quick: bool) -> list[dict]:
    sys.path.insert(0, str(ROOT))
    from apps.labeling.domain import Context, decide, evolve, initial_state
    from tests.bench.workload import session

    count = 20_000 if quick else 200_000
    state = initial_state(1000, 800)
    ctx = Context(actor=1, label_class_ids=frozenset({1, 2, 3}))
    events = []
    for command in session(1000, 800, [1, 2, 3]):
        for event in decide(state, command, ctx):
            state = evolve(state, event)
            events.append(event)
        if len(events) >= count:
            break
    best = float("inf")
    for _ in range(3):
        state = initial_state(1000, 800)
        start = time.perf_counter()
        for event in events:
            state = evolve(state, event)
        best = min(best, time.perf_counter() - start)
    return [
        {
            "name": "full replay, pure reducer",
            "value": round(len(events) / best),
            "unit": "events/s",
            "target": ">= 100000",
            "ok": len(events) / best >= 100_000,
            "database": "-",
        }
    ]


def db_run(database: str, url: str | None, quick: bool, module: str = "tests.bench.db") -> list[dict]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env["POLYLOG_VAR_DIR"] = str(ROOT / "var" / "bench" / database)
    if url:
        env["DATABASE_URL"] = url
    cmd = [sys.executable, "-m", module, "--database", database] + (["--quick"] if quick else [])
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        return [
            {
                "name": f"{database} benchmark",
                "value": "failed",
                "unit": "",
                "target": "",
                "ok": False,
                "database": database,
            }
        ]
    return json.loads(out.stdout.strip().splitlines()[-1])


def ws_run(quick: bool, no_postgres: bool) -> list[dict]:
    """The websocket figures (tests/bench/ws.py), in their own process: it starts Daphne servers itself.
    Its stderr is left on the terminal, so the reason for a skipped part is printed."""
    return module_run(
        "tests.bench.ws", "websocket benchmark", quick, ["--no-postgres"] if no_postgres else []
    )


def module_run(module: str, title: str, quick: bool, extra: list[str], timeout: int = 900) -> list[dict]:
    """A benchmark module that prints its rows as JSON on its last line, in its own process."""
    cmd = [sys.executable, "-m", module] + (["--quick"] if quick else []) + extra
    failed = [
        {
            "name": title,
            "value": "failed",
            "unit": "",
            "target": "",
            "ok": False,
            "database": "-",
        }
    ]
    try:
        out = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"the {title} took over {timeout} s; stopped", file=sys.stderr)
        return failed
    if out.returncode != 0:
        return failed
    return json.loads(out.stdout.strip().splitlines()[-1])


def postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(
            "postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3, autocommit=True
        ) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'polylog_bench'").fetchone():
                conn.execute("CREATE DATABASE polylog_bench")
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        print(f"PostgreSQL not reachable ({exc}); its figures are left out.", file=sys.stderr)
        return False


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes; under a minute")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--scale",
        action="store_true",
        help="also a job of 1,000,000 items against 10,000 (tests/bench/scale.py)",
    )
    args = parser.parse_args()
    started = time.time()
    rows = pure_replay(args.quick)
    rows += db_run("sqlite", None, args.quick)
    rows += db_run("sqlite", None, args.quick, module="tests.bench.data")
    rows += db_run("sqlite", None, args.quick, module="tests.bench.imports")
    rows += db_run("sqlite", None, args.quick, module="tests.bench.interchange")
    rows += db_run("sqlite", None, args.quick, module="tests.bench.exports")
    rows += db_run("sqlite", None, args.quick, module="tests.bench.browser")
    rows += db_run("sqlite", None, args.quick, module="tests.bench.audit")
    rows += db_run("sqlite", None, args.quick, module="tests.bench.quality")
    if not args.no_postgres and postgres_reachable():
        rows += db_run("postgresql", PG_URL, args.quick)
        rows += db_run("postgresql", PG_URL, args.quick, module="tests.bench.data")
        rows += db_run("postgresql", PG_URL, args.quick, module="tests.bench.interchange")
        rows += db_run("postgresql", PG_URL, args.quick, module="tests.bench.exports")
        rows += db_run("postgresql", PG_URL, args.quick, module="tests.bench.audit")
        rows += db_run("postgresql", PG_URL, args.quick, module="tests.bench.quality")
    rows += ws_run(args.quick, args.no_postgres)
    rows += module_run("tests.bench.reliability", "reliability figures", args.quick, [])
    rows += module_run("tests.bench.assist", "assist OpenCV tools figures", args.quick, [])
    rows += module_run("tests.bench.assist_model", "assist model plug figures", args.quick, [])
    if args.scale and not args.no_postgres and postgres_reachable():
        # Its own comparison table (10k and 1M p50, p95, ratio) goes to stderr as it finishes.
        rows += module_run("tests.bench.scale", "scale benchmark", False, [], timeout=3600)
    where = machine()
    command = "make bench" + (" QUICK=1" if args.quick else "") + (" SCALE=1" if args.scale else "")
    print(f"\npolylog benchmark: `{command}` on {where}\n")
    widths = [52, 12, 14, 10, 18, 5]
    header = ["figure", "database", "value", "unit", "target", "ok"]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        cells = [
            r["name"],
            r["database"],
            str(r["value"]),
            r["unit"],
            r["target"],
            "yes" if r["ok"] else ("-" if r["ok"] is None else "NO"),
        ]
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
    if any(r["name"].startswith("ws ") for r in rows):
        print(
            "\nws: real Daphne processes on 127.0.0.1 driven with the websockets library (tests/bench/ws.py),"
            "\nwith the per-connection command limit lifted (POLYLOG_WS_COMMANDS_PER_SECOND, _COMMAND_BURST)."
            "\nfloor rows: the same Daphnes serving the bare Channels consumer, echo and DRF view of"
            "\ntests/bench/floor.py, in rounds alternating with polylog's; a figure is the median of its"
            "\nrounds, a ratio the median of each round's ratio to the floor round before it (the performance"
            "\nguard of docs/performance.md)."
        )
    print(f"\n({time.time() - started:.0f} s)")
    out = ROOT / "var" / "bench" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out.write_text(
        json.dumps([{**r, "machine": where, "command": command, "at": stamp} for r in rows], indent=2)
    )
    print(f"written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
