"""A/B of two code versions under the websocket load of `make bench` (docs/performance.md, "A/B of two code
versions").

    .venv/bin/python -m tests.bench.ab --a HEAD~1 --b .
    .venv/bin/python -m tests.bench.ab --a . --a-env POLYLOG_X=0 --b . --b-env POLYLOG_X=1 --rounds 7

A variant is a source tree, a git revision checked out into a temporary `git worktree` (removed at the
end) or `.`, this working tree as it is, uncommitted changes included, with optional environment settings
of its own. Each variant gets a site of its own, started once: two Daphne processes running from its tree
(their working directory and PYTHONPATH) with this project's python (.venv), on a PostgreSQL database of
its own (polylog_ab_a, polylog_ab_b, migrated by the variant's own migrations and seeded with the demo job)
and a Redis database of its own (3 and 4, so the two channel layers never hear each other). The load is
tests/bench/ws.py's: 20 clients (this tree's `LabelingClient`) on 10 items, two per item, one on each
Daphne, each sending commands as fast as it gets acks, for `--seconds` a round.

Rounds alternate, A, B, A, B, ... (`--rounds` each, after one unrecorded warm-up round each), so that
the machine's drift touches both alike; while one site is loaded the other's Daphnes sit idle. A figure is
the median of its variant's rounds; B/A is the median of the ratios of each B round to the A round just
before it. CPU per command is counted from /proc (tests/bench/ws.py's `cpu_seconds`): the machine's busy
time of all cores, and the sum of the load's own processes (this client, the variant's Daphnes, its
database's PostgreSQL backends and the server's own processes, Redis), per stored event.

Each round also counts what went wrong: events acked but not stored, stored twice or missing from an
item's seqs ("lost/dup"), clients that missed or repeated an event ("missed"), and refused commands.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.ws import (
    APPLICATION,
    ITEMS,
    LOAD_CLIENTS,
    MACHINE,
    PARTS,
    POLYLOG,
    PROCESSES,
    Round,
    Site,
    drawing,
    load_round,
    median,
    pct,
    site_start,
)
from tests.live_servers import ROOT, git, postgres_fresh, redis_flushed

VAR = ROOT / "var" / "bench" / "ab"
PG_DATABASES = {"A": "polylog_ab_a", "B": "polylog_ab_b"}
REDIS_DBS = {"A": 3, "B": 4}
# When a tree has no tests/bench/asgi.py (a revision older than it), its Daphnes serve this instead.
PLAIN_APPLICATION = "config.asgi:application"


@dataclass
class Variant:
    """One side of the A/B: a source tree and the environment its servers get on top of the usual."""

    name: str  # "A" or "B"
    source: str  # "." or a git revision, as given
    env: dict[str, str]
    tree: Path = ROOT
    commit: str = ""  # what the source names, for the record
    worktree: bool = False  # made by us, removed at the end
    site: Site | None = None
    database_url: str = ""
    rounds: list[Round] = field(default_factory=list)

    def label(self) -> str:
        settings = " ".join(f"{k}={v}" for k, v in self.env.items())
        return f"{self.source} ({self.commit})" + (f" {settings}" if settings else "")


def tree_prepare(variant: Variant, scratch: Path) -> None:
    """Check the variant's revision out into a worktree under `scratch`, or take this working tree."""
    if variant.source == ".":
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
        variant.commit = f"working tree on {head}" + (", with uncommitted changes" if dirty else "")
        return
    commit = git("rev-parse", "--verify", "--quiet", f"{variant.source}^{{commit}}")
    variant.commit = commit[:10]
    variant.tree = scratch / variant.name
    git("worktree", "add", "--detach", str(variant.tree), commit)
    variant.worktree = True


def tree_check(variant: Variant, env: dict[str, str]) -> None:
    """The servers must import the variant's code, not the project the venv was installed from."""
    probe = "import apps, config; print(apps.__file__); print(config.__file__)"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=variant.tree, env=env, capture_output=True, text=True, timeout=60
    )
    paths = [Path(line).resolve() for line in done.stdout.split()]
    tree = variant.tree.resolve()
    if done.returncode != 0 or len(paths) != 2 or not all(p.is_relative_to(tree) for p in paths):
        raise RuntimeError(f"{variant.name}: the tree's code is not what its python imports: {done}")


