"""A/B of two code versions on the import bench (tests/bench/imports.py, docs/performance.md).

    .venv/bin/python -m tests.bench.imports_ab --a HEAD --b HEAD --b-overlay apps/datasets/imports.py
    .venv/bin/python -m tests.bench.imports_ab --a HEAD~3 --b HEAD --pairs 7 --set flat

A variant is a git revision checked out into a temporary `git worktree` (removed at the end), with the
files named by `--X-overlay` copied over it from this working tree (a change not committed yet, without the
other uncommitted changes of a shared tree); or `.`, this working tree as it is. Each round runs this
tree's tests/bench/imports.py (its figures measured the same way for both) on the variant's code, in a
process of its own (`--quick --set S`: one set of 1,000 images, its rounds' medians) with a var folder of its own. Rounds
alternate A, B, A, B, ... so that the machine's drift touches both alike; B/A is the median of the ratios
of each B round to the A round just before it. Arguments after `--` go to tests/bench/imports.py.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.live_servers import ROOT, git

HARNESS = ROOT / "tests" / "bench" / "imports.py"
VAR = ROOT / "var" / "bench" / "imports-ab"
# The figures of a round: the ends of the names of tests/bench/imports.py's rows for its one set of images.
FIGURES = {
    "floor": ": floor (read + sha256, one process)",
    "done": ": done (registered, synced)",
    "done / floor": ": done / floor",
    "best done / best floor": ": best done / best floor",
}


@dataclass
class Variant:
    name: str  # "A" or "B"
    source: str  # "." or a git revision
    overlay: list[str]
    tree: Path = ROOT
    commit: str = ""
    worktree: bool = False
    rounds: list[dict[str, float]] = field(default_factory=list)

    def label(self) -> str:
        return f"{self.source} ({self.commit})" + (f" + {' '.join(self.overlay)}" if self.overlay else "")


def tree_prepare(variant: Variant, scratch: Path) -> None:
    if variant.source == ".":
        if variant.overlay:
            raise SystemExit("an overlay is for a revision: '.' is this working tree already")
        variant.commit = f"working tree on {git('rev-parse', '--short', 'HEAD')}"
        return
    commit = git("rev-parse", "--verify", "--quiet", f"{variant.source}^{{commit}}")
    variant.commit = commit[:10]
    variant.tree = scratch / variant.name
    git("worktree", "add", "--detach", str(variant.tree), commit)
    variant.worktree = True
    for path in variant.overlay:
        target = variant.tree / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, target)


def one_round(variant: Variant, images: str, extra: list[str]) -> dict[str, float]:
    env = {
        **os.environ,
        "PYTHONPATH": str(variant.tree),
        "POLYLOG_VAR_DIR": str(VAR / variant.name),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("DATABASE_URL", None)  # SQLite in the variant's var folder, as `make bench` measures it
    env.pop("REDIS_URL", None)  # the embedded queue
    done = subprocess.run(
        [sys.executable, str(HARNESS), "--database", "sqlite", "--quick", "--set", images, *extra],
        cwd=variant.tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{variant.name}: the bench failed:\n{done.stderr[-3000:]}")
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        short: float(next(row["value"] for row in rows if row["name"].endswith(end)))
        for short, end in FIGURES.items()
    }


def load() -> str:
    return open("/proc/loadavg").read().split()[0] if os.path.exists("/proc/loadavg") else "?"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.imports_ab", description=__doc__.split("\n")[0]
    )
    for side in ("a", "b"):
        parser.add_argument(f"--{side}", required=True, metavar="REV", help="a git revision, or '.'")
        parser.add_argument(
            f"--{side}-overlay",
            action="append",
            default=[],
            metavar="PATH",
            help="a file of this working tree copied over the revision's (repeatable)",
        )
    parser.add_argument("--pairs", type=int, default=5, help="rounds of each variant (default 5)")
    parser.add_argument(
        "--set", choices=["photos", "flat"], default="photos", help="which 1,000 images (default photos)"
    )
    args = parser.parse_args(argv)
    a, b = Variant("A", args.a, args.a_overlay), Variant("B", args.b, args.b_overlay)
    scratch = Path(tempfile.mkdtemp(prefix="polylog-imports-ab-"))
    try:
        for variant in (a, b):
            tree_prepare(variant, scratch)
            print(f"{variant.name}: {variant.label()}", file=sys.stderr)
        for n in range(1, args.pairs + 1):
            for variant in (a, b):
                before = load()
                variant.rounds.append(one_round(variant, args.set, extra))
                figures = " ".join(f"{k} {v:g}" for k, v in variant.rounds[-1].items())
                print(f"{variant.name} round {n} (load {before} -> {load()}): {figures}", file=sys.stderr)
    finally:
        for variant in (a, b):
            if variant.worktree:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(variant.tree)], cwd=ROOT, check=False
                )
        shutil.rmtree(scratch, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False)
    print(
        f"\nA: {a.label()}\nB: {b.label()}\n{args.pairs} alternating rounds, tests/bench/imports.py --quick --set {args.set} {' '.join(extra)}\n"
    )
    print("| figure | A (median) | B (median) | B/A (median of round ratios) | B/A by round |")
    print("| --- | --- | --- | --- | --- |")
    for short in FIGURES:
        ratios = [rb[short] / ra[short] for ra, rb in zip(a.rounds, b.rounds, strict=True) if ra[short]]
        a_median = statistics.median(r[short] for r in a.rounds)
        b_median = statistics.median(r[short] for r in b.rounds)
        print(
            f"| {short} | {a_median:g} | {b_median:g} | {statistics.median(ratios):.2f} | "
            f"{' '.join(f'{x:.2f}' for x in ratios)} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