def application_of(tree: Path, wanted: str) -> str:
    if wanted == APPLICATION and not (tree / "tests" / "bench" / "asgi.py").exists():
        print(f"{tree} has no tests/bench/asgi.py: serving {PLAIN_APPLICATION}", file=sys.stderr)
        return PLAIN_APPLICATION
    return wanted


def site_prepare(variant: Variant, application: str) -> None:
    variant.database_url = postgres_fresh(PG_DATABASES[variant.name])
    redis_url = redis_flushed(REDIS_DBS[variant.name])
    settings = {"DATABASE_URL": variant.database_url, "REDIS_URL": redis_url, "PYTHONPATH": str(variant.tree)}
    settings.update(variant.env)
    tree_check(variant, {**os.environ, **settings})
    variant.site = site_start(
        VAR / variant.name,
        2,
        application_of(variant.tree, application),
        photos=ITEMS,
        root=variant.tree,
        **settings,
    )


def commands_for(site: Site) -> dict[tuple[int, int], Iterator[dict[str, Any]]]:
    return {(i, slot): drawing(slot, site.label_class_ids) for i in site.item_ids[:ITEMS] for slot in (0, 1)}


def one_round(
    variant: Variant, commands: dict[tuple[int, int], Iterator[dict[str, Any]]], seconds: float
) -> Round:
    assert variant.site is not None
    return load_round(variant.site, variant.database_url, POLYLOG, commands, seconds)


def round_line(variant: Variant, n: int | str, r: Round) -> str:
    return (
        f"{variant.name} round {n}: {r.rate:.0f} events/s, CPU/command {r.cpu[MACHINE]:.2f} ms machine, "
        f"{r.cpu[PROCESSES]:.2f} ms its processes; ack p50 {1e3 * pct(r.latencies, 0.5):.1f} ms, "
        f"p99 {1e3 * pct(r.latencies, 0.99):.1f} ms; lost/dup {r.bad}, missed {r.missed}, refused {r.rejected}"
    )


# The table --------------------------------------------------------------------------------------------

FIGURES: list[tuple[str, Any, str]] = [
    # (name, a round's figure, format)
    ("events/s", lambda r: r.rate, "{:.0f}"),
    ("CPU per command, machine (ms)", lambda r: r.cpu[MACHINE], "{:.3f}"),
    ("CPU per command, its processes (ms)", lambda r: r.cpu[PROCESSES], "{:.3f}"),
    *(
        (f"  of which {part} (ms)", lambda r, part=part: r.cpu[part], "{:.3f}")
        for part in PARTS  # clients, Daphnes, PostgreSQL, Redis
    ),
    ("ack p50 (ms)", lambda r: 1e3 * pct(r.latencies, 0.5), "{:.1f}"),
    ("ack p99 (ms)", lambda r: 1e3 * pct(r.latencies, 0.99), "{:.1f}"),
]
# Figures whose round ratios are printed too, to show the spread behind their medians.
SPREAD = (
    "events/s",
    "CPU per command, machine (ms)",
    "CPU per command, its processes (ms)",
    "of which Daphnes (ms)",
)
COUNTS: list[tuple[str, Any]] = [
    ("events lost, duplicated or gapped (store), all rounds", lambda r: r.bad),
    ("clients that missed or repeated events, all rounds", lambda r: r.missed),
    ("commands refused, all rounds", lambda r: r.rejected),
]


def table(a: Variant, b: Variant) -> str:
    """A markdown table: each figure's median per variant, and B/A as the median of the round ratios."""
    lines = ["| figure | A | B | B/A (median of round ratios) |", "| --- | --- | --- | --- |"]
    for name, of, fmt in FIGURES:
        ratios = [of(rb) / of(ra) for ra, rb in zip(a.rounds, b.rounds, strict=True) if of(ra)]
        ratio = f"{median(ratios):.3f}" if ratios else "-"
        a_value, b_value = median([of(r) for r in a.rounds]), median([of(r) for r in b.rounds])
        lines.append(f"| {name} | {fmt.format(a_value)} | {fmt.format(b_value)} | {ratio} |")
    for name, of in COUNTS:
        lines.append(f"| {name} | {sum(of(r) for r in a.rounds)} | {sum(of(r) for r in b.rounds)} | |")
    lines.append("")
    for name, of, _ in FIGURES:
        if name.strip() not in SPREAD:
            continue
        ratios = [of(rb) / of(ra) for ra, rb in zip(a.rounds, b.rounds, strict=True) if of(ra)]
        lines.append(f"B/A by round, {name.strip()}: " + " ".join(f"{ratio:.2f}" for ratio in ratios))
    return "\n".join(lines)


# Running -------------------------------------------------------------------------------------------------


def settings_parse(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"an environment setting is NAME=VALUE, not {pair!r}")
        out[name] = value
    return out


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.ab",
        description=(
            "Run the websocket load of `make bench` (20 clients on 10 items, two Daphnes, PostgreSQL + "
            "Redis) in alternating rounds on two code versions, A and B, and print per variant the "
            "median events/s, CPU per command, ack p50/p99 and lost or missed events, with B/A as the "
            "median of the per-round-pair ratios. Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and "
            "Redis on 127.0.0.1:6379."
        ),
        epilog=(
            "Examples: --a HEAD~1 --b .  |  --a . --a-env POLYLOG_X=0 --b . --b-env POLYLOG_X=1. "
            "The servers use this project's python (.venv) and run from the variant's tree; the clients, "
            "the load and this harness are this working tree's. Figures: docs/performance.md."
        ),
    )
    for side in ("a", "b"):
        upper = side.upper()
        parser.add_argument(
            f"--{side}",
            required=True,
            metavar="REV",
            help=f"variant {upper}'s source: a git revision (checked out into a temporary worktree) or '.' "
            "(this working tree, uncommitted changes included)",
        )
        parser.add_argument(
            f"--{side}-env",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help=f"an environment setting for variant {upper}'s servers (repeatable)",
        )
    parser.add_argument("--rounds", type=int, default=5, help="recorded rounds of each variant (default 5)")
    parser.add_argument("--seconds", type=float, default=5, help="seconds of load a round (default 5)")
    parser.add_argument(
        "--warmup",
        type=float,
        default=3,
        help="seconds of an unrecorded first round of each (default 3; 0: none)",
    )
    parser.add_argument(
        "--application",
        default=APPLICATION,
        help=f"the ASGI application the Daphnes serve (default {APPLICATION}; {PLAIN_APPLICATION} for a "
        "tree without it)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.seconds <= 0:
        parser.error("--rounds must be at least 1 and --seconds above 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    a = Variant("A", args.a, settings_parse(args.a_env))
    b = Variant("B", args.b, settings_parse(args.b_env))
    scratch = Path(tempfile.mkdtemp(prefix="polylog-ab-"))
    try:
        for variant in (a, b):
            tree_prepare(variant, scratch)
            print(f"{variant.name}: {variant.label()} in {variant.tree}", file=sys.stderr)
        for variant in (a, b):
            site_prepare(variant, args.application)
        assert a.site is not None and b.site is not None
        commands = {a.name: commands_for(a.site), b.name: commands_for(b.site)}
        if args.warmup > 0:
            for variant in (a, b):
                warm = one_round(variant, commands[variant.name], args.warmup)
                print(round_line(variant, "warm-up", warm), file=sys.stderr)
        for n in range(1, args.rounds + 1):
            for variant in (a, b):
                variant.rounds.append(one_round(variant, commands[variant.name], args.seconds))
                print(round_line(variant, n, variant.rounds[-1]), file=sys.stderr)
    finally:
        for variant in (a, b):
            if variant.site is not None:
                variant.site.stop()
            if variant.worktree:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(variant.tree)], cwd=ROOT, check=False
                )
        shutil.rmtree(scratch, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False)
    print(
        f"\n{LOAD_CLIENTS} clients on {ITEMS} items, 2 Daphnes each, PostgreSQL + Redis; "
        f"{args.rounds} alternating rounds of {args.seconds:g} s each\n"
        f"A: {a.label()}\nB: {b.label()}\n"
    )
    print(table(a, b))
    return 0


if __name__ == "__main__":
    sys.exit(main())
